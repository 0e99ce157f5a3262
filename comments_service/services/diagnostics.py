"""The operator's diagnostics report: one document with what is usually asked first.

Two scopes. An unscoped admin (an API token for every site) operates the service and gets the
whole process: dependencies with their error text, pools, cache, every site's queue, the model,
rate limits and errors. A site's own admin (a site-scoped token, or the site's SSO admin) gets
only what belongs to that site; the process internals and other sites' numbers are not theirs.

The Prometheus scrape (/metrics) is built here too: it reads the same queue depths and counters.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec
import redis.asyncio as aioredis

from .. import __version__, metrics
from ..cache import Cache, RedisGate
from ..db import migrations as migration_repo
from ..db import notifications as notification_repo
from ..db import observability as obs
from ..db import sites as site_repo
from ..db.connection import Connection
from ..db.health import is_database_unavailable
from ..domain.structs import Struct
from ..metrics import ERROR_RECORD
from ..ratelimit import RateLimiter
from ..settings import REPO_ROOT
from .health import HealthMonitor, HealthStatus
from .own_pending import OwnPending
from .scoring import ModelState, ScoringService
from .sites import settings_problem


class PoolUsage(Struct):
    size: int | None = None
    in_use: int | None = None
    idle: int | None = None
    max: int | None = None


class PostgresInfo(Struct):
    reachable: bool
    round_trip_ms: float | None
    error: str | None
    pool: PoolUsage


class RedisInfo(Struct):
    configured: bool
    reachable: bool
    round_trip_ms: float | None
    error: str | None
    last_error: str | None
    cache_dirty: bool
    pool: PoolUsage


class CacheInfo(Struct):
    hits: int
    misses: int
    hit_ratio: float | None
    refills: int
    # whether signed-in readers' pages may come from this process's memory: its LISTEN for their
    # comments entering review is up (services/own_pending.py); None where the fast path is off
    signed_in_from_memory: bool | None = None


class QueueInfo(Struct):
    depth: dict[str, int]
    oldest_pending_seconds: float | None
    oldest_held_seconds: float | None


class ScoringInfo(Struct):
    live_workers: int
    throughput_per_min: float
    jobs_scored: int
    latency_ms: dict[str, float]
    # the scoring_jobs queue as the pipeline reports it (claims, expired leases, retries, recent latency)
    jobs: dict[str, Any] | None = None
    note: str | None = None


class ModelInfo(Struct):
    model_id: str | None
    backend: str | None
    variant: str | None
    source: str | None
    load_seconds: float | None
    is_fallback: bool
    fallback_reason: str | None
    reported_by: str | None
    reported_at: datetime | None


class ErrorCount(Struct):
    total: int
    last_hour: int
    last_seen: datetime


class NotificationInfo(Struct):
    """The notifier's work: events not fanned out, deliveries by channel and state, the oldest due."""

    outbox_depth: int
    outbox_oldest_seconds: float | None
    deliveries: dict[str, dict[str, int]]  # channel -> state (queued, retrying, sent, dead) -> count
    oldest_due_seconds: float | None


class Diagnostics(Struct, tag_field="scope", tag="global"):
    version: str
    build: str | None
    migration_level: int | None
    migrations_available: int
    started_at: datetime
    uptime_seconds: float
    process_id: int
    postgres: PostgresInfo
    redis: RedisInfo
    cache: CacheInfo
    queue: QueueInfo | None
    scoring: ScoringInfo | None
    model: ModelInfo | None
    rate_limit_rejections: dict[str, int]
    errors_by_code: dict[str, ErrorCount]
    notes: list[str]
    # site id -> why its stored settings are not valid (services/sites.settings_problem)
    invalid_site_settings: dict[str, str] = {}
    notifications: NotificationInfo | None = None


class SiteDiagnostics(Struct, tag_field="scope", tag="site"):
    site_id: str
    version: str
    service_status: HealthStatus  # the public readiness verdict: pass, warn or fail
    queue: QueueInfo | None  # this site's comments only; None while PostgreSQL is unreachable
    open_problem_reports: int | None
    notes: list[str]
    # why this site's stored settings are not valid, or None
    invalid_settings: str | None = None


def build_id() -> str | None:
    """COMMENTS_BUILD when the deployment sets it, else the checkout's commit (read, not executed)."""
    if os.environ.get("COMMENTS_BUILD"):
        return os.environ["COMMENTS_BUILD"]
    head = REPO_ROOT / ".git" / "HEAD"
    try:
        ref = head.read_text().strip()
        if ref.startswith("ref: "):
            target = REPO_ROOT / ".git" / ref[5:]
            if target.exists():
                return target.read_text().strip()[:12]
            packed = REPO_ROOT / ".git" / "packed-refs"
            for line in packed.read_text().splitlines() if packed.exists() else []:
                if line.endswith(" " + ref[5:]):
                    return line.split()[0][:12]
            return None
        return ref[:12]
    except OSError:
        return None


