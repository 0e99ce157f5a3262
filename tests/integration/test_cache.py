"""The read cache through HTTP against the real app, Redis and PostgreSQL.

What must hold: once a write's response is back, no reader gets a page or a count from before it;
concurrent misses for one page cost one database load; TTLs are spread and every key expires; a
reader's own pending comments reach that reader only and never the shared cached page.

The app under test runs behind uvicorn in the test's loop (``live``), so that the test can watch its
cache (``live.services.cache``: its statistics, its in-process first level, its TTLs in Redis). What
PostgreSQL holds now is read through the same app without Redis (``uncached``), which has no cache
and answers every read as a miss does.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
import redis.asyncio as aioredis

from comments_service.db import articles as article_repo
from comments_service.db import comments as comment_repo
from comments_service.domain.page_parts import Header
from comments_service.local_cache import LocalCache
from comments_service.redis_cluster import article_key
from tests.support.apps import other_app
from tests.support.seeding import seed_comment
from tests.support.sites import article_body
from tests.support.tokens import bearer, staff_token

# correctness, not timeouts, is tested here: a generous Redis timeout keeps a loaded machine from
# tripping the gate (which would turn reads into misses and hide what these tests look at)
SLOW_OK = {"COMMENTS_REDIS_TIMEOUT": "2"}


@pytest.fixture(scope="module")
async def live(serve):
    async with serve(**SLOW_OK) as running:
        yield running


@pytest.fixture(scope="module")
async def http(live):
    async with live.http() as client:
        yield client


@pytest.fixture(scope="module")
async def uncached(storage, database):
    """The same app without Redis: no cache at all, every page read from PostgreSQL and encoded as a
    cache miss encodes it."""
    async with other_app(storage, COMMENTS_REDIS_URL="") as client:
        yield client


def new_article() -> str:
    return "art-" + secrets.token_hex(4)


async def post(client, site, article: str, text: str, *, sub: str = "reader-1", **extra) -> dict:
    response = await client.post(f"/api/v1/articles/{article}/comments", params=site.q(),
                                 json=article_body(text, **extra), headers=site.auth(site.sso_token(sub=sub)))
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "published"
    return response.json()["comment"]


async def page(client, site, article: str, *, sub: str | None = None, **params) -> dict:
    headers = site.auth(site.sso_token(sub=sub)) if sub else {}
    response = await client.get(f"/api/v1/articles/{article}/comments", params=site.q(**params), headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def warm(client, services, site, article: str) -> dict:
    """Read a page twice; the second read must come from the cache, so a later read is a real test."""
    await page(client, site, article)
    for _ in range(50):
        hits = services.cache.stats.hits
        body = await page(client, site, article)
        if services.cache.stats.hits > hits:
            return body
        await asyncio.sleep(0.05)
    raise AssertionError("reads of an unchanged page should come from the cache")


def by_id(body: dict) -> dict[int, dict]:
    found: dict[int, dict] = {}

    def walk(views):
        for view in views:
            found[view["id"]] = view
            walk(view["replies"])

    walk(body["comments"])
    return found


def count_page_loads(monkeypatch, cache, hold: asyncio.Event | None = None):
    """Count the page loads from PostgreSQL: the ``load`` a reader hands to ``cache.get_page``,
    which the cache calls only for what it lacks. ``hold``: each load waits for it before reading.
    Returns a function that says how many loads began."""
    loads = 0
    get_page = cache.get_page

    async def counting_get_page(site_id, article, suffix, load, load_header):
        async def counted_load():
            nonlocal loads
            loads += 1
            if hold is not None:
                await hold.wait()
            return await load()

        return await get_page(site_id, article, suffix, counted_load, load_header)

    monkeypatch.setattr(cache, "get_page", counting_get_page)
    return lambda: loads


async def test_no_stale_page_after_publish_edit_vote_delete(http, live, site):
    article = new_article()
    first = await post(http, site, article, "first")
    await warm(http, live.services, site, article)

    second = await post(http, site, article, "second", sub="reader-2")
    body = await page(http, site, article)
    assert set(by_id(body)) == {first["id"], second["id"]}
    assert body["article"]["comment_count"] == 2

    reply = await post(http, site, article, "a reply", sub="reader-2", parent_id=first["id"])
    assert by_id(await page(http, site, article))[reply["id"]]["parent_id"] == first["id"]

    await warm(http, live.services, site, article)
    edited = await http.patch(f"/api/v1/comments/{first['id']}", params=site.q(), json={"body": "first, edited"},
                                headers=site.auth(site.sso_token(sub="reader-1")))
    assert edited.status_code == 200, edited.text
    assert "first, edited" in by_id(await page(http, site, article))[first["id"]]["body_html"]

    await warm(http, live.services, site, article)
    voted = await http.post(f"/api/v1/comments/{first['id']}/votes", params=site.q(), json={"value": 1},
                              headers=site.auth(site.sso_token(sub="reader-3")))
    assert voted.status_code == 200, voted.text
    assert by_id(await page(http, site, article))[first["id"]]["score"] == 1

    await warm(http, live.services, site, article)
    deleted = await http.delete(f"/api/v1/comments/{second['id']}", params=site.q(),
                                  headers=site.auth(site.sso_token(sub="reader-2")))
    assert deleted.status_code == 204, deleted.text
    body = await page(http, site, article)
    assert second["id"] not in by_id(body)
    assert body["article"]["comment_count"] == 2  # first and the reply


async def test_counts_follow_writes(http, live, site):
    article = new_article()
    other = new_article()

    async def counts() -> dict:
        response = await http.post("/api/v1/counts", params=site.q(), json={"article_ids": [article, other]})
        assert response.status_code == 200, response.text
        return response.json()["counts"]

    assert await counts() == {article: 0, other: 0}
    assert await counts() == {article: 0, other: 0}  # now cached
    mine = await post(http, site, article, "counted")
    assert await counts() == {article: 1, other: 0}
    await post(http, site, article, "counted too", sub="reader-2")
    assert await counts() == {article: 2, other: 0}
    await http.delete(f"/api/v1/comments/{mine['id']}", params=site.q(),
                        headers=site.auth(site.sso_token(sub="reader-1")))
    assert await counts() == {article: 1, other: 0}


async def test_count_loaded_before_a_write_is_never_served_after_it(http, live, site, db):
    """The race: a reader reads a count from PostgreSQL, a write commits and invalidates, then the
    reader stores what it read. Count keys carry the article version read before the load, so the
    late store lands under a retired version."""
    article = new_article()
    await post(http, site, article, "one")
    loaded = asyncio.Event()
    release = asyncio.Event()

    async def slow_load(missing: list[str]) -> dict[str, int]:
        counts = await article_repo.counts(db, site.id, missing)
        loaded.set()
        await release.wait()  # the write below commits and bumps while this reader holds an old count
        return counts

    reader = asyncio.create_task(live.services.cache.get_counts(site.id, [article], slow_load))
    await loaded.wait()
    await post(http, site, article, "two", sub="reader-2")
    release.set()
    assert await reader == {article: 1}  # that reader's own answer predates the write: fine

    response = await http.post("/api/v1/counts", params=site.q(), json={"article_ids": [article]})
    assert response.json()["counts"] == {article: 2}
    response = await http.post("/api/v1/counts", params=site.q(), json={"article_ids": [article]})
    assert response.json()["counts"] == {article: 2}


async def test_concurrent_misses_share_one_database_load(http, live, site, monkeypatch):
    article = new_article()
    await post(http, site, article, "popular")
    release = asyncio.Event()  # holds the refill open until every request has missed
    loads = count_page_loads(monkeypatch, live.services.cache, hold=release)
    n = 25
    misses = live.services.cache.stats.misses
    tasks = [asyncio.create_task(page(http, site, article)) for _ in range(n)]
    for _ in range(1000):
        if live.services.cache.stats.misses - misses >= n or all(t.done() for t in tasks):
            break
        await asyncio.sleep(0.01)
    release.set()
    bodies = await asyncio.gather(*tasks)
    assert live.services.cache.stats.misses - misses == n
    assert loads() == 1
    assert all(b == bodies[0] for b in bodies)
    assert ["popular" in c["body_html"] for c in bodies[0]["comments"]] == [True]


async def test_ttls_are_jittered(http, live, site, storage):
    article = new_article()
    await post(http, site, article, "ttl")
    for limit in range(1, 13):
        await page(http, site, article, limit=limit)
    r = aioredis.Redis.from_url(storage.redis_url)
    try:
        keys = [k async for k in r.scan_iter(match=page_pattern(live.services.cache, site, article))]
        ttls = [await r.ttl(k) for k in keys]
    finally:
        await r.aclose()
    assert len(keys) == 12 + 1  # a tail per page size, and the article header they share
    assert sum(k.endswith(b":h") for k in keys) == 1
    base = live.services.cache.page_ttl
    assert all(0.8 * base - 2 <= t <= 1.2 * base for t in ttls), ttls
    assert len(set(ttls)) > 1, ttls


def page_pattern(cache, site, article: str) -> str:
    """A SCAN pattern for every page key of an article (its header and a tail per page)."""
    return cache.header_key(site.id, article).removesuffix(":h") + ":*"


def version_keys(cache, site, article: str) -> list[str]:
    """The keys a page's versions live under in Redis, as every process and the Lua scripts name them
    (cache.py, lua/read_page.lua): the epoch read with the article, its version, its structure version."""
    return [cache.epoch_key(cache.article_key(site.id, article)), cache.version_key(site.id, article),
            cache.structure_key(site.id, article)]


async def test_versions_expire_and_come_back_larger(http, live, site, storage):
    """Any reader can make version keys exist (by naming an article), so every one of them expires:
    those that reads alone made about when what is cached under them does, while read; a write's
    bump gives them the long TTL. A version that is gone comes back above every number it held, so
    pages cached under those numbers never match again."""
    article = new_article()
    cache = live.services.cache
    assert cache.read_ttl == max(cache.page_ttl, cache.count_ttl) < cache.version_ttl
    keys = version_keys(cache, site, article)
    r = aioredis.Redis.from_url(storage.redis_url)
    try:
        await page(http, site, article)  # an article nobody wrote: the read creates its versions
        assert 0 < await r.ttl(keys[0]) <= cache.version_ttl
        for key in keys[1:]:
            assert 0 < await r.ttl(key) <= cache.read_ttl, key
        await r.expire(keys[1], 5)  # most of its time gone: the next read (its first count) renews it
        response = await http.post("/api/v1/counts", params=site.q(), json={"article_ids": [article]})
        assert response.status_code == 200, response.text
        assert cache.read_ttl - 5 <= await r.ttl(keys[1]) <= cache.read_ttl
        await post(http, site, article, "first")
        await warm(http, live.services, site, article)
        first = int(await r.get(keys[1]))
        await post(http, site, article, "second")  # the page cached under `first` is stale now
        # long, yet expiring (appends leave the structure version alone: it still lives by reads)
        assert cache.read_ttl < await r.ttl(keys[1]) <= cache.version_ttl
        assert 0 < await r.ttl(keys[2]) <= cache.read_ttl
        # a read (the count: the write dropped this process's copy of it) does not cut it short
        response = await http.post("/api/v1/counts", params=site.q(), json={"article_ids": [article]})
        assert response.json()["counts"] == {article: 2}, response.text
        assert cache.read_ttl < await r.ttl(keys[1])
        await r.delete(*keys[1:])  # as their expiry would
        body = await page(http, site, article)
        assert len(body["comments"]) == 2, body
        assert int(await r.get(keys[1])) > first + 1
        assert 0 < await r.ttl(keys[1]) <= cache.read_ttl
    finally:
        await r.aclose()


async def test_own_pending_comments_only_for_their_author(http, live, site, db, storage):
    article = new_article()
    await post(http, site, article, "visible to all", sub="reader-2")
    held = await post(http, site, article, "awaiting a moderator", sub="reader-1")
    # a held comment, as the moderation pipeline would leave it (invisible to others)
    await db.execute("UPDATE comments SET status = 'held' WHERE id = $1", held["id"])
    await db.execute("UPDATE articles SET comment_count = comment_count - 1 WHERE site_id = $1 AND external_id = $2",
                     site.id, article)
    await live.services.cache.bump(site.id, article)

    anonymous = await page(http, site, article)
    assert held["id"] not in by_id(anonymous) and anonymous["own_pending"] == []

    author = await page(http, site, article, sub="reader-1")
    assert [c["id"] for c in author["own_pending"]] == [held["id"]]
    assert author["own_pending"][0]["status"] == "held"
    assert held["id"] not in by_id(author)
    assert author["comments"] == anonymous["comments"]

    someone_else = await page(http, site, article, sub="reader-2")
    assert someone_else["own_pending"] == []
    again = await page(http, site, article)
    assert again["own_pending"] == [] and held["id"] not in by_id(again)

    r = aioredis.Redis.from_url(storage.redis_url)
    try:
        stored = [await r.get(k) async for k in r.scan_iter(match=page_pattern(live.services.cache, site, article))]
    finally:
        await r.aclose()
    assert stored and all(b"awaiting a moderator" not in s for s in stored)


# ---------------------------------------------------------------- the in-process first level
async def until(predicate, what: str, seconds: float = 20.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
async def other(serve, live):
    """A second API process' worth of app (own in-process cache, own subscription), same Redis and DB."""
    async with serve(**SLOW_OK) as running:
        await until(lambda: running.services.cache.local.connected and live.services.cache.local.connected,
                    "both invalidation subscriptions")
        yield running


