"""Which signed-in readers this process knows to have nothing awaiting review on an article.

A signed-in reader's first page is the public page plus their own comments awaiting review
(``pending_scoring`` or ``held``), which only PostgreSQL knows. Most readers have none: when the
route handler has looked and found none, this remembers it, and the fast path (api/fast_reads.py)
answers that reader's next views of the article from the process's memory, as it answers anonymous
readers, with no query.

Knowing stops being true the moment one of the reader's comments on the article starts awaiting
review, on whatever path and in whatever process: the database tells every process (NOTIFY
``own_pending``, migrations/0024_own_pending_notify.sql) and each forgets that reader's article
when it hears it. The process that made the change (a post, an edit) also forgets before it
answers, so the writer's own next view never races the notification.

What is known is only ever trusted while the LISTEN connection is up: until it is (at start, and
after a loss, when what was sent meanwhile is gone), nothing is known and signed-in readers go
through the handler. The connection is pinged: one that stops answering (a partition with no reset)
is dropped as a lost one. A finding is kept only when no notification about it arrived since its
query began (``begin``/``note_clear``), so a comment held while the handler was looking is never
lost. A notification that names no one (the trigger's answer to names too long to send) forgets
everything. Bounded: at most ``size`` findings (the oldest go first) and as many recent
notifications, each kept as a 16-byte digest of whom and where it names.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time

import asyncpg

from ..identity import Identity
from ..shutdown import CLOSE_S, step, stop_task

log = logging.getLogger("comments_service.own_pending")

CHANNEL = "own_pending"
RECONNECT_S = 2.0
# how often the LISTEN connection is asked whether it still answers, and how long it may take: a
# connection that died without a word (a partition, a failover without a reset) is found within
# their sum, and until then what it would have told is missed
PING_S = 5.0
PING_TIMEOUT_S = 2.0
_DB_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


def _key(site_id: str, external_id: str, reader: str) -> bytes:
    # a digest: ids and subjects may be a few hundred characters each, and up to ``size`` are kept
    return hashlib.blake2b(f"{site_id}\n{external_id}\n{reader}".encode(), digest_size=16).digest()


def reader_key(identity: Identity) -> str:
    """The reader as the database names them in a notification: ``s:`` and the SSO subject, or
    ``g:`` and the user id."""
    if identity.kind == "sso":
        return "s:" + identity.external_id
    return f"g:{identity.user_id}"


class OwnPending:
    def __init__(self, url: str, *, size: int = 65_536) -> None:
        self.url = url
        self.size = size
        self._clear: dict[bytes, None] = {}  # what the handler found with nothing awaiting review
        self._told: dict[bytes, int] = {}  # the generation at which each key was last told about
        self.generation = 0  # counts notifications and connection changes
        self._floor = 0  # a query begun before this generation may have missed a notification
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._up = asyncio.Event()

    @property
    def listening(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    # ------------------------------------------------------------ what is known
    def known_clear(self, site_id: str, external_id: str, reader: str) -> bool:
        key = _key(site_id, external_id, reader)
        if key not in self._clear or not self.listening:
            return False
        del self._clear[key]  # the newest again
        self._clear[key] = None
        return True

    def begin(self) -> int:
        """Call before the query that looks for a reader's comments awaiting review."""
        return self.generation

    def note_clear(self, site_id: str, external_id: str, reader: str, begun: int) -> None:
        """The query begun at ``begun`` found nothing: remembered, unless something about this
        reader and article (or a lost connection) was heard since it began."""
        key = _key(site_id, external_id, reader)
        # a notification heard before the query began came after its comment committed, which the
        # query then saw: only one heard since (a higher generation) makes the finding doubtful
        if not self.listening or begun < self._floor or self._told.get(key, -1) > begun:
            return
        held = self._clear
        held.pop(key, None)
        held[key] = None
        while len(held) > self.size:
            del held[next(iter(held))]

    def forget(self, site_id: str, external_id: str, reader: str) -> None:
        """One of the reader's comments on the article awaits review (or may): known no longer."""
        key = _key(site_id, external_id, reader)
        self.generation += 1
        self._clear.pop(key, None)
        told = self._told
        told.pop(key, None)
        told[key] = self.generation
        if len(told) > self.size:
            # what the oldest told keys guarded is lost with them: no query begun before now counts
            told.clear()
            self._floor = self.generation

    def _reset(self) -> None:
        self.generation += 1
        self._floor = self.generation
        self._clear.clear()
        self._told.clear()

    # ------------------------------------------------------------ the listener
    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="own-pending-listener")

    async def _run(self) -> None:
        while not self._closing:
            lost = asyncio.Event()

            def on_lost(_conn: object, lost: asyncio.Event = lost) -> None:
                lost.set()

            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self.url, timeout=RECONNECT_S * 2,
                                             server_settings={"application_name": "comments_service_own_pending"})
                conn.add_termination_listener(on_lost)
                await conn.add_listener(CHANNEL, self._on_notify)
                # what was told before the LISTEN began is unknown: nothing from before counts
                self._reset()
                self._conn = conn
                self._up.set()
                log.info("own pending listener on")
                await self._watch(conn, lost)
                if not self._closing:
                    log.warning("own pending listener lost: signed-in readers go through the handler")
            except asyncio.CancelledError:
                raise
            except _DB_ERRORS as exc:
                log.warning("own pending listener unavailable", extra={"error": f"{type(exc).__name__}: {exc}"})
            except Exception:
                # a bug must not end the listener for good (signed-in readers would stay off the fast path)
                log.exception("own pending listener failed")
            finally:
                self._conn = None
                self._up.clear()
                self._reset()
                if conn is not None and not conn.is_closed():
                    conn.terminate()  # what it may still hear comes too late to count
            await asyncio.sleep(RECONNECT_S)

    @staticmethod
    async def _watch(conn: asyncpg.Connection, lost: asyncio.Event) -> None:
        """Until the connection is lost, or stops answering: a LISTEN hears nothing from a peer
        that went away without a word, and what this process knows would be trusted on."""
        while True:
            try:
                await asyncio.wait_for(lost.wait(), PING_S)
                return
            except TimeoutError:
                pass
            try:
                await conn.fetchval("SELECT 1", timeout=PING_TIMEOUT_S)
            except _DB_ERRORS:
                return

    async def wait_listening(self, timeout: float) -> bool:
        """Whether the listener is up within ``timeout`` seconds (tests, health)."""
        deadline = time.monotonic() + timeout
        while not self.listening:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._up.wait(), remaining)
            except TimeoutError:
                return False
        return True

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        site_id, _, rest = str(payload).partition("\n")
        external_id, _, reader = rest.partition("\n")
        if not reader:  # names too long to send: whoever it was, nothing known stands
            self._reset()
            return
        self.forget(site_id, external_id, reader)

    async def close(self) -> None:
        self._closing = True
        conn = self._conn
        if (conn is not None and not conn.is_closed()
                and not await step("own pending: its LISTEN connection", conn.close(), CLOSE_S)):
            conn.terminate()
        await stop_task("own pending: listener", self._task)  # (it ends any connection it still opens)
        self._conn = None