def _pg_pool(pool: asyncpg.Pool) -> PoolUsage:
    size, idle = pool.get_size(), pool.get_idle_size()
    return PoolUsage(size=size, idle=idle, in_use=size - idle, max=pool.get_max_size())


def _redis_pool(client: aioredis.Redis | None) -> PoolUsage:
    if client is None:
        return PoolUsage()
    cp = getattr(client, "connection_pool", None)  # a RedisCluster keeps one pool per node
    if cp is None:
        return PoolUsage()
    # redis-py keeps these as private lists; read defensively so a client upgrade degrades to None
    in_use = getattr(cp, "_in_use_connections", None)
    available = getattr(cp, "_available_connections", None)
    return PoolUsage(size=(len(in_use) + len(available)) if in_use is not None and available is not None else None,
                     in_use=len(in_use) if in_use is not None else None,
                     idle=len(available) if available is not None else None,
                     max=getattr(cp, "max_connections", None))


class DiagnosticsService:
    def __init__(self, pool: asyncpg.Pool, redis: aioredis.Redis | None, gate: RedisGate, cache: Cache,
                 limiter: RateLimiter, monitor: HealthMonitor, scoring: ScoringService, migrations_dir: str,
                 own_pending: OwnPending | None = None) -> None:
        self.pool = pool
        self.own_pending = own_pending
        self.redis = redis
        self.gate = gate
        self.cache = cache
        self.limiter = limiter
        self.monitor = monitor
        self.scoring = scoring
        self.migrations_dir = migrations_dir

    async def report(self) -> Diagnostics:
        """The whole service, for the operator."""
        monitor = self.monitor
        notes: list[str] = []
        pg = await monitor.postgres()
        rd = await monitor.redis_probe()
        level = queue = scoring = model = notifications = None
        invalid: dict[str, str] = {}
        if pg.ok:
            try:
                async with self.pool.acquire() as conn:
                    level = await migration_repo.current_level(conn)
                    depths = await obs.queue_depths(conn)
                    state = await self.scoring.model_state(conn)
                    invalid = await _invalid_settings(conn, None, notes)
                    notifications = await _notifications(conn)
            except Exception as exc:
                if not is_database_unavailable(exc):
                    raise
                pg.ok, pg.error = False, f"{type(exc).__name__}: {exc}"
            else:
                queue = _queue(depths)
                scoring, model = _scoring(state, notes)
                scoring.jobs = msgspec.to_builtins((await self.scoring.status()).queue)
        stats = self.cache.stats
        looked_up = stats.hits + stats.misses
        recent = ERROR_RECORD.recent()
        errors = {code: ErrorCount(total=total, last_hour=recent.get(code, 0),
                                   last_seen=datetime.fromtimestamp(ERROR_RECORD.last_seen[code], UTC))
                  for code, total in sorted(ERROR_RECORD.totals.items())}
        notes.append("Cache, rate-limit and error counts are this process's since it started; "
                     "/metrics aggregates every process.")
        available = migration_repo.discover(self.migrations_dir)
        return Diagnostics(
            version=__version__, build=build_id(), migration_level=level,
            migrations_available=max((m.version for m in available), default=0),
            started_at=monitor.started_at, uptime_seconds=round(monitor.uptime_seconds, 1), process_id=os.getpid(),
            postgres=PostgresInfo(reachable=pg.ok, round_trip_ms=pg.ms, error=pg.error, pool=_pg_pool(self.pool)),
            redis=RedisInfo(configured=rd is not None, reachable=bool(rd and rd.ok),
                            round_trip_ms=rd.ms if rd else None, error=rd.error if rd else None,
                            last_error=self.gate.last_error, cache_dirty=self.gate.dirty,
                            pool=_redis_pool(self.redis)),
            cache=CacheInfo(hits=stats.hits, misses=stats.misses, refills=stats.refills,
                            hit_ratio=round(stats.hits / looked_up, 4) if looked_up else None,
                            signed_in_from_memory=self.own_pending.listening if self.own_pending else None),
            queue=queue, scoring=scoring, model=model,
            rate_limit_rejections=dict(self.limiter.rejections), errors_by_code=errors, notes=notes,
            invalid_site_settings=invalid, notifications=notifications,
        )

    async def site_report(self, site_id: str) -> SiteDiagnostics:
        """One site's share, for that site's own admin."""
        notes = ["Only this site's numbers: the service's own state is for the operator's unscoped token."]
        queue = reports = None
        invalid: dict[str, str] = {}
        ready = await self.monitor.readiness()
        try:
            async with self.pool.acquire() as conn:
                queue = _queue(await obs.queue_depths(conn, site_id))
                reports = await obs.open_problem_reports(conn, site_id)
                invalid = await _invalid_settings(conn, site_id, notes)
        except Exception as exc:
            if not is_database_unavailable(exc):
                raise
            notes.append("PostgreSQL is unreachable: the queue cannot be read.")
        return SiteDiagnostics(site_id=site_id, version=__version__, service_status=ready.status, queue=queue,
                               open_problem_reports=reports, notes=notes, invalid_settings=invalid.get(site_id))

    async def scrape(self) -> bytes:
        """The Prometheus exposition of the service's metrics, with the queue depths read now."""
        try:
            async with self.pool.acquire() as conn:
                depths = await obs.queue_depths(conn)
                deliveries = await notification_repo.delivery_counts(conn)
                outbox, _ = await notification_repo.outbox_depth(conn)
                oldest_due = await notification_repo.oldest_queued_age(conn)
            metrics.set_queue({s: d.depth for s, d in depths.items()}, depths["pending_scoring"].oldest_seconds)
            metrics.set_notifications(deliveries, outbox, oldest_due)
        except Exception as exc:
            # a scrape must still answer when PostgreSQL is away: the request metrics matter most then
            if not is_database_unavailable(exc):
                raise
        replicas = self.monitor.replicas
        if replicas is not None and replicas.configured:
            metrics.set_replicas(replicas.views())
        metrics.COUNTER_SYNC.sync(self.cache.stats, self.limiter.rejections, force=True)
        return metrics.render()


