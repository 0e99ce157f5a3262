"""What each scoring worker reports about itself: the API processes load no model, so health and
diagnostics learn the model in use, throughput and latency from here.

A worker calls :func:`report` every few seconds (and once right after loading its model) with a
:class:`WorkerStatus` of itself.
"""

from __future__ import annotations

from ..domain.scoring_models import WorkerStatus
from .connection import Connection

UPSERT = """
INSERT INTO worker_status (worker_id, hostname, pid, started_at, heartbeat_at, model, is_fallback, jobs_scored,
                           batches, latency_ms, throughput_per_min)
VALUES ($1, $2, $3, $4, now(), $5, $6, $7, $8, $9, $10)
ON CONFLICT (worker_id) DO UPDATE SET
    hostname = EXCLUDED.hostname, pid = EXCLUDED.pid, started_at = EXCLUDED.started_at, heartbeat_at = now(),
    model = EXCLUDED.model, is_fallback = EXCLUDED.is_fallback, jobs_scored = EXCLUDED.jobs_scored,
    batches = EXCLUDED.batches, latency_ms = EXCLUDED.latency_ms, throughput_per_min = EXCLUDED.throughput_per_min"""
# workers silent for longer than this are gone (crashed or stopped); rows are kept for diagnostics
LIVE = """
SELECT worker_id, hostname, pid, started_at, heartbeat_at, model, is_fallback, jobs_scored, batches, latency_ms,
       throughput_per_min
FROM worker_status WHERE heartbeat_at > now() - make_interval(secs => $1) ORDER BY heartbeat_at DESC"""
FORGET = "DELETE FROM worker_status WHERE worker_id = $1"


async def report(conn: Connection, status: WorkerStatus) -> None:
    await conn.execute(UPSERT, status.worker_id, status.hostname, status.pid, status.started_at, status.model,
                       status.is_fallback, status.jobs_scored, status.batches, status.latency_ms,
                       status.throughput_per_min)


async def live(conn: Connection, within_seconds: float = 120.0) -> list[WorkerStatus]:
    return [WorkerStatus(**dict(r)) for r in await conn.fetch(LIVE, within_seconds)]


async def forget(conn: Connection, worker_id: str) -> None:
    """A worker that stops cleanly removes itself so it is not counted until it times out."""
    await conn.execute(FORGET, worker_id)