async def test_local_copy_serves_hot_pages_and_is_dropped_by_any_instance_write(http, live, site, other):
    article = new_article()
    await post(http, site, article, "one")
    async with other.http() as b:
        await warm(b, other.services, site, article)
        local_hits = other.services.cache.stats.local_hits
        assert len((await page(b, site, article))["comments"]) == 1
        assert other.services.cache.stats.local_hits == local_hits + 1, "a warm page should be read in-process"

        heard = other.services.cache.local.invalidations
        await post(http, site, article, "two", sub="reader-2")  # written through the first instance
        await until(lambda: other.services.cache.local.invalidations > heard, "the invalidation message")
        assert len((await page(b, site, article))["comments"]) == 2
        counts = await b.post("/api/v1/counts", params=site.q(), json={"article_ids": [article]})
        assert counts.json()["counts"] == {article: 2}


async def test_the_writer_passes_over_its_own_append_when_it_comes_back(live, site):
    """A writer applies its append at once (the header it hands over); the same message coming back
    on the channel must not drop the page joined since, nor refuse the refills begun since. Any
    other change's message is applied again as it comes."""
    local, cache = live.services.cache.local, live.services.cache
    article = new_article()
    heard, echoes = local.invalidations, local.own_echoes
    await cache.bump(site.id, article, appended=Header(b'{"n":7}', 7))
    generation = local.generation
    assert local.invalidations == heard + 1  # applied at once, by the writer itself
    await until(lambda: local.own_echoes > echoes, "the append's own message")
    assert local.generation == generation and local.invalidations == heard + 1
    # an append announced by anyone else (another version) is applied
    await cache.gate.client.publish(local.channel, LocalCache.message(site.id, article, Header(b'{"n":8}', 8)))
    await until(lambda: local.invalidations == heard + 2, "another process's append")
    # a change that is not an append comes back and is applied a second time
    await cache.bump(site.id, article)
    await until(lambda: local.invalidations == heard + 4, "the change's own message")
    assert local.own_echoes == echoes + 1


