"""The first level of the read cache: this process's own copy of hot pages and counts.

Copies are dropped when any process bumps an article's version (announced on a Redis pub/sub
channel by the same Lua call that bumps it) and all of them are dropped whenever the subscription
is not known to be connected: messages sent while it was down are lost, so nothing cached before
can be trusted. A copy is only used while the subscription is up; otherwise reads go to Redis.
Pages are kept in their two parts (domain/page_parts.py): an append drops the tails that are not
lasting and replaces the header with the one its writer read under the article's row lock (sent
with the invalidation: article ids and JSON hold no NUL, the separator), when it is the newest
this process knows of; any other change drops everything the process holds of the article.

Correctness under concurrent writes rests on generation counters: a reader notes them before asking
Redis (or PostgreSQL) and stores what it got only if no invalidation arrived meanwhile, so a page
read just before a write can never be stored after that write's invalidation was processed (for a
lasting tail, no invalidation other than an append's, which cannot have changed it). In the
writing process the copy is dropped before the write answers (and an append's own message, when it
comes back, is passed over: see own_append); other processes drop theirs when the message arrives
(pub/sub delivery, well under a millisecond on one host). ``max_age`` bounds how
long a copy can outlive a message lost without the connection being seen to fail.

Any reader may name any article, so what is held is bounded (``max_entries`` tails and articles,
ten times as many counts), and when full the least recently used articles and counts make room:
a flood of made-up ids displaces pages only as the pages go unread, so one read anew within the
last ``max_entries`` articles stays.
Making room is no invalidation (nothing held becomes stale by it), so it leaves the generations
alone and refills of hot pages in progress are still kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from .domain.page_parts import Header, join
from .http_encodings import EncodedBody
from .redis_cluster import NodeRotation
from .shutdown import CLOSE_S, step, stop_task

log = logging.getLogger("comments_service.local_cache")

ALL = b"*"


class _Article:
    """This process's copy of one article's pages, in parts (domain/page_parts.py)."""

    __slots__ = ("header", "version", "tails", "pages")

    def __init__(self) -> None:
        self.header: tuple[bytes, float] | None = None
        # the newest article version this process knows of, once a header read from Redis or
        # PostgreSQL established it (None: unknown, so no header handed over by a writer is taken)
        self.version: int | None = None
        self.tails: dict[str, tuple[bytes, bool, float]] = {}  # suffix -> (tail, lasting, stored at)
        # suffix -> (header + tail, the older one's time): the joined page with its tag and encodings
        self.pages: dict[str, tuple[EncodedBody, float]] = {}


class LocalCache:
    def __init__(self, client: aioredis.Redis | NodeRotation, channel: str, *, max_entries: int = 2000,
                 max_age: float = 10.0, liveness: float = 3.0) -> None:
        self.client = client
        self.channel = channel
        self.max_entries = max_entries
        self.max_age = max_age
        self.liveness = liveness  # seconds without a pong before the subscription is presumed dead
        self.connected = False
        # bumped by every invalidation; ``structure`` only by those that retire lasting tails too
        self.generation = 0
        self.structure = 0
        self.invalidations = 0
        # appends this process's own writes announced and already applied (see own_append), and how
        # many of their messages came back and were passed over
        self._own: OrderedDict[tuple[str, str, int], None] = OrderedDict()
        self.own_echoes = 0
        # least recently used first (see _entry)
        self._articles: OrderedDict[tuple[str, str], _Article] = OrderedDict()
        # page lookups in progress in this process (Redis, and PostgreSQL on a miss), by page, with
        # the generation each began at: a reader that misses the copy at that same generation waits
        # for the lookup instead of starting its own (see Cache.get_page)
        self._pending: dict[tuple[str, str, str], tuple[int, asyncio.Future]] = {}
        self._counts: OrderedDict[tuple[str, str], tuple[int, float]] = OrderedDict()
        self._answers: dict[Hashable, tuple[int, float, Any]] = {}  # see answer()
        self._entries = 0
        self._task: asyncio.Task | None = None
        self._closing = False

    @property
    def tails_held(self) -> int:
        """How many page tails this process holds: what ``max_entries`` bounds."""
        return self._entries

    # ------------------------------------------------------------ reads and fills
    def page(self, site_id: str, external_id: str, suffix: str) -> EncodedBody | None:
        """The whole page, when both of its parts are here and fresh. Synchronous: the public-read
        fast path (api/fast_reads.py) answers from it without waiting on anything."""
        if not self.connected:
            return None
        key = (site_id, external_id)
        entry = self._articles.get(key)
        if entry is None:
            return None
        self._articles.move_to_end(key)
        found = entry.pages.get(suffix)
        now = time.monotonic()
        if found is not None and now - found[1] <= self.max_age:
            return found[0]
        header, tail = entry.header, entry.tails.get(suffix)
        if header is None or tail is None or now - min(header[1], tail[2]) > self.max_age:
            return None
        body = EncodedBody(join(header[0], tail[0]))
        entry.pages[suffix] = (body, min(header[1], tail[2]))
        return body

    def tail(self, site_id: str, external_id: str, suffix: str) -> bytes | None:
        """The page's tail when it is here and fresh (after an append it waits for a new header)."""
        if not self.connected:
            return None
        entry = self._articles.get((site_id, external_id))
        found = entry.tails.get(suffix) if entry is not None else None
        if found is None or time.monotonic() - found[2] > self.max_age:
            return None
        return found[0]

    def put_header(self, site_id: str, external_id: str, header: Header, generation: int) -> None:
        if not self.connected or generation != self.generation:
            return  # an invalidation arrived since this reader asked: what it holds may predate it
        entry = self._entry(site_id, external_id)
        if entry.version is not None and header.version < entry.version:
            return
        entry.header, entry.version = (header.body, time.monotonic()), header.version
        entry.pages.clear()

    def put_tail(self, site_id: str, external_id: str, suffix: str, tail: bytes, lasting: bool, generation: int,
                 structure: int) -> None:
        # a lasting tail read before an append is still that page's tail after it: only the
        # invalidations that retire lasting tails refuse it
        if not self.connected or (structure != self.structure if lasting else generation != self.generation):
            return
        tails = self._entry(site_id, external_id).tails
        self._entries += suffix not in tails
        tails[suffix] = (tail, lasting, time.monotonic())
        while self._entries > self.max_entries:
            self._evict()  # this article last: it was just used

    def _entry(self, site_id: str, external_id: str) -> _Article:
        key = (site_id, external_id)
        entry = self._articles.get(key)
        if entry is None:
            # ``max_entries`` counts tails; articles left with none (after appends) count here, so
            # that the articles a process holds stay bounded whatever readers ask for
            if len(self._articles) >= self.max_entries:
                self._evict()
            entry = self._articles[key] = _Article()
        else:
            self._articles.move_to_end(key)
        return entry

    def _evict(self) -> None:
        """Drop the least recently used article."""
        _, entry = self._articles.popitem(last=False)
        self._entries -= len(entry.tails)

    def pending(self, site_id: str, external_id: str, suffix: str, generation: int) -> asyncio.Future | None:
        """The lookup of this page that began at ``generation``, if one is in progress.

        Waiting for it is as safe as reading a copy stored at that generation: no invalidation has
        arrived since it began, so what it returns was read after every change this process has
        been told of. A lookup that began before the latest invalidation is never joined."""
        found = self._pending.get((site_id, external_id, suffix))
        if found is None or found[0] != generation or not self.connected:
            return None
        return found[1]

    def begin(self, site_id: str, external_id: str, suffix: str, generation: int) -> asyncio.Future:
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._pending[(site_id, external_id, suffix)] = (generation, future)
        return future

    def end(self, site_id: str, external_id: str, suffix: str, future: asyncio.Future) -> None:
        key = (site_id, external_id, suffix)
        found = self._pending.get(key)
        if found is not None and found[1] is future:
            del self._pending[key]

    def counts(self, site_id: str, external_ids: list[str]) -> dict[str, int] | None:
        """All of these counts, or None when any is missing (the caller asks Redis for the lot)."""
        found = self.counts_at(site_id, external_ids)
        return None if found is None else found[0]

    def counts_at(self, site_id: str, external_ids: list[str]) -> tuple[dict[str, int], float] | None:
        """counts(), and when the oldest of them was stored."""
        if not self.connected:
            return None
        now = time.monotonic()
        oldest = now - self.max_age
        stored = now
        get, used = self._counts.get, self._counts.move_to_end
        found: dict[str, int] = {}
        for external_id in external_ids:
            key = (site_id, external_id)
            entry = get(key)
            if entry is None or entry[1] < oldest:
                return None
            used(key)
            found[external_id] = entry[0]
            if entry[1] < stored:
                stored = entry[1]
        return found, stored

    # ------------------------------------------------------------ answers made from what is held
    def answer(self, key: Hashable) -> Any:
        """An answer made from this copy (such as a counts answer, encoded) at the current
        generation, while what it was made from is fresh; None otherwise. Any invalidation retires
        them all: answers are for the hottest repeated requests, cheap to make again."""
        found = self._answers.get(key)
        if found is None or found[0] != self.generation or not self.connected or (
                time.monotonic() - found[1] > self.max_age):
            return None
        return found[2]

    def put_answer(self, key: Hashable, value: Any, generation: int, stored: float) -> None:
        """Keep an answer made at ``generation`` from entries the oldest of which was stored at ``stored``."""
        if not self.connected or generation != self.generation:
            return
        if len(self._answers) >= self.max_entries:  # any reader may ask anything: bounded
            self._answers.clear()
        self._answers[key] = (generation, stored, value)

    def put_counts(self, site_id: str, counts: dict[str, int], generation: int) -> None:
        if not self.connected or generation != self.generation:
            return
        held = self._counts
        now = time.monotonic()
        for external_id, value in counts.items():
            key = (site_id, external_id)
            held[key] = (value, now)
            held.move_to_end(key)  # a key already held keeps its place when set
        for _ in range(len(held) - self.max_entries * 10):
            held.popitem(last=False)

    # ------------------------------------------------------------ invalidation
    @staticmethod
    def message(site_id: str, external_id: str, appended: Header | None = None) -> bytes:
        """What the invalidation channel carries: the article, and for an append its new header."""
        if appended is None:
            return f"{site_id}\x00{external_id}".encode()
        return f"{site_id}\x00{external_id}\x00{appended.version}\x00".encode() + appended.body

    def invalidate(self, site_id: str, external_id: str, structural: bool = True, header: Header | None = None,
                   version: int | None = None) -> None:
        """Drop what a change to the article retires: after an append, its header (replaced by the
        one the writer handed over, ``header``, when that is the newest this process knows of) and
        the tails that are not lasting; after any other change, all of it. ``version``: the
        article's version after an append whose header is not at hand (None: unknown)."""
        self.generation += 1
        self.invalidations += 1
        key = (site_id, external_id)
        # the count of tails is kept up to date here rather than recounted over every article: a
        # hot article's writes invalidate hundreds of times a second
        if structural:
            self.structure += 1
            entry = self._articles.pop(key, None)
            if entry is not None:
                self._entries -= len(entry.tails)
        else:
            entry = self._articles.get(key)
            if entry is not None:
                held = len(entry.tails)
                self._appended(entry, header, header.version if header is not None else version)
                self._entries -= held - len(entry.tails)
        self._counts.pop(key, None)

    @staticmethod
    def _appended(entry: _Article, header: Header | None, version: int | None) -> None:
        entry.pages.clear()
        entry.tails = {k: v for k, v in entry.tails.items() if v[1]}
        if version is None:
            entry.header = entry.version = None  # which header is current is unknown until a refill
        elif entry.version is None:
            entry.header = None
        elif version > entry.version:
            # only the changes that reached this process since a header was read are known to be
            # older than this one (a change that is not an append drops the whole entry)
            entry.version = version
            entry.header = (header.body, time.monotonic()) if header is not None else None

    def own_append(self, site_id: str, external_id: str, version: int) -> None:
        """An append this process wrote and has already applied (``invalidate`` with its header):
        its message, when it comes back on the channel, changes nothing here and is passed over.
        Applying it a second time would only drop the page joined since and refuse the refills
        begun since (a new generation), all of which read data at least as new as the append. Only
        appends can be told apart (by the article's version); a message that comes back before this
        is called is applied as any other, and what is noted here for it is dropped in time."""
        own = self._own
        own[(site_id, external_id, version)] = None
        if len(own) > 4096:
            own.popitem(last=False)

    def clear(self) -> None:
        self.generation += 1
        self.structure += 1
        self._articles.clear()
        self._counts.clear()
        self._answers.clear()
        self._entries = 0
        self._own.clear()  # what was noted may never come back now

    def _on_message(self, data: bytes) -> None:
        if data == ALL:
            self.clear()
            return
        parts = data.split(b"\x00", 3)
        if len(parts) == 4:
            version = int(parts[2])
            site_id, external_id = parts[0].decode(), parts[1].decode()
            if self._own.pop((site_id, external_id, version), False) is None:
                self.own_echoes += 1
                return
            self.invalidate(site_id, external_id, False,
                            Header(body=parts[3], version=version) if parts[3] else None, version)
        else:
            self.invalidate(parts[0].decode(), parts[1].decode())

    # ------------------------------------------------------------ subscription
    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="local-cache-invalidations")

    async def close(self) -> None:
        # the flag ends the reader at its next turn even if the cancellation is lost (shutdown.py)
        self._closing = True
        self._down()
        await stop_task("local cache: invalidation reader", self._task)
        await step("local cache: its Redis client", self.client.aclose(), CLOSE_S)

    def _down(self) -> None:
        if self.connected and not self._closing:
            log.warning("local cache off: invalidation channel disconnected")
        self.connected = False
        self.clear()

    async def _run(self) -> None:
        backoff = 0.2
        while not self._closing:
            pubsub = self.client.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                last_seen = time.monotonic()
                pinged = 0.0
                while not self._closing:
                    message = await pubsub.get_message(timeout=0.5)
                    now = time.monotonic()
                    if message is not None:
                        last_seen = now
                        kind = message["type"]
                        if kind == "subscribe":
                            self.clear()  # whatever was cached before is of unknown freshness
                            self.connected = True
                            backoff = 0.2
                            log.info("local cache on")
                        elif kind == "message":
                            self._on_message(message["data"])
                    if now - pinged > self.liveness / 3:
                        await pubsub.ping()
                        pinged = now
                    if now - last_seen > self.liveness:
                        raise TimeoutError("no answer on the invalidation channel")
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError, TimeoutError) as exc:
                log.debug("invalidation channel error", extra={"error": f"{type(exc).__name__}: {exc}"})
            finally:
                self._down()
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)
