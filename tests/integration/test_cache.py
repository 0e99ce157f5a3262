"""The read cache through HTTP against the real app, Redis and PostgreSQL.

What must hold: once a write's response is back, no reader gets a page or a count from before it;
concurrent misses for one page cost one database load; TTLs are spread; a reader's own pending
comments reach that reader only and never the shared cached page.
"""

from __future__ import annotations

import asyncio
import secrets

import pytest
import redis.asyncio as aioredis

from comments_service.db import articles as article_repo
from tests.conftest import article_body


# correctness, not timeouts, is tested here: a generous Redis timeout keeps a loaded machine from
# tripping the gate (which would turn reads into misses and hide what these tests look at)
SLOW_OK = {"COMMENTS_REDIS_TIMEOUT": "2"}


@pytest.fixture(scope="module")
async def live(serve):
    async with serve(**SLOW_OK) as running:
        yield running


@pytest.fixture(scope="module")
async def client(live):
    async with live.http() as http:
        yield http


@pytest.fixture
def services(live):
    return live.services


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


async def test_no_stale_page_after_publish_edit_vote_delete(client, services, site):
    article = new_article()
    first = await post(client, site, article, "first")
    await warm(client, services, site, article)

    second = await post(client, site, article, "second", sub="reader-2")
    body = await page(client, site, article)
    assert set(by_id(body)) == {first["id"], second["id"]}
    assert body["article"]["comment_count"] == 2

    reply = await post(client, site, article, "a reply", sub="reader-2", parent_id=first["id"])
    assert by_id(await page(client, site, article))[reply["id"]]["parent_id"] == first["id"]

    await warm(client, services, site, article)
    edited = await client.patch(f"/api/v1/comments/{first['id']}", params=site.q(), json={"body": "first, edited"},
                                headers=site.auth(site.sso_token(sub="reader-1")))
    assert edited.status_code == 200, edited.text
    assert "first, edited" in by_id(await page(client, site, article))[first["id"]]["body_html"]

    await warm(client, services, site, article)
    voted = await client.post(f"/api/v1/comments/{first['id']}/votes", params=site.q(), json={"value": 1},
                              headers=site.auth(site.sso_token(sub="reader-3")))
    assert voted.status_code == 200, voted.text
    assert by_id(await page(client, site, article))[first["id"]]["score"] == 1

    await warm(client, services, site, article)
    deleted = await client.delete(f"/api/v1/comments/{second['id']}", params=site.q(),
                                  headers=site.auth(site.sso_token(sub="reader-2")))
    assert deleted.status_code == 204, deleted.text
    body = await page(client, site, article)
    assert second["id"] not in by_id(body)
    assert body["article"]["comment_count"] == 2  # first and the reply


async def test_counts_follow_writes(client, services, site):
    article = new_article()
    other = new_article()

    async def counts() -> dict:
        response = await client.post("/api/v1/counts", params=site.q(), json={"article_ids": [article, other]})
        assert response.status_code == 200, response.text
        return response.json()["counts"]

    assert await counts() == {article: 0, other: 0}
    assert await counts() == {article: 0, other: 0}  # now cached
    mine = await post(client, site, article, "counted")
    assert await counts() == {article: 1, other: 0}
    await post(client, site, article, "counted too", sub="reader-2")
    assert await counts() == {article: 2, other: 0}
    await client.delete(f"/api/v1/comments/{mine['id']}", params=site.q(),
                        headers=site.auth(site.sso_token(sub="reader-1")))
    assert await counts() == {article: 1, other: 0}


async def test_count_loaded_before_a_write_is_never_served_after_it(client, services, site, db):
    """The race: a reader reads a count from PostgreSQL, a write commits and invalidates, then the
    reader stores what it read. Count keys carry the article version read before the load, so the
    late store lands under a retired version."""
    article = new_article()
    await post(client, site, article, "one")
    loaded = asyncio.Event()
    release = asyncio.Event()

    async def slow_load(missing: list[str]) -> dict[str, int]:
        counts = await article_repo.counts(db, site.id, missing)
        loaded.set()
        await release.wait()  # the write below commits and bumps while this reader holds an old count
        return counts

    reader = asyncio.create_task(services.cache.get_counts(site.id, [article], slow_load))
    await loaded.wait()
    await post(client, site, article, "two", sub="reader-2")
    release.set()
    assert await reader == {article: 1}  # that reader's own answer predates the write: fine

    response = await client.post("/api/v1/counts", params=site.q(), json={"article_ids": [article]})
    assert response.json()["counts"] == {article: 2}
    response = await client.post("/api/v1/counts", params=site.q(), json={"article_ids": [article]})
    assert response.json()["counts"] == {article: 2}


async def test_concurrent_misses_share_one_database_load(client, services, site, monkeypatch):
    article = new_article()
    await post(client, site, article, "popular")
    comments = services.comments
    real_load = comments._load_thread
    loads = 0
    release = asyncio.Event()

    async def counting_load(*args, **kwargs):
        nonlocal loads
        loads += 1
        await release.wait()  # hold the refill open until every request has missed
        return await real_load(*args, **kwargs)

    monkeypatch.setattr(comments, "_load_thread", counting_load)
    n = 25
    misses = services.cache.stats.misses
    tasks = [asyncio.create_task(page(client, site, article)) for _ in range(n)]
    for _ in range(1000):
        if services.cache.stats.misses - misses >= n or all(t.done() for t in tasks):
            break
        await asyncio.sleep(0.01)
    release.set()
    bodies = await asyncio.gather(*tasks)
    assert services.cache.stats.misses - misses == n
    assert loads == 1
    assert all(b == bodies[0] for b in bodies)
    assert ["popular" in c["body_html"] for c in bodies[0]["comments"]] == [True]