async def test_a_read_that_raced_a_write_is_not_kept(live, site):
    """The generation checks: parts read before an invalidation are refused when stored after it,
    except a lasting tail after an append, which an append cannot have changed. And the article
    header an append's writer hands over replaces the copy only when it is the newest known."""
    local = live.services.cache.local
    article, lasting, other = new_article(), "oldest::20:5", "newest::20:5"

    async def bump(appended: Header | None = None) -> None:
        # this process drops its copy at once, then hears its own message come back (applied again,
        # or passed over for an append): wait for that too, so that it cannot land in the middle of
        # what follows
        heard = local.invalidations + local.own_echoes
        await live.services.cache.bump(site.id, article, appended=appended)
        await until(lambda: local.invalidations + local.own_echoes >= heard + 2, "the invalidation message")

    generation, structure = local.generation, local.structure
    await bump()  # any change but an append
    local.put_header(site.id, article, Header(b'{"n":1}', 1), generation)
    local.put_tail(site.id, article, lasting, b"[1]}", True, generation, structure)
    local.put_tail(site.id, article, other, b"[1]}", False, generation, structure)
    assert local.tail(site.id, article, lasting) is None and local.tail(site.id, article, other) is None

    generation, structure = local.generation, local.structure
    await bump(Header(b'{"n":2}', 2))  # an append, while nothing of the article was known here
    local.put_header(site.id, article, Header(b'{"n":1}', 1), generation)
    local.put_tail(site.id, article, lasting, b"[1]}", True, generation, structure)
    local.put_tail(site.id, article, other, b"[1]}", False, generation, structure)
    assert local.tail(site.id, article, lasting) == b"[1]}" and local.tail(site.id, article, other) is None
    assert local.page(site.id, article, lasting) is None  # the header read before the append was refused
    local.put_header(site.id, article, Header(b'{"n":2}', 2), local.generation)
    assert local.page(site.id, article, lasting).body == b'{"article":{"n":2},[1]}'

    await bump(Header(b'{"n":3}', 3))  # the next append hands its header over: no refill
    assert local.page(site.id, article, lasting).body == b'{"article":{"n":3},[1]}'
    local.invalidate(site.id, article, False, Header(b'{"n":2}', 2))  # older news, arriving late
    local.put_header(site.id, article, Header(b'{"n":2}', 2), local.generation)  # or an older read
    assert local.page(site.id, article, lasting).body == b'{"article":{"n":3},[1]}'
    live.services.cache.forget_local(site.id, article, False)  # an append whose version is not known
    assert local.page(site.id, article, lasting) is None and local.tail(site.id, article, lasting) == b"[1]}"
    local.invalidate(site.id, article, False, Header(b'{"n":9}', 9))  # not taken: the current one is unknown
    assert local.page(site.id, article, lasting) is None
    local.put_header(site.id, article, Header(b'{"n":4}', 4), local.generation)
    assert local.page(site.id, article, lasting).body == b'{"article":{"n":4},[1]}'
    await bump()
    assert local.tail(site.id, article, lasting) is None and local.page(site.id, article, lasting) is None


