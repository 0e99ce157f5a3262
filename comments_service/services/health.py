"""Probes of the service's dependencies, shared by readiness, diagnostics and the troubleshooter.

Readiness answers in the IETF "Health Check Response Format for HTTP APIs" draft
(application/health+json). Its result is kept for ``READY_TTL`` seconds and computed by one caller
at a time, so a fleet of probes (or a reader mashing the troubleshooter) costs PostgreSQL at most
one round trip per process per interval.

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
from ..db import observability as obs
from ..db.health import is_database_unavailable
from ..domain.structs import Struct
from .scoring import WORKER_SILENCE_SECONDS, ModelState, ScoringService

HealthStatus = Literal["pass", "warn", "fail"]
READY_TTL = 1.5
PROBE_TIMEOUT = 1.0
QUEUE_AGE_WARN_SECONDS = 60.0


class Probe(Struct):
    ok: bool
    ms: float | None = None
    error: str | None = None


class HealthCheck(Struct, omit_defaults=True, rename="camel"):
    status: HealthStatus
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


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def worst(*statuses: HealthStatus) -> HealthStatus:
    return max(statuses, key=_RANK.__getitem__)


class HealthMonitor:
    def __init__(self, pool: asyncpg.Pool, redis: aioredis.Redis | None, scoring: ScoringService) -> None:
        self.pool = pool
        self.redis = redis
        self.scoring = scoring
        self.started_at = datetime.now(UTC)
        self.started_monotonic = time.monotonic()
        self._ready: tuple[float, Readiness] | None = None
        self._lock = asyncio.Lock()

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

    async def _compute_readiness(self) -> Readiness:
        now = _now_iso()
        checks: dict[str, list[HealthCheck]] = {}
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
        if pg.ok:
            try:
                async with self.pool.acquire() as conn:
                    model = await self.scoring.model_state(conn)
                    oldest = await obs.oldest_pending_seconds(conn)
            except Exception as exc:
                if not is_database_unavailable(exc):
                    raise
                pg = Probe(ok=False, error=str(exc))
                checks["postgres:responseTime"][0] = HealthCheck(status="fail", component_type="datastore",
                                                                 output=_PG_DOWN, time=now)
        if pg.ok:
            checks["toxicity:model"] = [self._model_check(model, now)]
            age = round(oldest, 1) if oldest is not None else 0.0
            checks["scoring:queueAge"] = [HealthCheck(
                status="pass" if age < QUEUE_AGE_WARN_SECONDS else "warn", component_type="component",
                observed_value=age, observed_unit="s", time=now,
                output=None if age < QUEUE_AGE_WARN_SECONDS else
                f"The oldest comment has waited {age:.0f} s for scoring; new comments appear late.")]
        status = worst(*(c[0].status for c in checks.values()))
        output = {"fail": "PostgreSQL is unreachable.", "warn": "Degraded: see checks."}.get(status)
        return Readiness(status=status, output=output, checks=checks)

    @staticmethod
    def _model_check(model: ModelState, now: str) -> HealthCheck:
        if not model.known:
            return HealthCheck(status="warn", component_type="component", time=now,
                               output=f"No scoring worker has reported in the last {WORKER_SILENCE_SECONDS:.0f} s; "
                                      "new comments wait until one runs.")
        if model.is_fallback:
            return HealthCheck(status="warn", component_type="component", observed_value=model.model_id, time=now,
                               output="The toxicity model is on its fallback scorer; the admins' diagnostics "
                                      "say why.")
        return HealthCheck(status="pass", component_type="component", observed_value=model.model_id, time=now)
