"""Redis: versioned cache-aside pages and counts, single-flight refills, live-update fan-out.

Cached values carry the epoch and the article's version they were stored under: a write bumps the
version and every instance's next read misses, so nobody hunts for keys to delete. A page is kept
in two parts (domain/page_parts.py): the article header under the version, and the rest under the version or,
when an append cannot change it, under the structure version, which appends do not bump. Redis is
never the only copy of anything; when it is down or slow (socket timeout of tens of ms) every call
here degrades to "miss" and the caller reads PostgreSQL. A write that could not bump a version
while Redis was away marks the cache dirty; the first successful call afterwards bumps the global
epoch, which retires every page cached before the outage. Every key written here expires, since a
reader can name any article: pages and counts after their TTLs; a version after ``version_ttl``
once a write bumped it, but one that reads alone created after ``read_ttl`` without a read; the
epoch after ``version_ttl`` without a read.

The same keys serve one Redis and a Redis Cluster (redis_cluster.py), where a Lua script may
touch only the keys passed in KEYS, all in one slot. So no key name holds a version or an epoch:
an article has one key per kind (its version, structure version, header, count) and one per page
tail, and each value starts with the stamp it was stored under ("{epoch}:{version}"), which the
read scripts compare. An article's keys carry the hash tag of its bucket (one of 1024,
redis_cluster.article_key). The epoch is read in the same script as the article's keys, so it must
live in their slot: one Redis keeps one epoch (``{prefix}epoch``); a cluster keeps one per bucket
(``{prefix}epoch:{bucket tag}``), and the bump after an outage bumps all 1024 (pipelined to every
node, shared by every caller that finds the cache dirty). Counts for many articles are one script
call on one Redis; on a cluster, one call per bucket, pipelined (each node gets its share at once:
still one round trip).

Longer than most modules on purpose: the key names, the Lua scripts' arguments and the
single-flight refills are one protocol, and the soundness of keeping pages across appends rests on
reading them side by side.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from redis.exceptions import RedisClusterException, RedisError

from .domain.page_parts import Header, PageParts, join
from .http_encodings import EncodedBody
from .local_cache import ALL, LocalCache
from .redis_cluster import Client, article_key, bucket_tags, is_cluster, run_scripts, subscriber_from_url
from .redis_scripts import ScriptConnection
from .settings import RedisSettings

log = logging.getLogger("comments_service.cache")
TTL_SPREAD = 0.2  # each cached page and count lives its time to live, +-20%
_LUA = Path(__file__).parent / "lua"
_T = TypeVar("_T")


def lua(name: str) -> str:
    return (_LUA / f"{name}.lua").read_text()


class CacheStats:
    __slots__ = ("hits", "misses", "errors", "refills", "local_hits", "local_joins", "__weakref__")

    def __init__(self) -> None:
        self.hits = self.misses = self.errors = self.refills = self.local_hits = self.local_joins = 0


class RedisGate:
    """Wraps calls to Redis: after a failure, skip Redis for a short backoff instead of paying a
    timeout on every request; remember whether a write missed its invalidation. Hands out the Lua
    scripts every service runs through it: on ``scripts`` when given (the API's, redis_scripts.py),
    else on the client."""

    def __init__(self, client: Client | None, backoff_seconds: float = 1.0, *,
                 scripts: ScriptConnection | None = None) -> None:
        self.client = client
        self.scripts = scripts if client is not None else None
        self.backoff_seconds = backoff_seconds
        self._down_until = 0.0
        self.last_error: str | None = None
        self.dirty = False  # a version bump was lost while Redis was unreachable
        self.on_recover: Callable[[], Awaitable[None]] | None = None

    def register_script(self, source: str) -> Any:
        """``source`` as a script called ``await script(keys=[...], args=[...])`` (None: no Redis)."""
        if self.scripts is not None:
            return self.scripts.script(source)
        return self.client.register_script(source) if self.client is not None else None

    @property
    def available(self) -> bool:
        return self.client is not None and time.monotonic() >= self._down_until

    def failed(self, exc: BaseException) -> None:
        self._down_until = time.monotonic() + self.backoff_seconds
        self.last_error = f"{type(exc).__name__}: {exc}"
        log.warning("redis unavailable", extra={"error": self.last_error})

    async def call(self, fn: Callable[[], Awaitable[_T]], default: _T | None = None) -> _T | None:
        """``fn()``, or ``default`` when Redis is away or fails. ``fn`` runs only while ``client``
        is set."""
        if not self.available:
            return default
        try:
            if self.dirty and self.on_recover is not None:
                await self.on_recover()
                self.dirty = False
            return await fn()
        # RedisClusterException: a cluster client that reaches none of its nodes (not a RedisError)
        except (TimeoutError, RedisError, RedisClusterException, OSError) as exc:
            self.failed(exc)
            return default


class Cache:
    def __init__(self, gate: RedisGate, settings: RedisSettings) -> None:
        self.gate = gate
        self.prefix = settings.prefix
        self.page_ttl = settings.page_ttl
        self.count_ttl = settings.count_ttl
        # versions and the epoch expire too: any reader can name any article (lua/read_page.lua),
        # so a version a read creates lives about as long as what is cached under it, and only a
        # write's bump gives it the long ``version_ttl``
        self.version_ttl = settings.version_ttl
        self.read_ttl = max(settings.page_ttl, settings.count_ttl)
        self.kept_s = self.longest_kept(settings)
        self.stats = CacheStats()
        self._inflight: dict[str, asyncio.Future[Any]] = {}
        gate.on_recover = self._bump_epoch
        client = gate.client
        self._read_page = gate.register_script(lua("read_page"))
        self._bump = gate.register_script(lua("bump"))
        self._bump_article = gate.register_script(lua("bump_article"))
        self._read_counts = gate.register_script(lua("read_counts"))
        self.cluster = is_cluster(client)
        bucket_tags()  # made once, now rather than in the first reader's request
        self._epoch_bump: asyncio.Future[None] | None = None
        self.local: LocalCache | None = None  # first level, see local_cache.py

    def enable_local(self, url: str, connect_timeout: float) -> None:
        """Start this process's in-process copy, kept honest by the invalidation channel."""
        client = subscriber_from_url(url, socket_timeout=max(1.0, connect_timeout),
                                     socket_connect_timeout=connect_timeout)
        self.local = LocalCache(client, self._invalidation_channel())
        self.local.start()

    async def close(self) -> None:
        if self.local is not None:
            await self.local.close()

    def _local(self) -> LocalCache | None:
        # a lost bump (dirty) or a failing Redis means invalidations may be missing: Redis decides
        local = self.local
        if local is None or not local.connected or self.gate.dirty or not self.gate.available:
            return None
        return local

    # keys: an article's all carry its bucket's hash tag, and so does the epoch they are read with
    def epoch_key(self, article: str) -> str:
        """The epoch read with ``article`` (an article_key): one Redis has one, a cluster one per
        bucket (so that every script call's keys share a slot)."""
        if not self.cluster:
            return f"{self.prefix}epoch"
        return f"{self.prefix}epoch:{article[:7]}"  # the bucket's tag: "{" five characters "}"

    def _all_epoch_keys(self) -> list[str]:
        if not self.cluster:
            return [f"{self.prefix}epoch"]
        return [f"{self.prefix}epoch:{bucket}" for bucket in bucket_tags()]

    def _invalidation_channel(self) -> str:
        return f"{self.prefix}invalidate"

    @staticmethod
    def article_key(site_id: str, external_id: str) -> str:
        return article_key(site_id, external_id)

    def version_key(self, site_id: str, external_id: str) -> str:
        return f"{self.prefix}v:{article_key(site_id, external_id)}"

    def structure_key(self, site_id: str, external_id: str) -> str:
        # bumped by every change but an append (domain/page_parts.py)
        return f"{self.prefix}s:{article_key(site_id, external_id)}"

    def count_key(self, site_id: str, external_id: str) -> str:
        # holds "{epoch}:{version}:{count}" (see lua/read_counts.lua)
        return f"{self.prefix}count:{article_key(site_id, external_id)}"

    def header_key(self, site_id: str, external_id: str) -> str:
        # holds "{epoch}:{version}\n" and the header (see lua/read_page.lua)
        return f"{self.prefix}page:{article_key(site_id, external_id)}:h"

    def tail_key(self, site_id: str, external_id: str, suffix: str) -> str:
        # holds "{epoch}:{version}\n" or, lasting, "{epoch}:s{structure}\n", and the tail
        return f"{self.prefix}page:{article_key(site_id, external_id)}:t:{suffix}"

    def page_keys(self, site_id: str, external_id: str, suffix: str) -> list[str]:
        """Every key lua/read_page.lua touches for this page (``suffix`` '': the header alone)."""
        article = article_key(site_id, external_id)
        keys = [self.epoch_key(article), f"{self.prefix}v:{article}", f"{self.prefix}s:{article}",
                f"{self.prefix}page:{article}:h"]
        if suffix:
            keys.append(f"{self.prefix}page:{article}:t:{suffix}")
        return keys

    def _ttl(self, base: int) -> int:
        # jitter spreads expiries so a popular set of pages does not expire in one instant
        return max(1, int(base * random.uniform(1 - TTL_SPREAD, 1 + TTL_SPREAD)))

    @staticmethod
    def longest_kept(settings: RedisSettings) -> int:
        """Seconds within which every page and count cached now has expired on its own."""
        return math.ceil(max(settings.page_ttl, settings.count_ttl) * (1 + TTL_SPREAD))

    @staticmethod
    def _seed() -> int:
        return int(time.time() * 1000)

    # pages
    async def get_page(self, site_id: str, external_id: str, suffix: str, load: Callable[[], Awaitable[PageParts]],
                       load_header: Callable[[], Awaitable[Header]]) -> bytes:
        """Cache-aside read of one page; concurrent misses for the same key share one load.

        ``load`` reads the whole page from PostgreSQL, ``load_header`` only its article header (what
        an append changes; see domain/page_parts.py)."""
        local = self._local()
        if local is None:
            return await self._get_page(site_id, external_id, suffix, load, load_header, None)
        held = self.held_page(site_id, external_id, suffix)
        if held is not None:
            return held.body
        generation, structure = local.generation, local.structure
        pending = local.pending(site_id, external_id, suffix, generation)
        if pending is not None:
            # another reader of this process is already looking this page up, since the latest
            # invalidation: wait for it rather than ask Redis again (after a write to a hot
            # article, every reader arriving during the refill would otherwise make its own
            # Redis round trip). Counted as a miss: this reader found no copy.
            self.stats.misses += 1
            self.stats.local_joins += 1
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise  # this reader was cancelled
                return await self.get_page(site_id, external_id, suffix, load, load_header)  # the one it waited for was
        future = local.begin(site_id, external_id, suffix, generation)
        tail = local.tail(site_id, external_id, suffix)  # kept across an append: only the header is missing

        def ready(header: Header, found: PageParts | None) -> None:
            local.put_header(site_id, external_id, header, generation)
            if found is not None:
                local.put_tail(site_id, external_id, suffix, found.tail, found.lasting, generation, structure)
            page_tail = tail if found is None else found.tail  # tail: set when the header alone was read
            if page_tail is not None and not future.done():  # joiners need not wait for the store in Redis
                future.set_result(join(header.body, page_tail))

        try:
            if tail is None:
                page = await self._get_page(site_id, external_id, suffix, load, load_header, ready)
            else:
                page = join((await self._get_header(site_id, external_id, load_header, ready)).body, tail)
            if not future.done():
                future.set_result(page)
            return page
        except asyncio.CancelledError:
            future.cancel()  # joiners look the page up themselves
            raise
        except BaseException as exc:
            if not future.done():
                future.set_exception(exc)
                future.exception()  # mark retrieved: joiners re-raise it, nobody logs "never retrieved"
            raise
        finally:
            local.end(site_id, external_id, suffix, future)

    def held_page(self, site_id: str, external_id: str, suffix: str) -> EncodedBody | None:
        """This process's copy of a whole page, at once and without asking anyone (None: not held,
        or no copy may be trusted now): what the public-read fast path serves (api/fast_reads.py)."""
        local = self._local()
        held = None if local is None else local.page(site_id, external_id, suffix)
        if held is not None:
            self.stats.hits += 1
            self.stats.local_hits += 1
        return held

    def encoded_page(self, site_id: str, external_id: str, suffix: str, body: bytes) -> EncodedBody | None:
        """The copy this process holds of the page ``body`` is, with its tag and encodings (None:
        none is held, or it holds other bytes, such as a reader's own view)."""
        local = self._local()
        held = None if local is None else local.page(site_id, external_id, suffix)
        return held if held is not None and (held.body is body or held.body == body) else None

    def held_counts(self, site_id: str, external_ids: list[str]) -> dict[str, int] | None:
        """All of these counts from this process's copy, at once (None: any is missing)."""
        local = self._local()
        known = None if local is None else local.counts(site_id, external_ids)
        if known is not None:
            self.counted_hits(len(known))
        return known

    def counted_hits(self, n: int) -> None:
        self.stats.hits += n
        self.stats.local_hits += n

    def first_level(self) -> LocalCache | None:
        """This process's copy, while it may be trusted (else None: every read asks Redis)."""
        return self._local()

    async def _get_page(self, site_id: str, external_id: str, suffix: str, load: Callable[[], Awaitable[PageParts]],
                        load_header: Callable[[], Awaitable[Header]],
                        ready: Callable[[Header, PageParts | None], None] | None) -> bytes:
        """Redis, then a single-flight load of what it lacks. ``ready`` (given only while the first
        level is in use) gets the parts as soon as they are known, before they are stored in Redis;
        it is not called for a page that Redis could not be asked about (that one is never kept)."""
        read_page = self._read_page
        keys = self.page_keys(site_id, external_id, suffix)
        found = None if read_page is None else await self.gate.call(lambda: read_page(
            keys=keys, args=[self._seed(), self.version_ttl, self.read_ttl]))
        if found is None:
            self.stats.misses += 1
            parts, _ = await self._single_flight(f"nocache:{site_id}:{external_id}:{suffix}", load)
            return join(parts.header.body, parts.tail)
        epoch, version, structure, stored, tail, lasting = found
        header_key, tail_key = keys[3], keys[4]
        stamp = b"%s:%s\n" % (epoch, version)
        if tail is not None:
            header = await self._header_at(header_key, stamp, stored, load_header, None if ready is None else
                                           lambda h: ready(h, PageParts(header=h, tail=tail, lasting=bool(lasting))))
            return join(header.body, tail)
        self.stats.misses += 1
        parts, leader = await self._single_flight(
            f"{tail_key}:{_s(epoch)}:{_s(version)}:s{_s(structure)}", load)
        if ready is not None:
            ready(parts.header, parts)
        if leader:
            tail_stamp = b"%s:s%s\n" % (epoch, structure) if parts.lasting else stamp
            await self._store({tail_key: tail_stamp + parts.tail} if stored is not None else
                              {tail_key: tail_stamp + parts.tail, header_key: stamp + _stored_header(parts.header)})
        return join(parts.header.body, parts.tail)

    async def _get_header(self, site_id: str, external_id: str, load_header: Callable[[], Awaitable[Header]],
                          ready: Callable[[Header, PageParts | None], None]) -> Header:
        """The article header alone (this process still holds the page's lasting tail)."""
        read_page = self._read_page
        keys = self.page_keys(site_id, external_id, "")
        found = None if read_page is None else await self.gate.call(lambda: read_page(
            keys=keys, args=[self._seed(), self.version_ttl, self.read_ttl]))
        if found is None:
            self.stats.misses += 1
            header, _ = await self._single_flight(f"nocache:{site_id}:{external_id}:h", load_header)
            return header
        epoch, version, _, stored = found
        return await self._header_at(keys[3], b"%s:%s\n" % (epoch, version), stored, load_header,
                                     lambda h: ready(h, None))

    async def _header_at(self, header_key: str, stamp: bytes, stored: bytes | None,
                         load_header: Callable[[], Awaitable[Header]],
                         ready: Callable[[Header], None] | None) -> Header:
        """The header Redis held under ``header_key`` and ``stamp`` (``stored``), or on a miss one
        single-flight load, stored there for the next reader. ``ready`` gets it before it is stored."""
        if stored is not None:
            self.stats.hits += 1
            header = _header(stored)
            leader = False
        else:
            self.stats.misses += 1
            header, leader = await self._single_flight(f"{header_key}:{_s(stamp)}", load_header)
        if ready is not None:
            ready(header)
        if leader:
            await self._store({header_key: stamp + _stored_header(header)})
        return header

    async def _single_flight(self, key: str, load: Callable[[], Awaitable[_T]]) -> tuple[_T, bool]:
        """(what ``load`` returned, whether this caller ran it); callers of one key at one time share
        one load."""
        pending: asyncio.Future[_T] | None = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending), False
        future: asyncio.Future[_T] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            self.stats.refills += 1
            value = await load()
            future.set_result(value)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it, nobody logs "never retrieved"
            raise
        finally:
            del self._inflight[key]
        return value, True

    async def _store(self, values: dict[str, bytes]) -> None:
        client = self.gate.client
        if client is None:
            return

        async def store() -> None:
            if len(values) == 1:
                [(key, value)] = values.items()
                await client.set(key, value, ex=self._ttl(self.page_ttl))
                return
            pipe = client.pipeline(transaction=False)
            for key, value in values.items():
                pipe.set(key, value, ex=self._ttl(self.page_ttl))
            await pipe.execute()

        await self.gate.call(store)

    async def bump(self, site_id: str, external_id: str, live_event: bytes | None = None, *,
                   appended: Header | None = None) -> None:
        """Call after a reader-visible change has committed, before answering the write.
        ``appended``: given only for an append (domain/page_parts.py), the article's header as the
        append left it: lasting tails are kept, and every process takes this header instead of
        reading it again. ``live_event``: published to the article's live readers in the same
        round trip."""
        structural = appended is None
        args = [self._seed(), "1" if structural else "0", self._invalidation_channel(),
                LocalCache.message(site_id, external_id, appended), self.version_ttl]
        if live_event is not None:
            args += [self.channel(site_id, external_id), live_event]
        bump_article = self._bump_article
        done = False if bump_article is None else await self.gate.call(lambda: bump_article(
            keys=[self.version_key(site_id, external_id), self.structure_key(site_id, external_id)], args=args),
            default=False)
        self.forget_local(site_id, external_id, structural, appended)
        if done is False:
            self.gate.dirty = True
        elif appended is not None and self.local is not None:
            self.local.own_append(site_id, external_id, appended.version)

    def forget_local(self, site_id: str, external_id: str, structural: bool = True, header: Header | None = None,
                     version: int | None = None) -> None:
        """Drop this process's copy of an article (after an append, only what it changed; see
        LocalCache.invalidate). After a bump: once the new version is in Redis, a reader of this
        process that read the old one is refused when it tries to store it (generation check);
        other processes hear it on pub/sub, and drop it too when a live event arrives."""
        if self.local is not None:
            self.local.invalidate(site_id, external_id, structural, header, version)

    async def _bump_epoch(self) -> None:
        # every call that finds the cache dirty lands here: they share one bump (on a cluster, one
        # is 1024 script calls)
        pending = self._epoch_bump
        if pending is None or pending.done():
            pending = self._epoch_bump = asyncio.ensure_future(self._bump_epochs())
        await asyncio.shield(pending)

    async def _bump_epochs(self, why: str = "after redis outage") -> None:
        # pages and counts both carry the epoch, so this one write (one per bucket on a cluster)
        # retires everything cached before the outage
        client, bump = self.gate.client, self._bump
        if client is None or bump is None:
            return  # the gate calls this only while Redis is there
        seed = self._seed()
        await run_scripts(client, bump, [([key], [seed, self.version_ttl]) for key in self._all_epoch_keys()])
        await client.publish(self._invalidation_channel(), ALL)
        if self.local is not None:
            self.local.clear()
        log.info("cache epoch bumped " + why)

    async def retire_all(self, why: str) -> bool:
        """Retire every cached page and count, in every process (what they were read from was
        replaced: a restore). False: Redis was not reached, and what it holds expires on its own."""
        async def retire() -> bool:
            await self._bump_epochs(why)
            return True

        return self.gate.client is not None and await self.gate.call(retire) is True

    # counts
    async def get_counts(self, site_id: str, external_ids: list[str],
                         load: Callable[[list[str]], Awaitable[dict[str, int]]]) -> dict[str, int]:
        """Counts are versioned like pages: a count read from PostgreSQL before a write committed
        is stored under the version that write's bump retired, so it can never be served after it."""
        if not external_ids:
            return {}
        local = self._local()
        if local is not None:
            generation = local.generation
            known = self.held_counts(site_id, external_ids)
            if known is not None:
                return known
        read_counts, client = self._read_counts, self.gate.client
        calls = self._count_calls(site_id, external_ids)
        found = None if read_counts is None or client is None else await self.gate.call(
            lambda: run_scripts(client, read_counts, [(keys, args) for keys, args, _ in calls]))
        result: dict[str, int] = {}
        missing: list[tuple[str, str, bytes, bytes]] = []  # (id, count key, epoch, version)
        for i, (keys, _, ids) in enumerate(calls):
            epoch, versions, cached = found[i] if found is not None else (b"", [b""] * len(ids), [None] * len(ids))
            for j, external_id in enumerate(ids):
                value = cached[j]
                if value is None:
                    missing.append((external_id, keys[2 + 2 * j], epoch, versions[j]))
                else:
                    result[external_id] = int(value)
        self.stats.hits += len(result)
        self.stats.misses += len(missing)
        if missing:
            loaded = await load([external_id for external_id, *_ in missing])
            for external_id, *_ in missing:
                result[external_id] = loaded.get(external_id, 0)
            if found is not None and client is not None:
                async def store() -> None:
                    pipe = client.pipeline(transaction=False)
                    for external_id, key, epoch, version in missing:
                        pipe.set(key, b"%s:%s:%d" % (epoch, version, result[external_id]), ex=self._ttl(self.count_ttl))
                    await pipe.execute()
                await self.gate.call(store)
        if local is not None and found is not None:
            local.put_counts(site_id, result, generation)
        # in the order asked, as the first level gives them: the same answer, and tag, on every path
        return {external_id: result[external_id] for external_id in external_ids}

    def _count_calls(self, site_id: str, external_ids: list[str]) -> list[tuple[list[str], list[Any], list[str]]]:
        """lua/read_counts.lua's calls for these articles: (keys, args, their ids). One Redis: one
        call; a cluster: one call per bucket (a script's keys must share one slot)."""
        args: list[Any] = [self._seed(), self.version_ttl, self.read_ttl]
        ids = list(dict.fromkeys(external_ids))
        if not self.cluster:
            keys = [f"{self.prefix}epoch"]
            for external_id in ids:
                article = article_key(site_id, external_id)
                keys += [f"{self.prefix}v:{article}", f"{self.prefix}count:{article}"]
            return [(keys, args, ids)]
        by_bucket: dict[str, tuple[list[str], list[Any], list[str]]] = {}
        for external_id in ids:
            article = article_key(site_id, external_id)
            call = by_bucket.get(article[:7])
            if call is None:
                call = by_bucket[article[:7]] = ([self.epoch_key(article)], args, [])
            call[0].extend((f"{self.prefix}v:{article}", f"{self.prefix}count:{article}"))
            call[2].append(external_id)
        return list(by_bucket.values())

    # live updates
    def channel(self, site_id: str, external_id: str) -> str:
        return f"{self.prefix}live:{site_id}:{external_id}"


def _stored_header(header: Header) -> bytes:
    # the version goes with the header, so that a process can tell which of two is newer
    return b"%d\x00%s" % (header.version, header.body)


def _header(stored: bytes) -> Header:
    version, _, body = stored.partition(b"\x00")
    return Header(body=body, version=int(version))


def _s(value: bytes | str | int) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