def test_the_count_of_kept_tails_follows_every_drop(live, site):
    """What bounds the first level's size: one per tail held, whatever drops them."""
    local = live.services.cache.local
    article, before = new_article(), local.tails_held
    g, st = local.generation, local.structure
    for suffix, lasting in (("oldest::5:5", True), ("newest::5:5", False), ("top::5:5", False)):
        local.put_tail(site.id, article, suffix, b"[]}", lasting, g, st)
    local.put_tail(site.id, article, "oldest::5:5", b"[]}", True, g, st)  # the same page again
    assert local.tails_held == before + 3
    local.invalidate(site.id, article, False, None, None)  # an append keeps the lasting tail only
    assert local.tails_held == before + 1
    local.invalidate(site.id, article)  # any other change drops it too
    assert local.tails_held == before


async def test_concurrent_writes_and_reads_never_lose_a_write(http, live, site, other):
    """Writers post while readers hammer the same page on two instances: each writer's own next read
    shows its comment (same instance), and once the invalidations have arrived both instances agree
    with PostgreSQL."""
    article = new_article()
    await post(http, site, article, "seed")
    stop = asyncio.Event()

    async def reader(http) -> int:
        reads = 0
        while not stop.is_set():
            await page(http, site, article, limit=100)
            reads += 1
        return reads

    async def writer(i: int) -> None:
        for j in range(4):
            mine = await post(http, site, article, f"w{i}-{j}", sub=f"writer-{i}")
            assert mine["id"] in by_id(await page(http, site, article, limit=100)), "read-your-write failed"

    async with other.http() as b:
        readers = [asyncio.create_task(reader(h)) for h in (http, http, b, b)]
        await asyncio.gather(*(writer(i) for i in range(6)))
        stop.set()
        assert all(n > 0 for n in await asyncio.gather(*readers))
        heard = other.services.cache.local.invalidations
        await post(http, site, article, "last", sub="writer-last")
        await until(lambda: other.services.cache.local.invalidations > heard, "the last invalidation")
        expected = 1 + 6 * 4 + 1
        for instance in (http, b):
            body = await page(instance, site, article, limit=100)
            assert len(body["comments"]) == expected and body["article"]["comment_count"] == expected
            counts = await instance.post("/api/v1/counts", params=site.q(), json={"article_ids": [article]})
            assert counts.json()["counts"] == {article: expected}


