"""The scoring pipeline's worker side and its summary.

* The worker's queue (:meth:`ScoringService.claim`, :meth:`release_expired`, :meth:`contexts`): claims
  are leases taken with FOR UPDATE SKIP LOCKED, so two workers never take the same job and a killed
  worker's jobs are taken over once its leases expire. :class:`JobSignal` wakes a worker when a job
  is queued (LISTEN on ``scoring_jobs``); polling finds every job without it, only later.
* Applying (:meth:`ScoringService.apply`): a batch's decisions are written in one transaction that
  first completes the jobs this worker still holds; only those comments change. Publishing moves
  the counts at its commit (a deferred trigger) and the publication fans out after it
  (services/publishing.py), exactly as a direct publish does; the NOTIFY goes last, so a reader told
  "published" finds the comment in the next page they read.
* Workers report themselves (:meth:`report_worker`), and :meth:`ScoringService.status` is the queue
  and model summary for health and diagnostics.

How a new comment enters the queue is services/scoring_admission.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import asyncpg

from ..db import comments as comment_repo
from ..db import scoring as scoring_repo
from ..db import worker_status
from ..db.connection import Connection
from ..domain.policy import Decision
from ..domain.scoring_models import Job, QueueStats, ScoringContext, WorkerStatus
from ..domain.structs import Struct
from ..settings import ScoringSettings
from .publishing import Publisher, VisibleChange

log = logging.getLogger("comments_service.scoring")

# Reason code for a comment whose scoring failed max_attempts times (a worker crashed on it each
# time): a moderator decides it.
SCORING_FAILED = "scoring_failed"
# A worker reports every 5 s: one silent this long has crashed or stopped, and is not counted.
WORKER_SILENCE_SECONDS = 120.0


class Verdict(Struct, frozen=True):
    """One comment's decision as the worker hands it to :meth:`ScoringService.apply`."""

    context: ScoringContext
    decision: Decision
    model_fallback: bool = False
    # the comment's language as detected (domain/language.py): an ISO 639-1 code or None, and the
    # detector's confidence; ``language_unscored``: no model read it (the site's languages.other rule)
    language: str | None = None
    language_confidence: float = 0.0
    language_unscored: bool = False
    # the model that scored it when not the worker's configured one (its multilingual model)
    model_id: str | None = None


class Applied(Struct):
    decided: list[tuple[int, str]]  # (comment id, outcome) written by this call
    lost: list[int]  # claims taken over by another worker: nothing written
    requeued: list[int]  # edited while being scored: scored again


class ModelState(Struct):
    """What the live scoring workers say about the model; ``known`` False when none reported. The
    API processes load no model: health, readiness and diagnostics learn it from here."""

    known: bool
    is_fallback: bool = False
    model_id: str | None = None
    fallback_reason: str | None = None
    workers: list[WorkerStatus] = []


class ScoringStatus(Struct):
    enabled: bool
    decision_wait_ms: int
    queue: QueueStats
    model: ModelState


