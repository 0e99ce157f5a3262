"""Probes of the service's dependencies, shared by readiness, diagnostics and the troubleshooter.

Readiness answers in the IETF "Health Check Response Format for HTTP APIs" draft
(application/health+json). Its result is kept for ``READY_TTL`` seconds and computed by one caller
at a time, so a fleet of probes (or a reader mashing the troubleshooter) costs PostgreSQL at most
one round trip per process per interval.

Two readinesses: the API's (:meth:`HealthMonitor.readiness`), which learns about the scoring
workers from their reports (ScoringService.model_state), and a scoring worker's own
(:meth:`HealthMonitor.worker_readiness`), which knows its model first hand. Only what stops the
process doing its work fails (503): PostgreSQL unreachable, or a worker's model still loading.
Everything the service works around warns (200), each in a check of its own so that a probe's
reader can tell the causes apart: ``scoring:workers`` (no worker has reported: new comments wait),
``toxicity:model`` (the workers score with the fallback), ``redis:responseTime`` (reads go to
PostgreSQL), ``scoring:queueAge`` (comments wait longer than a minute), ``postgres:replicas`` (only
with read replicas configured: one entry per replica, by number; one lagging or down warns, since
the primary serves its reads).

The probes are public, so their answer names what is wrong but never the exception behind it
(driver messages carry host names, ports, paths and user names); the probes' error text is for
the admins' diagnostics only.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Literal

import asyncpg
import redis.asyncio as aioredis

from .. import __version__
from ..db import notifications as notification_repo
from ..db import observability as obs
from ..db.health import is_database_unavailable
from ..db.replicas import ReadPools, ReplicaView
from ..domain.structs import Struct
from .scoring import WORKER_SILENCE_SECONDS, ModelState, ScoringService

HealthStatus = Literal["pass", "warn", "fail"]
READY_TTL = 1.5
PROBE_TIMEOUT = 1.0
QUEUE_AGE_WARN_SECONDS = 60.0
# notification emails due this long and not sent, or this many events not fanned out: the notifier
# is not keeping up (or not running)
DELIVERY_AGE_WARN_SECONDS = 600.0
OUTBOX_DEPTH_WARN = 10_000


class Probe(Struct):
    ok: bool
    ms: float | None = None
    error: str | None = None


class HealthCheck(Struct, omit_defaults=True, rename="camel"):
    status: HealthStatus
    component_id: str | None = None
    component_type: str | None = None
    observed_value: float | str | None = None
    observed_unit: str | None = None
    output: str | None = None
    time: str | None = None


class Readiness(Struct, omit_defaults=True, rename="camel"):
    status: HealthStatus
    version: str = "1"
    release_id: str = __version__
    service_id: str = "comments_service"
    description: str = "comments_service readiness"
    output: str | None = None
    checks: dict[str, list[HealthCheck]] = {}


_RANK = {"pass": 0, "warn": 1, "fail": 2}
_PG_DOWN = "PostgreSQL is unreachable."
_FALLBACK = "The toxicity model is on its fallback scorer; the admins' diagnostics say why."


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def worst(*statuses: HealthStatus) -> HealthStatus:
    return max(statuses, key=_RANK.__getitem__)


class WorkerModel(Struct):
    """What a scoring worker process knows of its own model: ``loaded`` False until the first load
    (the real model or the fallback) has finished."""

    loaded: bool
    model_id: str | None = None
    is_fallback: bool = False


class HealthMonitor:
    def __init__(self, pool: asyncpg.Pool, redis: aioredis.Redis | None, scoring: ScoringService, *,
                 replicas: ReadPools | None = None) -> None:
        self.pool = pool
        self.replicas = replicas
        self.redis = redis
        self.scoring = scoring
        self.started_at = datetime.now(UTC)
        self.started_monotonic = time.monotonic()
        self._ready: tuple[float, Readiness] | None = None
        self._lock = asyncio.Lock()
        self._stores: tuple[float, dict[str, list[HealthCheck]], bool] | None = None
        self._stores_lock = asyncio.Lock()

    @property
    def uptime_seconds(self) -> float:
        return time.monotonic() - self.started_monotonic

    # ---------------------------------------------------------------- probes
    async def postgres(self) -> Probe:
        start = time.perf_counter()
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                async with self.pool.acquire() as conn:
                    await conn.fetchval("SELECT 1")
        except Exception as exc:  # any failure to reach it is the answer, not an error of ours
            if not (is_database_unavailable(exc) or isinstance(exc, asyncpg.PostgresError)):
                raise
            return Probe(ok=False, error=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        return Probe(ok=True, ms=round((time.perf_counter() - start) * 1000, 2))

    async def redis_probe(self) -> Probe | None:
        """None when Redis is not configured at all."""
        if self.redis is None:
            return None
        start = time.perf_counter()
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                await self.redis.ping()
        except Exception as exc:
            return Probe(ok=False, error=f"{type(exc).__name__}: {exc}")
        return Probe(ok=True, ms=round((time.perf_counter() - start) * 1000, 2))

    # ---------------------------------------------------------------- readiness
    async def readiness(self) -> Readiness:
        cached = self._ready
        if cached is not None and time.monotonic() - cached[0] < READY_TTL:
            return cached[1]
        async with self._lock:
            cached = self._ready
            if cached is not None and time.monotonic() - cached[0] < READY_TTL:
                return cached[1]
            result = await self._compute_readiness()
            self._ready = (time.monotonic(), result)
            return result

    async def worker_readiness(self, model: WorkerModel) -> Readiness:
        """A scoring worker's own readiness: its stores (probed at most once per ``READY_TTL``) and
        its model as it knows it now."""
        now = _now_iso()
        checks, pg_ok = await self._cached_stores()
        if not model.loaded:
            check = HealthCheck(status="fail", component_type="component", time=now,
                                output="The toxicity model is loading; this worker scores nothing yet.")
        elif model.is_fallback:
            check = HealthCheck(status="warn", component_type="component", observed_value=model.model_id, time=now,
                                output=_FALLBACK)
        else:
            check = HealthCheck(status="pass", component_type="component", observed_value=model.model_id, time=now)
        checks = {**checks, "toxicity:model": [check]}
        status = worst(*(c[0].status for c in checks.values()))
        output = None
        if status == "fail":
            output = _PG_DOWN if not pg_ok else "The toxicity model is loading."
        elif status == "warn":
            output = "Degraded: see checks."
        return Readiness(status=status, output=output, checks=checks, description="comments_service scoring worker")

    async def _cached_stores(self) -> tuple[dict[str, list[HealthCheck]], bool]:
        cached = self._stores
        if cached is not None and time.monotonic() - cached[0] < READY_TTL:
            return cached[1], cached[2]
        async with self._stores_lock:
            cached = self._stores
            if cached is not None and time.monotonic() - cached[0] < READY_TTL:
                return cached[1], cached[2]
            checks: dict[str, list[HealthCheck]] = {}
            pg = await self._store_checks(checks, _now_iso())
            self._stores = (time.monotonic(), checks, pg.ok)
            return checks, pg.ok

    async def _store_checks(self, checks: dict[str, list[HealthCheck]], now: str) -> Probe:
        pg = await self.postgres()
        checks["postgres:responseTime"] = [HealthCheck(
            status="pass" if pg.ok else "fail", component_type="datastore", observed_value=pg.ms,
            observed_unit="ms" if pg.ok else None, output=None if pg.ok else _PG_DOWN, time=now)]
        rd = await self.redis_probe()
        if rd is None:
            checks["redis:responseTime"] = [HealthCheck(
                status="warn", component_type="datastore", time=now,
                output="Redis is not configured: every read goes to PostgreSQL and rate limits are per process.")]
        else:
            checks["redis:responseTime"] = [HealthCheck(
                status="pass" if rd.ok else "warn", component_type="datastore", observed_value=rd.ms,
                observed_unit="ms" if rd.ok else None, time=now,
                output=None if rd.ok else "Redis is unreachable; reads are served from PostgreSQL.")]
        if self.replicas is not None and self.replicas.configured:
            # what the replicas' probe last found (db/replicas.py): no round trip of its own
            checks["postgres:replicas"] = [_replica_check(r, now) for r in self.replicas.views()]
        return pg

    async def _compute_readiness(self) -> Readiness:
        now = _now_iso()
        checks: dict[str, list[HealthCheck]] = {}
        pg = await self._store_checks(checks, now)
        if pg.ok:
            try:
                async with self.pool.acquire() as conn:
                    model = await self.scoring.model_state(conn)
                    oldest = await obs.oldest_pending_seconds(conn)
                    outbox, _ = await notification_repo.outbox_depth(conn)
                    mail_age = await notification_repo.oldest_queued_age(conn)
            except Exception as exc:
                if not is_database_unavailable(exc):
                    raise
                pg = Probe(ok=False, error=str(exc))
                checks["postgres:responseTime"][0] = HealthCheck(status="fail", component_type="datastore",
                                                                 output=_PG_DOWN, time=now)
        if pg.ok:
            checks["scoring:workers"] = [self._workers_check(model, now)]
            if model.known:  # with no worker heard from, nothing is known of the model
                checks["toxicity:model"] = [self._model_check(model, now)]
            age = round(oldest, 1) if oldest is not None else 0.0
            checks["scoring:queueAge"] = [HealthCheck(
                status="pass" if age < QUEUE_AGE_WARN_SECONDS else "warn", component_type="component",
                observed_value=age, observed_unit="s", time=now,
                output=None if age < QUEUE_AGE_WARN_SECONDS else
                f"The oldest comment has waited {age:.0f} s for scoring; new comments appear late.")]
            checks["notifications:outbox"] = [HealthCheck(
                status="pass" if outbox < OUTBOX_DEPTH_WARN else "warn", component_type="component",
                observed_value=float(outbox), time=now,
                output=None if outbox < OUTBOX_DEPTH_WARN else
                f"{outbox} events wait to be fanned out: is `comments-service notifier` running?")]
            late = round(mail_age or 0.0, 1)
            checks["notifications:deliveryAge"] = [HealthCheck(
                status="pass" if late < DELIVERY_AGE_WARN_SECONDS else "warn", component_type="component",
                observed_value=late, observed_unit="s", time=now,
                output=None if late < DELIVERY_AGE_WARN_SECONDS else
                f"The oldest due email has waited {late:.0f} s: is the notifier running, the mail server up?")]
        status = worst(*(c[0].status for c in checks.values()))
        output = {"fail": "PostgreSQL is unreachable.", "warn": "Degraded: see checks."}.get(status)
        return Readiness(status=status, output=output, checks=checks)

    def _workers_check(self, model: ModelState, now: str) -> HealthCheck:
        live = float(len(model.workers))
        if not self.scoring.enabled:
            return HealthCheck(status="pass", component_type="component", observed_value=live, time=now,
                               output="Scoring is off: new comments publish unscored and need no worker.")
        if not model.known:
            return HealthCheck(status="warn", component_type="component", observed_value=0.0, time=now,
                               output=f"No scoring worker has reported in the last {WORKER_SILENCE_SECONDS:.0f} s; "
                                      "new comments wait until one runs.")
        return HealthCheck(status="pass", component_type="component", observed_value=live, time=now)

    @staticmethod
    def _model_check(model: ModelState, now: str) -> HealthCheck:
        if model.is_fallback:
            return HealthCheck(status="warn", component_type="component", observed_value=model.model_id, time=now,
                               output=_FALLBACK)
        return HealthCheck(status="pass", component_type="component", observed_value=model.model_id, time=now)


_REPLICA_OUTPUT = {
    "starting": "Not probed yet; the primary serves its reads.",
    "lagging": "It lags behind the primary; the primary serves its reads until it catches up.",
    "down": "It is unreachable or failing; the primary serves its reads until it answers again.",
    "not_standby": "It is not a standby (promoted?); the primary serves its reads.",
}


def _replica_check(replica: ReplicaView, now: str) -> HealthCheck:
    """One replica, named by its number in COMMENTS_DATABASE_REPLICA_URLS (never its address: the
    probe is public)."""
    ok = replica.state == "ok"
    return HealthCheck(status="pass" if ok else "warn", component_id=f"replica-{replica.number}",
                       component_type="datastore", observed_value=replica.lag_seconds,
                       observed_unit="s" if replica.lag_seconds is not None else None, time=now,
                       output=None if ok else _REPLICA_OUTPUT[replica.state])