async def test_ttls_are_jittered(client, services, site, storage):
    article = new_article()
    await post(client, site, article, "ttl")
    for limit in range(1, 13):
        await page(client, site, article, limit=limit)
    r = aioredis.Redis.from_url(storage.redis_url)
    try:
        keys = [k async for k in r.scan_iter(match=f"{storage.redis_prefix}page:{site.id}:{article}:*")]
        ttls = [await r.ttl(k) for k in keys]
    finally:
        await r.aclose()
    assert len(keys) == 12
    base = services.cache.page_ttl
    assert all(0.8 * base - 2 <= t <= 1.2 * base for t in ttls), ttls
    assert len(set(ttls)) > 1, ttls


async def test_own_pending_comments_only_for_their_author(client, services, site, db, storage):
    article = new_article()
    await post(client, site, article, "visible to all", sub="reader-2")
    held = await post(client, site, article, "awaiting a moderator", sub="reader-1")
    # a held comment, as the moderation pipeline would leave it (invisible to others)
    await db.execute("UPDATE comments SET status = 'held' WHERE id = $1", held["id"])
    await db.execute("UPDATE articles SET comment_count = comment_count - 1 WHERE site_id = $1 AND external_id = $2",
                     site.id, article)
    await services.cache.bump(site.id, article)

    anonymous = await page(client, site, article)
    assert held["id"] not in by_id(anonymous) and anonymous["own_pending"] == []

    author = await page(client, site, article, sub="reader-1")
    assert [c["id"] for c in author["own_pending"]] == [held["id"]]
    assert author["own_pending"][0]["status"] == "held"
    assert held["id"] not in by_id(author)
    assert author["comments"] == anonymous["comments"]

    someone_else = await page(client, site, article, sub="reader-2")
    assert someone_else["own_pending"] == []
    again = await page(client, site, article)
    assert again["own_pending"] == [] and held["id"] not in by_id(again)

    r = aioredis.Redis.from_url(storage.redis_url)
    try:
        stored = [await r.get(k) async for k in r.scan_iter(match=f"{storage.redis_prefix}page:{site.id}:{article}:*")]
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


async def test_local_copy_serves_hot_pages_and_is_dropped_by_any_instance_write(client, services, site, other):
    article = new_article()
    await post(client, site, article, "one")
    async with other.http() as b:
        await warm(b, other.services, site, article)
        local_hits = other.services.cache.stats.local_hits
        assert len((await page(b, site, article))["comments"]) == 1
        assert other.services.cache.stats.local_hits == local_hits + 1, "a warm page should be read in-process"

        heard = other.services.cache.local.invalidations
        await post(client, site, article, "two", sub="reader-2")  # written through the first instance
        await until(lambda: other.services.cache.local.invalidations > heard, "the invalidation message")
        assert len((await page(b, site, article))["comments"]) == 2
        counts = await b.post("/api/v1/counts", params=site.q(), json={"article_ids": [article]})
        assert counts.json()["counts"] == {article: 2}


async def test_a_read_that_raced_a_write_is_not_kept(services, site):
    """The generation check: a page read before an invalidation is refused when stored after it."""
    local = services.cache.local
    article = new_article()
    before = local.generation
    await services.cache.bump(site.id, article)
    local.put_page(site.id, article, "oldest::20:5", b"stale", before)
    assert local.page(site.id, article, "oldest::20:5") is None
    local.put_page(site.id, article, "oldest::20:5", b"fresh", local.generation)
    assert local.page(site.id, article, "oldest::20:5") == b"fresh"


async def test_concurrent_writes_and_reads_never_lose_a_write(client, services, site, other):
    """Writers post while readers hammer the same page on two instances: each writer's own next read
    shows its comment (same instance), and once the invalidations have arrived both instances agree
    with PostgreSQL."""
    article = new_article()
    await post(client, site, article, "seed")
    stop = asyncio.Event()

    async def reader(http) -> int:
        reads = 0
        while not stop.is_set():
            await page(http, site, article, limit=100)
            reads += 1
        return reads

    async def writer(i: int) -> None:
        for j in range(4):
            mine = await post(client, site, article, f"w{i}-{j}", sub=f"writer-{i}")
            assert mine["id"] in by_id(await page(client, site, article, limit=100)), "read-your-write failed"

    async with other.http() as b:
        readers = [asyncio.create_task(reader(h)) for h in (client, client, b, b)]
        await asyncio.gather(*(writer(i) for i in range(6)))
        stop.set()
        assert all(n > 0 for n in await asyncio.gather(*readers))
        heard = other.services.cache.local.invalidations
        await post(client, site, article, "last", sub="writer-last")
        await until(lambda: other.services.cache.local.invalidations > heard, "the last invalidation")
        expected = 1 + 6 * 4 + 1
        for http in (client, b):
            body = await page(http, site, article, limit=100)
            assert len(body["comments"]) == expected and body["article"]["comment_count"] == expected
            counts = await http.post("/api/v1/counts", params=site.q(), json={"article_ids": [article]})
            assert counts.json()["counts"] == {article: expected}
