"""Scoring first: with the scoring pipeline on, a new comment is inserted as ``pending_scoring``
and its job enqueued in the same transaction, so a comment is never lost and never published
unscored. After the insert commits, the POST waits up to ``decision_wait_ms`` for the worker's
NOTIFY on ``comment_decided`` (one LISTEN connection per API process), then answers with the
comment as it is now: published, held, rejected, or still pending_scoring."""

from __future__ import annotations

import asyncio
import logging
import time

import asyncpg

from ..db import comments as comment_repo
from ..db import scoring as scoring_repo
from ..db.connection import Connection
from ..domain import judged_by as judgement
from ..domain.models import CommentRow
from ..settings import ScoringSettings
from ..shutdown import CLOSE_S, step

log = logging.getLogger("comments_service.scoring")


class DecisionWaiter:
    """Futures for comments whose POST is waiting, resolved by NOTIFY comment_decided.

    One dedicated connection per process (not from the pool: a LISTEN must stay on one session).
    If it cannot connect or drops, waits return None at once and the caller reads the comment,
    so a broken listener costs the reader the early answer, never the comment."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: Connection | None = None
        self._lock = asyncio.Lock()
        self._retry_at = 0.0
        self._futures: dict[int, list[asyncio.Future[str]]] = {}

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
            except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                self._retry_at = time.monotonic() + 5.0
                log.warning("decision listener unavailable", extra={"error": f"{type(exc).__name__}: {exc}"})
                return False
        return True

    def _on_lost(self, _conn: Connection) -> None:
        self._conn = None

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        for comment_id, status in scoring_repo.parse_decided(str(payload)):
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
        except TimeoutError:
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
        # a close waits for the server to drop the session: bounded, then cut
        if (conn is not None and not conn.is_closed()
                and not await step("decision waiter: its LISTEN connection", conn.close(), CLOSE_S)):
            conn.terminate()


class ScoreFirst:
    """The Admission (services/admission.py) of a service whose comments are scored before anyone sees them."""

    initial_status = "pending_scoring"
    writes_on_admit = True

    def __init__(self, pool: asyncpg.Pool, waiter: DecisionWaiter, settings: ScoringSettings) -> None:
        self.pool = pool
        self.waiter = waiter
        self.settings = settings

    async def admit(self, conn: Connection, row: CommentRow) -> None:
        if row.status == "pending_scoring":
            await scoring_repo.enqueue(conn, row.id)

    async def readmit(self, conn: Connection, row: CommentRow) -> CommentRow:
        """An edited comment leaves the thread until its new text is scored."""
        if row.status not in ("published", "held"):
            return row
        await comment_repo.set_status(conn, row.id, "pending_scoring", None)  # counters follow at commit
        await scoring_repo.requeue_or_enqueue(conn, row.id)
        fresh = await comment_repo.get(conn, row.id)
        return fresh or row

    async def settle(self, row: CommentRow) -> CommentRow:
        """After the insert committed: wait briefly for the decision, then read the comment."""
        await self.waiter.wait(row.id, self.settings.decision_wait_ms / 1000)
        async with self.pool.acquire() as conn:
            fresh = await comment_repo.get(conn, row.id)
        return fresh or row

    async def judged_by(self, row: CommentRow, tr: judgement.Translate = judgement.english) -> str:
        """The scorer (the model, the offline fallback) or rule that decided, as the worker stored it."""
        async with self.pool.acquire() as conn:
            stored = await scoring_repo.decision_of(conn, row.id)
        if stored is None:  # deleted meanwhile
            return judgement.judged_by(row.status, row.status_reason, None, None, tr)
        return judgement.judged_by(stored["status"], stored["status_reason"], stored["toxicity_model"],
                                   stored["decision_detail"], tr)

    async def close(self) -> None:
        await self.waiter.close()
