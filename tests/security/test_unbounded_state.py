"""Public reads create no unbounded state: a reader names any article id it likes, so nothing such a
read writes to Redis may outlive a cached page (but the one epoch key), the process's own copy
makes room by dropping what nobody asked for lately, and /counts is bounded per request and per
address.

The servers run on their own Redis prefix, so the keys they create can be counted exactly while
other tests share the Redis database (DBSIZE would count theirs too).
"""

from __future__ import annotations

import asyncio
import secrets
import time

import redis.asyncio as aioredis

from tests.support.sites import make_site

READS = 10_000
PAGE_READS = 100  # of READS, read as thread pages; the rest through /counts
BATCH = 200  # the most ids one /counts request may name
# the page and count TTLs, and so the life of a version key that a read created: long enough that
# the first of READS is still there when the last is made on a slow or loaded machine, and short of
# 6 s: the cache's spread of a TTL (+20%, cut to whole seconds: cache.Cache._ttl) then never passes it
READ_TTL = 5
VERSION_TTL = 3600  # a written article's version keys: reads of made-up ids must never get this


def tiny_ttls_env(storage, counts_limit: str) -> dict[str, str]:
    """A server whose keys all expire within seconds, on a prefix of its own."""
    limits = storage.env()["COMMENTS_RATE_LIMITS"] + f",counts.ip={counts_limit}"
    return {"COMMENTS_REDIS_PREFIX": f"{storage.redis_prefix}unbounded{secrets.token_hex(3)}:",
            "COMMENTS_RATE_LIMITS": limits, "COMMENTS_REDIS_PAGE_TTL": str(READ_TTL),
            "COMMENTS_REDIS_COUNT_TTL": str(READ_TTL),
            "COMMENTS_REDIS_VERSION_TTL": str(VERSION_TTL),
            # a loaded machine must not trip the Redis gate: reads would skip Redis and test nothing
            "COMMENTS_REDIS_TIMEOUT": "2"}


async def keys_with_ttl(r: aioredis.Redis, prefix: str) -> dict[bytes, int]:
    """Every key under ``prefix`` with its PTTL (-1: no expiry; -2: gone since the scan)."""
    keys = [key async for key in r.scan_iter(match=f"{prefix}*", count=1000)]
    pipe = r.pipeline(transaction=False)
    for key in keys:
        pipe.pttl(key)
    return dict(zip(keys, await pipe.execute(), strict=True))


async def memory_used(r: aioredis.Redis, keys) -> int:
    pipe = r.pipeline(transaction=False)
    for key in keys:
        pipe.memory_usage(key)
    return sum(used or 0 for used in await pipe.execute())


async def test_reading_made_up_articles_leaves_nothing_behind(serve, storage, services, db):
    site = await make_site(services, db)
    env = tiny_ttls_env(storage, "0.001:1000000")  # the limiter runs (and writes its keys) but admits all
    prefix = env["COMMENTS_REDIS_PREFIX"]
    ids = [f"made-up-{secrets.token_hex(8)}" for _ in range(READS)]
    r = aioredis.from_url(storage.redis_url)
    try:
        async with serve(**env) as live, live.http() as http:
            local = live.services.cache.local
            assert local is not None
            local.max_entries = 20  # small enough that the page reads below overflow it
            baseline = await keys_with_ttl(r, prefix)
            baseline_memory = await memory_used(r, baseline)

            async def counts(batch: list[str]) -> None:
                response = await http.post("/api/v1/counts", params=site.q(), json={"article_ids": batch})
                assert response.status_code == 200, response.text
                assert response.json()["counts"] == dict.fromkeys(batch, 0)

            async def page(article: str) -> None:
                response = await http.get(f"/api/v1/articles/{article}/comments", params=site.q())
                assert response.status_code == 200, response.text

            batches = [ids[i:i + BATCH] for i in range(PAGE_READS, READS, BATCH)]
            reads = [counts(batch) for batch in batches] + [page(article) for article in ids[:PAGE_READS]]
            for i in range(0, len(reads), 8):
                await asyncio.gather(*reads[i:i + 8])

            created = await keys_with_ttl(r, prefix)
            permanent = sorted(key for key, ttl in created.items() if ttl == -1)
            assert not permanent, f"{len(permanent)} of {len(created)} keys never expire, e.g. {permanent[:5]}"
            # one key, whatever the readers name, may live long: the epoch; everything else the
            # reads created (versions included) lives no longer than a cached page
            epoch = f"{prefix}epoch".encode()  # on a Redis Cluster, one per bucket: {prefix}epoch:{...}
            epochs = {key for key in created if key == epoch or key.startswith(epoch + b":")}
            lasting = sorted(key for key, ttl in created.items()
                             if key not in epochs and key not in baseline and ttl > READ_TTL * 1000)
            assert not lasting, f"{len(lasting)} of {len(created)} keys outlive a page, e.g. {lasting[:5]}"
            # at least one version key per article read, so the reads really went through Redis
            assert len(created) >= READS, len(created)
            assert await memory_used(r, created) > baseline_memory
            # the process's own copy stays within its bound too (tails plus the articles holding them)
            assert len(local._articles) <= local.max_entries + 1, len(local._articles)
            assert len(local._counts) <= local.max_entries * 10, len(local._counts)

            # with the server idle, everything the reads created but the epoch expires within READ_TTL
            deadline = time.monotonic() + READ_TTL + 10
            left = set(await keys_with_ttl(r, prefix)) - set(baseline) - epochs
            while left and time.monotonic() < deadline:
                await asyncio.sleep(0.25)
                left = set(await keys_with_ttl(r, prefix)) - set(baseline) - epochs
            assert not left, f"{len(left)} keys left, e.g. {sorted(left)[:5]}"
            assert await memory_used(r, left | set(baseline)) <= baseline_memory
    finally:
        await r.aclose()


