"""The scoring pipeline's service side: admission, waiting for a decision, applying decisions.

* Admission (API): with scoring on, a new comment is inserted as ``pending_scoring`` and its job
  is enqueued in the same transaction (CommentService hooks), so a comment is never lost and never
  published unscored.
* Waiting (API): after the insert commits, the POST waits up to ``decision_wait_ms`` for the
  worker's NOTIFY on ``comment_decided`` (one LISTEN connection per API process), then answers
  with the comment as it is now: published, held, rejected, or still pending_scoring.
* Applying (worker): :meth:`ScoringService.apply` writes a batch's decisions in one transaction
  that first completes the jobs this worker still holds; only those comments change. Publishing
  moves the counts at its commit (a deferred trigger) and runs ``after_visible_change`` after it
  (cache versions, live events), exactly as a direct publish does; the NOTIFY goes last, so a
  reader told "published" finds the comment in the next page they read.
* :meth:`ScoringService.status` is the queue and model summary for health and diagnostics.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import asyncpg
import msgspec

from ..db import comments as comment_repo
from ..db import scoring as scoring_repo
from ..db import worker_status
from ..domain.models import CommentRow
from ..domain.policy import Decision
from ..settings import Settings
from .comments import CommentService

log = logging.getLogger("comments_service.scoring")

# Reason code for a comment whose scoring failed max_attempts times (a worker crashed on it each
# time): a moderator decides it.
SCORING_FAILED = "scoring_failed"
WORKER_ALIVE_SECONDS = 30.0


class Verdict(msgspec.Struct, frozen=True, kw_only=True):
    """One comment's decision as the worker hands it to :meth:`ScoringService.apply`."""

    context: scoring_repo.ScoringContext
    decision: Decision
    model_fallback: bool = False


class Applied(msgspec.Struct, kw_only=True):
    decided: list[tuple[int, str]]  # (comment id, outcome) written by this call
    lost: list[int]  # claims taken over by another worker: nothing written
    requeued: list[int]  # edited while being scored: scored again


class ModelSummary(msgspec.Struct, kw_only=True):
    state: str  # "model" (a real model scores), "fallback", "none" (no worker alive)
    model_ids: list[str]
    fallback_reasons: list[str]


class ScoringStatus(msgspec.Struct, kw_only=True):
    enabled: bool
    decision_wait_ms: int
    queue: scoring_repo.QueueStats
    model: ModelSummary
    workers: list[dict[str, Any]]


