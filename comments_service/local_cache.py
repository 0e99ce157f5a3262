"""The first level of the read cache: this process's own copy of hot pages and counts.

Copies are dropped when any process bumps an article's version (announced on a Redis pub/sub
channel by the same Lua call that bumps it) and all of them are dropped whenever the subscription
is not known to be connected: messages sent while it was down are lost, so nothing cached before
can be trusted. A copy is only used while the subscription is up; otherwise reads go to Redis.

Correctness under concurrent writes rests on a generation counter: a reader notes it before asking
Redis (or PostgreSQL) and stores what it got only if no invalidation arrived meanwhile, so a page
read just before a write can never be stored after that write's invalidation was processed. In the
writing process the copy is dropped before the write answers; other processes drop theirs when the
message arrives (pub/sub delivery, well under a millisecond on one host). ``max_age`` bounds how
long a copy can outlive a message lost without the connection being seen to fail.
"""

from __future__ import annotations

import asyncio
import logging
import time

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger("comments_service.local_cache")

ALL = b"*"


class LocalCache:
    def __init__(self, client: aioredis.Redis, channel: str, *, max_entries: int = 2000, max_age: float = 10.0,
                 liveness: float = 3.0) -> None:
        self.client = client
        self.channel = channel
        self.max_entries = max_entries
        self.max_age = max_age
        self.liveness = liveness  # seconds without a pong before the subscription is presumed dead
        self.connected = False
        self.generation = 0
        self.invalidations = 0
        self._pages: dict[tuple[str, str], dict[str, tuple[bytes, float]]] = {}
        # page lookups in progress in this process (Redis, and PostgreSQL on a miss), by page, with
        # the generation each began at: a reader that misses the copy at that same generation waits
        # for the lookup instead of starting its own (see Cache.get_page)
        self._pending: dict[tuple[str, str, str], tuple[int, asyncio.Future]] = {}
        self._counts: dict[tuple[str, str], tuple[int, float]] = {}
        self._entries = 0
        self._task: asyncio.Task | None = None

    # ------------------------------------------------------------ reads and fills
    def page(self, site_id: str, article: str, suffix: str) -> bytes | None:
        if not self.connected:
            return None
        found = self._pages.get((site_id, article), {}).get(suffix)
        if found is None or time.monotonic() - found[1] > self.max_age:
            return None
        return found[0]

    def put_page(self, site_id: str, article: str, suffix: str, body: bytes, generation: int) -> None:
        if not self.connected or generation != self.generation:
            return  # an invalidation arrived since this reader asked: what it holds may predate it
        if self._entries >= self.max_entries:
            self.clear()
        self._pages.setdefault((site_id, article), {})[suffix] = (body, time.monotonic())
        self._entries += 1

    def pending(self, site_id: str, article: str, suffix: str, generation: int) -> asyncio.Future | None:
        """The lookup of this page that began at ``generation``, if one is in progress.

        Waiting for it is as safe as reading a copy stored at that generation: no invalidation has
        arrived since it began, so what it returns was read after every change this process has
        been told of. A lookup that began before the latest invalidation is never joined."""
        found = self._pending.get((site_id, article, suffix))
        if found is None or found[0] != generation or not self.connected:
            return None
        return found[1]

    def begin(self, site_id: str, article: str, suffix: str, generation: int) -> asyncio.Future:
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._pending[(site_id, article, suffix)] = (generation, future)
        return future

    def end(self, site_id: str, article: str, suffix: str, future: asyncio.Future) -> None:
        key = (site_id, article, suffix)
        found = self._pending.get(key)
        if found is not None and found[1] is future:
            del self._pending[key]

    def counts(self, site_id: str, articles: list[str]) -> dict[str, int] | None:
        """All of these counts, or None when any is missing (the caller asks Redis for the lot)."""
        if not self.connected:
            return None
        oldest = time.monotonic() - self.max_age
        get = self._counts.get
        found: dict[str, int] = {}
        for article in articles:
            entry = get((site_id, article))
            if entry is None or entry[1] < oldest:
                return None
            found[article] = entry[0]
        return found

    def put_counts(self, site_id: str, counts: dict[str, int], generation: int) -> None:
        if not self.connected or generation != self.generation:
            return
        if len(self._counts) + len(counts) > self.max_entries * 10:
            self._counts.clear()
        now = time.monotonic()
        for article, value in counts.items():
            self._counts[(site_id, article)] = (value, now)

    # ------------------------------------------------------------ invalidation
    @staticmethod
    def message(site_id: str, article: str) -> bytes:
        return f"{site_id}\x00{article}".encode()

    def invalidate(self, site_id: str, article: str) -> None:
        self.generation += 1
        self.invalidations += 1
        if self._pages.pop((site_id, article), None) is not None:
            self._entries = sum(len(v) for v in self._pages.values())
        self._counts.pop((site_id, article), None)

    def clear(self) -> None:
        self.generation += 1
        self._pages.clear()
        self._counts.clear()
        self._entries = 0

    def _on_message(self, data: bytes) -> None:
        if data == ALL:
            self.clear()
            return
        site_id, _, article = data.decode().partition("\x00")
        self.invalidate(site_id, article)

    # ------------------------------------------------------------ subscription
    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="local-cache-invalidations")

    async def close(self) -> None:
        self._down()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        await self.client.aclose()

    def _down(self) -> None:
        if self.connected:
            log.warning("local cache off: invalidation channel disconnected")
        self.connected = False
        self.clear()

    async def _run(self) -> None:
        backoff = 0.2
        while True:
            pubsub = self.client.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                last_seen = time.monotonic()
                pinged = 0.0
                while True:
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
                try:
                    await pubsub.aclose()
                except (RedisError, OSError):
                    pass
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)