# ---------------------------------------------------------------- appends keep lasting page tails
async def raw(client, site, article: str, **params) -> bytes:
    response = await client.get(f"/api/v1/articles/{article}/comments", params=site.q(**params))
    assert response.status_code == 200, response.text
    return response.content


async def fresh(uncached, site, article: str, *, sort: str = "oldest", cursor: str | None = None,
                limit: int = 5) -> bytes:
    """The page as PostgreSQL has it now, encoded as a cache miss would: the cache-less app's answer."""
    return await raw(uncached, site, article, sort=sort, limit=limit, **({"cursor": cursor} if cursor else {}))


async def all_pages_fresh(http, uncached, site, article: str) -> int:
    """Walk every oldest-first page (and the first newest and top pages) as readers get them; each
    must be byte for byte what PostgreSQL gives now. Returns how many comments were seen."""
    seen, cursor = 0, None
    while True:
        params = {"limit": 5, **({"cursor": cursor} if cursor else {})}
        body = await raw(http, site, article, **params)
        assert body == await fresh(uncached, site, article, cursor=cursor), f"stale oldest page at {cursor}"
        decoded = msgspec.json.decode(body)
        seen += len(decoded["comments"])
        cursor = decoded["next_cursor"]
        if cursor is None:
            break
    for sort in ("newest", "top"):
        assert await raw(http, site, article, sort=sort, limit=5) == await fresh(uncached, site, article, sort=sort)
    return seen