async def test_made_up_articles_do_not_evict_hot_pages(serve, storage, services, db):
    """A reader naming ever new articles fills this process's own copy; what makes room for them
    must be what nobody asked for since, not the hot article's page and count."""
    site = await make_site(services, db)
    async with serve(**tiny_ttls_env(storage, "0.001:1000000")) as live, live.http() as http:
        stats, local = live.services.cache.stats, live.services.cache.local
        local.max_entries = 20
        local.max_age = 300.0  # only room, not age, may drop a copy here
        deadline = time.monotonic() + 10
        while not local.connected and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert local.connected

        async def page(article: str) -> None:
            response = await http.get(f"/api/v1/articles/{article}/comments", params=site.q())
            assert response.status_code == 200, response.text

        async def counts(batch: list[str]) -> None:
            response = await http.post("/api/v1/counts", params=site.q(), json={"article_ids": batch})
            assert response.status_code == 200, response.text

        async def local_hits(read) -> int:
            before = stats.local_hits
            await read
            return stats.local_hits - before

        hot = f"hot-{secrets.token_hex(4)}"
        await page(hot)
        await counts([hot])
        first = f"made-up-{secrets.token_hex(8)}"
        await page(first)
        await counts([first])
        assert (await local_hits(page(first)), await local_hits(counts([first]))) == (1, 1)
        rounds = 6
        hits = []
        for _ in range(rounds):
            # half of each bound per round: without the hot article being used in between, a few
            # rounds would push it out too
            for _ in range(local.max_entries // 2):
                await page(f"made-up-{secrets.token_hex(8)}")
            await counts([f"made-up-{secrets.token_hex(8)}" for _ in range(local.max_entries * 10 // 2)])
            hits.append((await local_hits(page(hot)), await local_hits(counts([hot]))))
        assert hits == [(1, 1)] * rounds, hits
        # the made-up ids did take the room: one read before them and not since is gone
        assert (await local_hits(page(first)), await local_hits(counts([first]))) == (0, 0)


async def test_counts_list_is_capped(client, site):
    ok = await client.post("/api/v1/counts", params=site.q(), json={"article_ids": [f"a{i}" for i in range(BATCH)]})
    assert ok.status_code == 200, ok.text
    for ids in ([f"a{i}" for i in range(BATCH + 1)], ["x" * 201]):
        response = await client.post("/api/v1/counts", params=site.q(), json={"article_ids": ids})
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "invalid_request"


async def test_counts_are_rate_limited_per_address(serve, storage, services, db):
    site = await make_site(services, db)
    async with serve(**tiny_ttls_env(storage, "60:3")) as live, live.http() as http:
        codes = []
        for i in range(5):
            response = await http.post("/api/v1/counts", params=site.q(), json={"article_ids": [f"a{i}"]})
            codes.append(response.status_code)
            if response.status_code == 429:
                assert int(response.headers["retry-after"]) >= 1
                assert response.json()["code"] == "rate_limited"
    assert codes == [200, 200, 200, 429, 429], codes