async def _notifications(conn: Connection) -> NotificationInfo:
    depth, oldest = await notification_repo.outbox_depth(conn)
    deliveries: dict[str, dict[str, int]] = {}
    for (channel, state), n in (await notification_repo.delivery_counts(conn)).items():
        deliveries.setdefault(channel, {})[state] = n
    return NotificationInfo(outbox_depth=depth, outbox_oldest_seconds=round(oldest, 1) if oldest is not None else None,
                            deliveries=deliveries, oldest_due_seconds=await notification_repo.oldest_queued_age(conn))


async def _invalid_settings(conn: Connection, site_id: str | None, notes: list[str]) -> dict[str, str]:
    """Sites whose stored settings break the rules settings are set by (stored before those rules,
    or written to the database by hand), with why."""
    invalid = {sid: problem for sid, settings in await site_repo.settings_of(conn, site_id)
               if (problem := settings_problem(settings)) is not None}
    if invalid:
        notes.append(f"{len(invalid)} site(s) have invalid settings ({', '.join(sorted(invalid)[:10])}): where a "
                     "setting is invalid the service uses its default (an invalid moderation object: the whole "
                     "default policy). Correct them with PATCH /api/v1/moderation/sites/{id} or "
                     "`comments-service site update ID --settings JSON`.")
    return invalid


def _queue(depths: dict[str, obs.QueueDepth]) -> QueueInfo:
    return QueueInfo(depth={s: d.depth for s, d in depths.items()},
                     oldest_pending_seconds=_round(depths["pending_scoring"].oldest_seconds),
                     oldest_held_seconds=_round(depths["held"].oldest_seconds))


def _scoring(state: ModelState, notes: list[str]) -> tuple[ScoringInfo, ModelInfo | None]:
    if not state.known:
        notes.append("No scoring worker has reported to worker_status in the last 2 minutes.")
        return ScoringInfo(live_workers=0, throughput_per_min=0.0, jobs_scored=0, latency_ms={},
                           note="no live scoring worker"), None
    workers = state.workers
    # the slowest worker's percentiles: a fleet is as slow as its worst member for the comments it takes
    latency: dict[str, float] = {}
    for w in workers:
        for key, value in (w.latency_ms or {}).items():
            if isinstance(value, (int, float)):
                latency[key] = max(latency.get(key, 0.0), float(value))
    scoring = ScoringInfo(live_workers=len(workers),
                          throughput_per_min=round(sum(w.throughput_per_min for w in workers), 2),
                          jobs_scored=sum(w.jobs_scored for w in workers), latency_ms=latency)
    chosen = next((w for w in workers if not w.is_fallback), workers[0])
    m = chosen.model
    model = ModelInfo(model_id=m.get("model_id"), backend=m.get("backend"), variant=m.get("variant"),
                      source=m.get("source"), load_seconds=m.get("load_seconds"), is_fallback=chosen.is_fallback,
                      fallback_reason=m.get("fallback_reason"), reported_by=chosen.worker_id,
                      reported_at=chosen.heartbeat_at)
    return scoring, model


def _round(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


