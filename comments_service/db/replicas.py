"""PostgreSQL read replicas for the public reads that miss the cache: thread pages, replies, counts.

Everything else (writes, a reader's own pending comments, moderation, the decision wait, migrations,
the workers) keeps to the primary pool; with no replica configured :meth:`ReadPools.read` is the
primary pool's ``acquire`` and nothing else runs.

Why a read needs more than "some replica": cached pages and counts are stored under the article's
cache version (cache.py), which a write bumps after its commit. A replica that has not replayed that
commit yet would have its old page stored under the new version and served for a page TTL. So a read
first takes a fence, the primary's WAL insert position at a moment after the read began (one query
shared by every read that arrives while the previous one runs), and uses a replica only once its
replay position has reached it (waiting a moment, as streaming replicas usually trail by
milliseconds); past that, the primary answers. Every write a reader can have seen bumped before then,
so it is in what the replica shows.

A background probe asks each replica, every ``probe_seconds``, whether it is still a standby and how
far it has replayed, and the primary how far its WAL is flushed. A replica's lag is the time since
the primary first wrote WAL that the replica has not replayed: an idle primary with a current
replica is 0 however old its last transaction is. A replica lagging past ``max_lag``, unreachable,
failing a read or no longer a standby (promoted) is skipped until the probe finds it well again.
A read that fails on a replica for the replica's sake is answered by the primary.

Replica URLs carry passwords: logs and probes name a replica by its number and host only.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Literal, TypeVar

import asyncpg

from ..domain.structs import Struct
from ..settings import DatabaseSettings
from ..shutdown import CLOSE_S, close_pool, step, stop_task
from .connection import Connection, one_row
from .health import is_database_unavailable
from .pool import create_replica_pool

log = logging.getLogger("comments_service.replicas")
_T = TypeVar("_T")

ReplicaHealth = Literal["starting", "ok", "lagging", "down", "not_standby"]
PROBE_TIMEOUT = 2.0  # one probe of one replica, connecting included
CONNECT_TIMEOUT = 2.0  # the probe's own connection to a replica
FENCE_TIMEOUT = 2.0  # the primary's WAL position; past it the read goes to the primary (which answers or fails)
# how long a read waits for its replica to replay up to the fence before the primary answers
# instead: streaming replicas trail by milliseconds, and WAL written without a commit reaches them
# after the primary's WAL writer flushes it (wal_writer_delay, 200 ms by default)
FENCE_WAIT = 0.5
_SAMPLES = 3600  # primary positions kept for lag (an hour at one a second); older ones only add to a lag

# positions as plain numbers (bytes since 0/0), comparable with Python's ints
_PRIMARY_FENCE = "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint"
_PRIMARY_FLUSHED = "SELECT pg_wal_lsn_diff(pg_current_wal_flush_lsn(), '0/0')::bigint"
_REPLAYED = "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::bigint"
_STANDBY = "SELECT pg_is_in_recovery(), pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::bigint"
# WAL page size (PostgreSQL's default XLOG_BLCKSZ) and the headers that open a page: 24 bytes, 40 at
# the start of a segment
_WAL_PAGE = 8192
_PAGE_HEADERS = (24, 40)


def _past_page_header(position: int) -> int:
    """The insert position as a replica's replay position can reach it: right after a page's header
    (a quiet primary after a WAL switch, or a write that ended on a page boundary) the insert
    position counts the header, which replay never passes until the next record; nothing ends
    inside a header, so the page boundary is the same point."""
    offset = position % _WAL_PAGE
    return position - offset if offset in _PAGE_HEADERS else position


# failures of a read that the primary may not share: a recovery conflict (class 40: a standby
# cancels queries whose rows replay removes) or an operator's intervention (class 57: shutdown,
# cancel); and the replica being unreachable (is_database_unavailable)
_RETRY_ON_PRIMARY = (asyncpg.exceptions.TransactionRollbackError, asyncpg.exceptions.OperatorInterventionError)


def safe_label(url: str) -> str:
    """host[:port][/database] of a PostgreSQL URL, without its user or password: for logs."""
    _, _, rest = url.partition("://")
    rest = rest.rpartition("@")[2]
    return rest.split("?", 1)[0] or "?"


class ReplicaView(Struct, frozen=True):
    """What the probes and readiness show of one replica (numbered from 1 in the configured order)."""

    number: int
    state: ReplicaHealth
    lag_seconds: float | None
    reads: int  # reads it answered
    fallbacks: int  # reads sent to it that the primary answered (behind the fence or failed)


class _Replica:
    __slots__ = ("number", "url", "label", "pool", "probe_conn", "state", "replayed", "lag", "reads",
                 "fallbacks", "error")

    def __init__(self, number: int, url: str) -> None:
        self.number = number
        self.url = url
        self.label = f"replica {number} ({safe_label(url)})"
        self.pool: asyncpg.Pool | None = None
        self.probe_conn: asyncpg.Connection | None = None
        self.state: ReplicaHealth = "starting"
        self.replayed: int | None = None  # a replay position it had reached (only ever a lower bound)
        self.lag: float | None = None
        self.reads = 0
        self.fallbacks = 0
        self.error: str | None = None  # the last failure, for the admins' eyes (never the URL)

    def view(self) -> ReplicaView:
        return ReplicaView(number=self.number, state=self.state,
                           lag_seconds=None if self.lag is None else round(self.lag, 3),
                           reads=self.reads, fallbacks=self.fallbacks)

    def set_state(self, state: ReplicaHealth, error: str | None = None) -> None:
        if state != self.state:
            level = logging.INFO if state == "ok" else logging.WARNING
            log.log(level, "read replica state", extra={"replica": self.label, "state": state,
                                                        "lag_seconds": self.lag, "error": error})
        self.state = state
        self.error = error


class ReadPools:
    """The primary pool and the replicas' pools; :meth:`read` runs a public read on a replica that
    is well and has replayed everything committed before the read began, else on the primary."""

    def __init__(self, primary: asyncpg.Pool, settings: DatabaseSettings, *, probe_seconds: float = 1.0) -> None:
        self.primary = primary
        self.settings = settings
        self.max_lag = settings.replica_max_lag
        self.probe_seconds = probe_seconds
        self.primary_reads = 0  # public reads the primary answered (no replica well, or a fallback)
        self._replicas = [_Replica(i, url) for i, url in enumerate(settings.replica_urls, start=1)]
        self._next = 0
        self._samples: collections.deque[tuple[float, int]] = collections.deque(maxlen=_SAMPLES)
        self._probe: asyncio.Task[None] | None = None
        self._fence_task: asyncio.Task[None] | None = None
        self._fence_waiters: asyncio.Future[int] | None = None

    @classmethod
    def primary_only(cls, primary: asyncpg.Pool) -> ReadPools:
        return cls(primary, DatabaseSettings())

    @property
    def configured(self) -> bool:
        return bool(self._replicas)

    def views(self) -> list[ReplicaView]:
        return [r.view() for r in self._replicas]

    async def start(self) -> None:
        """Make the replicas' pools (no connection yet: a replica that is down must not stop the
        start) and start the probe."""
        for replica in self._replicas:
            replica.pool = await create_replica_pool(self.settings, replica.url)
        if self._replicas:
            await self.probe_once()
            self._probe = asyncio.create_task(self._probe_loop(), name="replica probe")

    async def close(self) -> None:
        await stop_task("api: replica probe", self._probe)
        await stop_task("api: replica fence", self._fence_task)
        for replica in self._replicas:
            if replica.probe_conn is not None:
                await step(f"api: {replica.label} probe connection", replica.probe_conn.close(), CLOSE_S)
            if replica.pool is not None:
                await close_pool(f"api: {replica.label} pool", replica.pool)

    # ---------------------------------------------------------------- reads
    async def read(self, fn: Callable[[Connection], Awaitable[_T]]) -> _T:
        """``fn(conn)`` on a replica that has everything committed before this call, else on the
        primary. ``fn`` only reads (it may run twice: once on a replica that failed, then on the
        primary)."""
        replica = self._pick()
        if replica is not None:
            try:
                fence: int | None = await self._fence()
            except Exception as exc:
                if not is_database_unavailable(exc):
                    raise
                # without the fence nothing tells how recent a replica's answer must be (another
                # process may reach the primary, write and bump): the primary answers, or the
                # request fails as it would without replicas
                fence = None
            if fence is not None:
                found, result = await self._on_replica(replica, fence, fn)
                if found:
                    return result  # type: ignore[return-value]
        self.primary_reads += 1
        async with self.primary.acquire() as conn:
            return await fn(conn)

    def _pick(self) -> _Replica | None:
        replicas = self._replicas
        for _ in range(len(replicas)):
            self._next = (self._next + 1) % len(replicas)
            replica = replicas[self._next]
            if replica.state == "ok":
                return replica
        return None

    async def _on_replica(self, replica: _Replica, fence: int,
                          fn: Callable[[Connection], Awaitable[_T]]) -> tuple[bool, _T | None]:
        pool = replica.pool
        if pool is None:
            return False, None
        try:
            async with pool.acquire() as conn:
                if not await self._caught_up(replica, conn, fence):
                    replica.fallbacks += 1
                    return False, None
                result = await fn(conn)
        except Exception as exc:
            unavailable = is_database_unavailable(exc)
            if not (unavailable or isinstance(exc, _RETRY_ON_PRIMARY)):
                raise
            replica.fallbacks += 1
            if unavailable:
                replica.set_state("down", _error(exc))
                await pool.expire_connections()  # the others are likely as dead: reconnect on next use
            return False, None
        replica.reads += 1
        return True, result

    @staticmethod
    async def _caught_up(replica: _Replica, conn: Connection, fence: int) -> bool:
        if replica.replayed is not None and replica.replayed >= fence:
            return True
        deadline = time.monotonic() + FENCE_WAIT
        delay = 0.002
        while True:
            replayed = await conn.fetchval(_REPLAYED)
            if replayed is not None:
                replica.replayed = max(replica.replayed or 0, replayed)
                if replayed >= fence:
                    return True
            if time.monotonic() + delay > deadline:
                return False
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.02)

    async def _fence(self) -> int:
        """The primary's WAL insert position, read after this call began. Callers that arrive while
        a read of it is under way wait for the next one (which starts after they arrived); so under
        load the primary sees one such query at a time, not one per read."""
        waiters = self._fence_waiters
        if waiters is None:
            waiters = self._fence_waiters = asyncio.get_running_loop().create_future()
            if self._fence_task is None or self._fence_task.done():
                self._fence_task = asyncio.create_task(self._read_fences(), name="replica fence")
        return await asyncio.shield(waiters)

    async def _read_fences(self) -> None:
        while self._fence_waiters is not None:
            waiters, self._fence_waiters = self._fence_waiters, None
            try:
                async with asyncio.timeout(FENCE_TIMEOUT), self.primary.acquire() as conn:
                    position = await conn.fetchval(_PRIMARY_FENCE)
            except asyncio.CancelledError:
                waiters.cancel()
                raise
            except Exception as exc:
                waiters.set_exception(exc)
                waiters.exception()  # mark retrieved: the waiters re-raise it, nobody logs "never retrieved"
                continue
            waiters.set_result(_past_page_header(position))

    # ---------------------------------------------------------------- probe
    async def _probe_loop(self) -> None:
        while True:
            await asyncio.sleep(self.probe_seconds)
            try:
                await self.probe_once()
            except Exception:  # a bug here must not end the probing, and so the replicas' recovery
                log.exception("read replica probe failed")

    async def probe_once(self) -> None:
        """One round: the primary's flushed position, then every replica's state at once."""
        try:
            async with asyncio.timeout(PROBE_TIMEOUT), self.primary.acquire() as conn:
                flushed = await conn.fetchval(_PRIMARY_FLUSHED)
        except Exception as exc:
            if not (is_database_unavailable(exc) or isinstance(exc, asyncpg.PostgresError)):
                raise
            flushed = None  # lag cannot be told without the primary: the replicas keep their state
        now = time.monotonic()
        if flushed is not None and (not self._samples or flushed > self._samples[-1][1]):
            self._samples.append((now, flushed))
        await asyncio.gather(*(self._probe_replica(r, now, flushed is not None) for r in self._replicas))
        known = [r.replayed for r in self._replicas if r.replayed is not None and r.state != "down"]
        if known:  # positions every replica has replayed can no longer start anybody's lag
            low = min(known)
            while len(self._samples) > 1 and self._samples[0][1] <= low:
                self._samples.popleft()

    async def _probe_replica(self, replica: _Replica, now: float, primary_known: bool) -> None:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                if replica.probe_conn is None or replica.probe_conn.is_closed():
                    replica.probe_conn = await asyncpg.connect(
                        replica.url, timeout=CONNECT_TIMEOUT,
                        server_settings={"application_name": "comments_service replica probe"})
                standby, replayed = await one_row(replica.probe_conn, _STANDBY)
        except Exception as exc:
            if not (is_database_unavailable(exc) or isinstance(exc, asyncpg.PostgresError)):
                raise
            conn, replica.probe_conn = replica.probe_conn, None
            if conn is not None:
                conn.terminate()
            # after a restart a standby may start from an older position: forget the one it had
            replica.replayed = None
            replica.lag = None
            replica.set_state("down", _error(exc))
            return
        if not standby or replayed is None:
            replica.lag = replica.replayed = None
            replica.set_state("not_standby", "it is not a standby (promoted?): its data may part from the primary's")
            return
        replica.replayed = replayed
        if not primary_known and replica.state in ("ok", "lagging"):
            return
        replica.lag = self._lag(replayed, now)
        replica.set_state("ok" if replica.lag <= self.max_lag else "lagging")

    def _lag(self, replayed: int, now: float) -> float:
        for at, position in self._samples:
            if position > replayed:
                return now - at
        return 0.0


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