class DecisionWaiter:
    """Futures for comments whose POST is waiting, resolved by NOTIFY comment_decided.

    One dedicated connection per process (not from the pool: a LISTEN must stay on one session).
    If it cannot connect or drops, waits return None at once and the caller reads the comment,
    so a broken listener costs the reader the early answer, never the comment."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()
        self._retry_at = 0.0
        self._futures: dict[int, list[asyncio.Future]] = {}

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def _ensure(self) -> bool:
        if self.connected:
            return True
        if time.monotonic() < self._retry_at:
            return False
        async with self._lock:
            if self.connected:
                return True
            try:
                conn = await asyncpg.connect(self.url, timeout=2.0,
                                             server_settings={"application_name": "comments_service_listen"})
                await conn.add_listener(scoring_repo.DECIDED_CHANNEL, self._on_notify)
                conn.add_termination_listener(self._on_lost)
                self._conn = conn
            except (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                self._retry_at = time.monotonic() + 5.0
                log.warning("decision listener unavailable", extra={"error": f"{type(exc).__name__}: {exc}"})
                return False
        return True

    def _on_lost(self, _conn: asyncpg.Connection) -> None:
        self._conn = None

    def _on_notify(self, _conn, _pid, _channel, payload: str) -> None:
        for comment_id, status in scoring_repo.parse_decided(payload):
            for future in self._futures.pop(comment_id, ()):
                if not future.done():
                    future.set_result(status)

    async def wait(self, comment_id: int, timeout: float) -> str | None:
        """The comment's outcome if it is decided within ``timeout`` seconds, else None."""
        deadline = time.monotonic() + timeout
        if timeout <= 0 or not await self._ensure():
            return None
        future = asyncio.get_running_loop().create_future()
        self._futures.setdefault(comment_id, []).append(future)
        try:
            return await asyncio.wait_for(future, max(0.0, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            return None
        finally:
            waiting = self._futures.get(comment_id)
            if waiting is not None:
                if future in waiting:
                    waiting.remove(future)
                if not waiting:
                    self._futures.pop(comment_id, None)

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            try:
                await conn.close(timeout=2.0)
            except (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                conn.terminate()


class ScoringService:
    def __init__(self, pool: asyncpg.Pool, comments: CommentService, settings: Settings) -> None:
        self.pool = pool
        self.comments = comments
        self.settings = settings
        self.waiter = DecisionWaiter(settings.database.url or "")

    @property
    def enabled(self) -> bool:
        return self.settings.scoring.enabled

    def install(self) -> None:
        """Route new comments through the queue (called once by app.build_services when enabled)."""
        self.comments.initial_status = lambda: "pending_scoring"
        self.comments.admitted.append(self.admit)
        self.comments.settle = self.settle
        self.comments.edit_admission = self.readmit

    async def admit(self, conn: asyncpg.Connection, row: CommentRow) -> None:
        if row.status == "pending_scoring":
            await scoring_repo.enqueue(conn, row.id)

    async def readmit(self, conn: asyncpg.Connection, row: CommentRow) -> CommentRow:
        """An edited comment leaves the thread until its new text is scored."""
        if row.status not in ("published", "held"):
            return row
        await comment_repo.set_status(conn, row.id, "pending_scoring", None)  # counters follow at commit
        await scoring_repo.requeue_or_enqueue(conn, row.id)
        return await comment_repo.get(conn, row.id)

    async def settle(self, row: CommentRow) -> CommentRow:
        """After the insert committed: wait briefly for the decision, then read the comment."""
        await self.waiter.wait(row.id, self.settings.scoring.decision_wait_ms / 1000)
        async with self.pool.acquire() as conn:
            fresh = await comment_repo.get(conn, row.id)
        return fresh or row

    async def apply(self, worker_id: str, model_id: str, verdicts: list[Verdict], *,
                    finished: list[int] = (), error: str | None = None) -> Applied:
        """Write decisions for jobs this worker still holds. ``finished``: jobs to close without a
        decision (their comment was decided or removed meanwhile)."""
        ids = [v.context.comment_id for v in verdicts] + list(finished)
        decided: list[tuple[int, str]] = []
        published: list[tuple[scoring_repo.ScoringContext, CommentRow]] = []
        requeued: list[int] = []
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                held = await scoring_repo.complete(conn, worker_id, ids, model_id, error)
                for verdict in verdicts:
                    ctx, decision = verdict.context, verdict.decision
                    if ctx.comment_id not in held:
                        continue
                    detail = {k: v for k, v in (("label", decision.label), ("term", decision.term)) if v}
                    if verdict.model_fallback:
                        detail["model_fallback"] = True
                    written = await scoring_repo.decide(
                        conn, ctx.comment_id, status=decision.outcome, reason=decision.reason,
                        scores=decision.scores, model_id=model_id, detail=detail or None, edited_at=ctx.edited_at)
                    if not written:
                        if await scoring_repo.status_of(conn, ctx.comment_id) == "pending_scoring":
                            # edited while scored (the new text is scored), or its author was
                            # banned meanwhile (the policy sees the ban next time)
                            requeued.append(ctx.comment_id)
                        continue
                    decided.append((ctx.comment_id, decision.outcome))
                    if decision.outcome == "published":  # counters follow at commit
                        published.append((ctx, await comment_repo.get(conn, ctx.comment_id)))
                if requeued:
                    await scoring_repo.requeue(conn, requeued)
            publications = await self.comments.publications(conn, [row for _, row in published])
            for (ctx, row), publication in zip(published, publications):
                await self.comments.after_visible_change(ctx.site_id, ctx.article_ext, row, published=publication)
            if decided:
                await scoring_repo.notify_decided(conn, decided)
        lost = [i for i in ids if i not in held]
        if lost:
            log.warning("scoring claims lost to another worker; decisions dropped",
                        extra={"worker": worker_id, "comment_ids": lost[:20]})
        return Applied(decided=decided, lost=lost, requeued=requeued)

    async def status(self) -> ScoringStatus:
        """Queue depth and age, recent decision latency, and which model the live workers use."""
        async with self.pool.acquire() as conn:
            queue = await scoring_repo.queue_stats(conn)
            live = await worker_status.live(conn, WORKER_ALIVE_SECONDS)
        workers = [msgspec.structs.asdict(w) for w in live]
        if not live:
            model = ModelSummary(state="none", model_ids=[], fallback_reasons=[])
        else:
            model = ModelSummary(
                state="fallback" if any(w.is_fallback for w in live) else "model",
                model_ids=sorted({str(w.model.get("model_id")) for w in live}),
                fallback_reasons=sorted({str(w.model.get("fallback_reason")) for w in live
                                         if w.is_fallback and w.model.get("fallback_reason")}))
        return ScoringStatus(enabled=self.enabled, decision_wait_ms=self.settings.scoring.decision_wait_ms,
                             queue=queue, model=model, workers=workers)

    async def close(self) -> None:
        await self.waiter.close()