class JobSignal:
    """A worker's LISTEN for queued jobs, on a connection of its own (a LISTEN must stay on one
    session). When it cannot connect, the worker polls."""

    def __init__(self, url: str, on_job: Callable[[], None]) -> None:
        self.url = url
        self.on_job = on_job
        self._conn: Connection | None = None

    @property
    def listening(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def start(self) -> None:
        try:
            self._conn = await asyncpg.connect(self.url,
                                               server_settings={"application_name": "comments_service_worker"})
            await self._conn.add_listener(scoring_repo.JOBS_CHANNEL, lambda *_: self.on_job())
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            log.warning("worker cannot LISTEN; polling only", extra={"error": f"{type(exc).__name__}: {exc}"})
            self._conn = None

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            await conn.close()


class ScoringService:
    def __init__(self, pool: asyncpg.Pool, publisher: Publisher, settings: ScoringSettings) -> None:
        self.pool = pool
        self.publisher = publisher
        self.settings = settings

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    # ------------------------------------------------------------ the worker's queue
    async def claim(self, worker_id: str, limit: int, lease_seconds: float) -> list[Job]:
        async with self.pool.acquire() as conn:
            return await scoring_repo.claim(conn, worker_id, limit, lease_seconds)

    async def release_expired(self) -> list[tuple[int, str]]:
        """Claims whose lease ran out go back to the queue: (comment id, the worker that held it)."""
        async with self.pool.acquire() as conn:
            return await scoring_repo.release_expired(conn)

    async def contexts(self, comment_ids: list[int], recent_days: int) -> dict[int, ScoringContext]:
        async with self.pool.acquire() as conn:
            return await scoring_repo.contexts(conn, comment_ids, recent_days)

    async def report_worker(self, status: WorkerStatus) -> None:
        async with self.pool.acquire() as conn:
            await worker_status.report(conn, status)

    async def forget_worker(self, worker_id: str) -> None:
        async with self.pool.acquire() as conn:
            await worker_status.forget(conn, worker_id)

    async def apply(self, worker_id: str, model_id: str, verdicts: list[Verdict], *,
                    finished: Sequence[int] = (), error: str | None = None) -> Applied:
        """Write decisions for jobs this worker still holds. ``finished``: jobs to close without a
        decision (their comment was decided or removed meanwhile)."""
        ids = [v.context.comment_id for v in verdicts] + list(finished)
        decided: list[tuple[int, str]] = []
        published: list[VisibleChange] = []
        requeued: list[int] = []
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                held = await scoring_repo.complete(conn, worker_id, ids, model_id, error)
                for verdict in verdicts:
                    ctx, decision = verdict.context, verdict.decision
                    if ctx.comment_id not in held:
                        continue
                    detail: dict[str, object] = {k: v for k, v in (("label", decision.label),
                                                                   ("term", decision.term)) if v}
                    if verdict.model_fallback:
                        detail["model_fallback"] = True
                    if verdict.language is not None:
                        detail["language"] = verdict.language
                        detail["language_confidence"] = verdict.language_confidence
                    if verdict.language_unscored:
                        detail["language_unscored"] = True
                    written = await scoring_repo.decide(
                        conn, ctx.comment_id, status=decision.outcome, reason=decision.reason,
                        scores=decision.scores, model_id=verdict.model_id or model_id, detail=detail or None,
                        edited_at=ctx.edited_at)
                    if not written:
                        if await scoring_repo.status_of(conn, ctx.comment_id) == "pending_scoring":
                            # edited while scored (the new text is scored), or its author was
                            # banned meanwhile (the policy sees the ban next time)
                            requeued.append(ctx.comment_id)
                        continue
                    decided.append((ctx.comment_id, decision.outcome))
                    if decision.outcome == "published":  # counters follow at commit
                        row = await comment_repo.get(conn, ctx.comment_id)
                        if row is not None:
                            published.append(VisibleChange(site_id=ctx.site_id, external_id=ctx.external_id,
                                                           row=row, event="published"))
                if requeued:
                    await scoring_repo.requeue(conn, requeued)
            await self.publisher.announce(published, conn)
            if decided:
                await scoring_repo.notify_decided(conn, decided)
        lost = [i for i in ids if i not in held]
        if lost:
            log.warning("scoring claims lost to another worker; decisions dropped",
                        extra={"worker": worker_id, "comment_ids": lost[:20]})
        return Applied(decided=decided, lost=lost, requeued=requeued)

    async def model_state(self, conn: Connection | None = None) -> ModelState:
        """The model the live workers use: the first healthy worker's, else a fallback's and why.
        ``conn``: a connection the caller holds (one is taken from the pool otherwise)."""
        if conn is None:
            async with self.pool.acquire() as own:
                workers = await worker_status.live(own, WORKER_SILENCE_SECONDS)
        else:
            workers = await worker_status.live(conn, WORKER_SILENCE_SECONDS)
        if not workers:
            return ModelState(known=False)
        healthy = [w for w in workers if not w.is_fallback]
        chosen = (healthy or workers)[0]
        return ModelState(known=True, is_fallback=not healthy, model_id=chosen.model.get("model_id"),
                          fallback_reason=None if healthy else chosen.model.get("fallback_reason"),
                          workers=workers)

    async def status(self) -> ScoringStatus:
        """Queue depth and age, recent decision latency, and the model the live workers use."""
        async with self.pool.acquire() as conn:
            queue = await scoring_repo.queue_stats(conn)
            model = await self.model_state(conn)
        return ScoringStatus(enabled=self.enabled, decision_wait_ms=self.settings.decision_wait_ms,
                             queue=queue, model=model)