async def seed_old_roots(services, db, site, article: str, n: int, **extra) -> list:
    """Published top-level comments from an hour ago, a minute apart (through the publication's own
    count update, so the article's last_root_at is theirs)."""
    start = datetime.now(UTC) - timedelta(hours=1)
    return [await seed_comment(services, db, site.id, article=article, status="published", reason=None,
                               body=f"root {i}", created_at=start + timedelta(minutes=i), **extra) for i in range(n)]


async def lasting_tails(storage, site, article: str) -> list[bytes]:
    """The article's page tails stored as lasting: under the structure version ("{epoch}:s{n}")."""
    prefix = f"{storage.redis_prefix}page:{article_key(site.id, article)}:t:"
    r = aioredis.Redis.from_url(storage.redis_url)
    try:
        keys = [k async for k in r.scan_iter(match=prefix + "*")]
        return [k for k in keys if re.match(rb"\d+:s\d+\n", await r.get(k) or b"")]
    finally:
        await r.aclose()


async def test_an_append_keeps_earlier_pages_and_refills_only_their_header(http, live, uncached, site, db, storage,
                                                                           monkeypatch):
    article = new_article()
    roots = await seed_old_roots(live.services, db, site, article, 7)
    first = await raw(http, site, article, limit=5)  # 5 of 7, long before the newest: no append reaches it
    second_cursor = msgspec.json.decode(first)["next_cursor"]
    await raw(http, site, article, limit=5, cursor=second_cursor)
    assert len(await lasting_tails(storage, site, article)) == 1  # the first page's; the last page is not

    loads = count_page_loads(monkeypatch, live.services.cache)
    appended = await post(http, site, article, "breaking: the troops are back", sub="r-new")
    refills = live.services.cache.stats.refills
    body = await raw(http, site, article, limit=5)
    assert loads() == 0, "the first page's comments should have been kept"
    assert live.services.cache.stats.refills == refills, "the writer handed its header over: nothing to read again"
    assert body == await fresh(uncached, site, article)
    decoded, before = msgspec.json.decode(body), msgspec.json.decode(first)
    assert decoded["article"]["comment_count"] == before["article"]["comment_count"] + 1 == 8
    assert decoded["comments"] == before["comments"] and decoded["next_cursor"] == before["next_cursor"]

    last = msgspec.json.decode(await raw(http, site, article, limit=5, cursor=second_cursor))
    assert [c["id"] for c in last["comments"]] == [roots[5].id, roots[6].id, appended["id"]]
    newest = msgspec.json.decode(await raw(http, site, article, sort="newest", limit=5))
    assert newest["comments"][0]["id"] == appended["id"]
    assert loads() == 2  # the last page and the newest page, which an append changes
    assert await all_pages_fresh(http, uncached, site, article) == 8


async def test_publications_that_are_not_appends_retire_earlier_pages(http, live, uncached, site, db, storage):
    article = new_article()
    older, *later = await seed_old_roots(live.services, db, site, article, 8)
    # held since just after the first comment: approving it publishes it second, not at the end
    held = await seed_comment(live.services, db, site.id, article=article,
                              created_at=older.created_at + timedelta(seconds=1))
    mod = bearer(await staff_token(db, "moderator", site.id))
    target = later[0].id  # second on the first page
    reply: dict = {}

    async def post_reply():
        response = await http.post(f"/api/v1/articles/{article}/comments", params=site.q(),
                                     json=article_body("a reply", parent_id=target),
                                     headers=site.auth(site.sso_token(sub="replier")))
        reply.update(response.json().get("comment", {}))
        return response

    replier = site.auth(site.sso_token(sub="replier"))
    changes = {
        "approve": lambda: http.post(f"/api/v1/moderation/comments/{held.id}/decision", params=site.q(),
                                       json={"action": "approve"}, headers=mod),
        "reply": post_reply,
        "vote": lambda: http.post(f"/api/v1/comments/{target}/votes", params=site.q(), json={"value": 1},
                                    headers=site.auth(site.sso_token(sub="voter"))),
        # the reply, shown under its parent on the first page, is recent enough to edit and delete
        "edit": lambda: http.patch(f"/api/v1/comments/{reply['id']}", params=site.q(), json={"body": "edited"},
                                     headers=replier),
        "delete": lambda: http.delete(f"/api/v1/comments/{reply['id']}", params=site.q(), headers=replier),
    }
    for name, change in changes.items():
        before = await raw(http, site, article, limit=5)
        assert await lasting_tails(storage, site, article), f"the first page should be kept across appends ({name})"
        response = await change()
        assert response.status_code < 300, (name, response.text)
        after = await raw(http, site, article, limit=5)
        assert after != before and after == await fresh(uncached, site, article), f"stale first page after {name}"
    assert [c["id"] for c in msgspec.json.decode(after)["comments"]][:3] == [older.id, held.id, target]


async def test_the_append_window(live, site, db):
    """Which publications are appends, and which pages no append can reach: last_root_at, moved at
    commit (migrations/0005), and db/articles.py."""
    article = new_article()
    window = article_repo.APPEND_WINDOW
    now = datetime.now(UTC)

    async def publish(at: datetime, parent_id: int | None = None) -> bool:
        """Publish a comment created at ``at`` (held until then, as an approval does)."""
        row = await seed_comment(live.services, db, site.id, article=article, created_at=at, parent_id=parent_id)
        await db.execute("UPDATE comments SET status = 'published' WHERE id = $1", row.id)
        [publication] = await live.services.publisher.publications(db, [await comment_repo.get(db, row.id)])
        return publication.appended

    async def last_root_at() -> datetime:
        return await db.fetchval("SELECT last_root_at FROM articles WHERE site_id = $1 AND external_id = $2",
                                 site.id, article)

    assert await publish(now)  # the first publication
    assert await last_root_at() == now
    assert await publish(now - window / 2)  # committed after a newer one, within the window
    assert await last_root_at() == now  # it never goes back
    assert not await publish(now - window * 2)  # far back (an approval of an old comment, say)
    assert await publish(now + timedelta(minutes=1))
    first = await seed_comment(live.services, db, site.id, article=article, status="published", reason=None)
    assert not await publish(now + timedelta(minutes=2), parent_id=first.id)  # a reply never is
    latest = await last_root_at()
    assert latest >= now + timedelta(minutes=1)
    assert article_repo.is_lasting(latest - window * 2, latest)
    assert not article_repo.is_lasting(latest - window / 2, latest)
    assert not article_repo.is_lasting(now, None)  # nothing published yet


async def test_appends_and_other_writes_racing_readers_on_two_instances(http, live, uncached, site, db, other):
    """Posts (appends), replies and votes race readers of every page on two instances. Each writer
    sees its own write at once (the count on the first page included, though that page's comments
    were kept); once the invalidations have arrived, every page on both instances is byte for byte
    what PostgreSQL has."""
    article = new_article()
    seeded = [{"id": row.id} for row in await seed_old_roots(live.services, db, site, article, 8)]
    stop = asyncio.Event()

    async def reader(http, **params) -> int:
        reads = 0
        while not stop.is_set():
            await raw(http, site, article, limit=5, **params)
            reads += 1
        return reads

    async def walker(http) -> int:
        walks = 0
        while not stop.is_set():
            await oldest_ids(http)
            walks += 1
        return walks

    async def oldest_ids(http) -> set[int]:
        ids, cursor = set(), None
        while True:
            params = {"cursor": cursor} if cursor else {}
            body = msgspec.json.decode(await raw(http, site, article, limit=5, **params))
            ids |= set(by_id(body))
            if not (cursor := body["next_cursor"]):
                return ids

    async def writer(i: int) -> None:
        for j in range(5):
            response = await http.post(f"/api/v1/articles/{article}/comments", params=site.q(),
                                         json=article_body(f"w{i}-{j}"), headers=site.auth(site.sso_token(sub=f"w{i}")))
            assert response.status_code == 201, response.text
            posted = response.json()
            front = msgspec.json.decode(await raw(http, site, article, limit=5))
            assert front["article"]["comment_count"] >= posted["article"]["comment_count"], "stale header"
            newest = msgspec.json.decode(await raw(http, site, article, sort="newest", limit=50))
            assert posted["comment"]["id"] in [c["id"] for c in newest["comments"]], "read-your-write failed"
            assert posted["comment"]["id"] in await oldest_ids(http), "read-your-write failed (oldest first)"

    async def replier(i: int) -> None:
        for j in range(4):
            target = seeded[(i + j) % 4]["id"]  # on the first page
            response = await http.post(f"/api/v1/articles/{article}/comments", params=site.q(),
                                         json=article_body(f"re{i}-{j}", parent_id=target),
                                         headers=site.auth(site.sso_token(sub=f"re{i}")))
            assert response.status_code == 201, response.text
            front = msgspec.json.decode(await raw(http, site, article, limit=5))
            assert response.json()["comment"]["id"] in by_id(front), "a reply missing from the first page"

    async def voter(i: int) -> None:
        for j in range(4):
            target = seeded[j]["id"]
            response = await http.post(f"/api/v1/comments/{target}/votes", params=site.q(), json={"value": 1},
                                         headers=site.auth(site.sso_token(sub=f"v{i}")))
            assert response.status_code == 200, response.text
            shown = by_id(msgspec.json.decode(await raw(http, site, article, limit=5)))[target]
            assert shown["score"] >= response.json()["score"], "a vote missing from the first page"

    async with other.http() as b:
        readers = [asyncio.create_task(reader(h, **p)) for h in (http, b)
                   for p in ({}, {"sort": "newest"}, {"sort": "top"})]
        readers += [asyncio.create_task(walker(h)) for h in (http, b)]
        try:
            await asyncio.gather(*(writer(i) for i in range(4)), *(replier(i) for i in range(2)),
                                 *(voter(i) for i in range(3)))
        finally:
            stop.set()
            done = await asyncio.gather(*readers, return_exceptions=True)
        assert all(isinstance(n, int) and n > 0 for n in done), done
        heard = other.services.cache.local.invalidations
        await post(http, site, article, "last", sub="writer-last")
        await until(lambda: other.services.cache.local.invalidations > heard, "the last invalidation")
        expected_roots = 8 + 4 * 5 + 1
        for instance in (http, b):
            assert await all_pages_fresh(instance, uncached, site, article) >= expected_roots
