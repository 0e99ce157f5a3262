"""The service on a real Redis Cluster (three masters, a replica each, on loopback ports: the
``redis_cluster`` fixture, tests/support/redis_cluster.py).

A cluster refuses a script whose keys span slots (CROSSSLOT), and a key a script reaches without
KEYS may live on another node: the service runs its pages, counts, bumps, limits, repeat, surge and
challenge checks on the cluster here, and any such refusal would show as a Redis error the gate
noted (``last_error``) and a cache that never hits. A master killed during reads and posts is
taken over by its replica; meanwhile reads come from PostgreSQL, every post is stored, and the
cache serves again once the cluster is whole.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import time

import pytest
import redis.asyncio as aioredis
from redis.crc import key_slot

from comments_service.cache import Cache, RedisGate
from comments_service.db.pool import create_pool
from comments_service.domain.limits import Limit
from comments_service.ratelimit import RateLimiter
from comments_service.redis_cluster import client_from_url, cluster_nodes, in_slots, slot_tag, tag
from comments_service.services.guest_challenge import GuestChallenge
from comments_service.services.surge import Surges
from comments_service.settings import RedisSettings
from tests.support.sites import article_body, make_site

# the tests on a running cluster start one (tests/support/redis_cluster.py)
on_a_cluster = pytest.mark.skipif(shutil.which("redis-server") is None or shutil.which("redis-cli") is None,
                                  reason="redis-server and redis-cli are not on PATH")
HOSTILE = ["plain", "a}b", "{x}", "}{", "%7D", "a:b", "ünï", "x" * 200]


# ---------------------------------------------------------------- the key builders (no server)
def test_every_script_call_keys_share_one_slot():
    cluster = client_from_url("redis+cluster://127.0.0.1:1")  # never connected
    cache = Cache(RedisGate(cluster), RedisSettings(prefix="cs:"))
    assert cache.cluster
    for site in ("s1", "a}b", "{"):
        for article in HOSTILE:
            for suffix in ("", "20:new", "5:old:c-123"):
                in_slots(cache.page_keys(site, article, suffix))
            in_slots([cache.version_key(site, article), cache.structure_key(site, article),
                      cache.count_key(site, article), cache.epoch_key(cache.article_key(site, article))])
        for keys, _, ids in cache._count_calls(site, HOSTILE):
            in_slots(keys)
            assert len(keys) == 1 + 2 * len(ids)
    # distinct ids stay distinct keys, whatever they hold
    assert len({cache.version_key("s", a) for a in HOSTILE + ["a%7Db"]}) == len(HOSTILE) + 1
    # one Redis: one epoch, the same key as ever
    single = Cache(RedisGate(aioredis.Redis()), RedisSettings(prefix="cs:"))
    assert single.epoch_key(single.article_key("s", "a")) == "cs:epoch"


def test_a_tag_for_every_slot():
    for slot in range(0, 16384, 7):
        assert key_slot(f"cs:epoch:{slot_tag(slot)}".encode()) == slot
    assert key_slot(b"cs:epoch:" + slot_tag(16383).encode()) == 16383
    assert tag("a}b", "c") == "{a%7Db:c}"


def test_cluster_urls():
    assert cluster_nodes("redis+cluster://u:p%40ss@h1:7000,h2") == (
        "redis", [("h1", 7000), ("h2", 6379)], {"username": "u", "password": "p@ss"})
    from comments_service.settings import Settings

    assert Settings.from_env({"COMMENTS_REDIS_URL": "redis+cluster://a:1,b:2"}).redis.url == "redis+cluster://a:1,b:2"
    for bad in ("redis+cluster://", "redis+cluster://a:x", "redis+cluster://a:1,"):
        with pytest.raises(Exception, match="COMMENTS_REDIS_URL"):
            Settings.from_env({"COMMENTS_REDIS_URL": bad})
    with pytest.raises(Exception, match="COMMENTS_REDIS_PREFIX"):
        Settings.from_env({"COMMENTS_REDIS_PREFIX": "cs{1}:"})


# ---------------------------------------------------------------- on a real cluster
def cluster_env(redis_cluster, **extra: str) -> dict[str, str]:
    return {"COMMENTS_REDIS_URL": redis_cluster.url, "COMMENTS_REDIS_PREFIX": f"cl{secrets.token_hex(3)}:",
            "COMMENTS_REDIS_TIMEOUT": "1", **extra}


@on_a_cluster
async def test_pages_counts_and_checks_run_on_the_cluster(serve, db, redis_cluster):
    async with serve(**cluster_env(redis_cluster, COMMENTS_REPEAT_CHECKS="on")) as live, live.http() as http:
        services = live.services
        assert services.cache.cluster
        site = await make_site(services, db)
        articles = [f"cl-{i}-{secrets.token_hex(2)}" for i in range(50)]
        assert len({key_slot(services.cache.article_key(site.id, a).encode()) for a in articles}) > 10
        texts = {}
        for i, article in enumerate(articles[:10]):
            for n in range(i % 3 + 1):
                texts[article, n] = " ".join(secrets.token_hex(4) for _ in range(8))  # unlike each other
                response = await http.post(f"/api/v1/articles/{article}/comments", params=site.q(),
                                           json=article_body(texts[article, n]),
                                           headers=site.auth(site.sso_token(sub=f"reader-{n}")))
                assert response.status_code == 201, response.text
        # the same text again from the same reader: the repeat check (lua/repeats.lua) ran on the cluster
        again = await http.post(f"/api/v1/articles/{articles[0]}/comments", params=site.q(),
                                json=article_body(texts[articles[0], 0]),
                                headers=site.auth(site.sso_token(sub="reader-0")))
        assert again.status_code == 409, again.text

        expected = {a: (i % 3 + 1 if i < 10 else 0) for i, a in enumerate(articles)}

        async def counts() -> dict[str, int]:
            response = await http.post("/api/v1/counts", params=site.q(), json={"article_ids": articles})
            assert response.status_code == 200, response.text
            return response.json()["counts"]

        assert await counts() == expected
        services.cache.forget_local(site.id, articles[0])  # the first level would answer alone otherwise
        if services.cache.local is not None:
            services.cache.local.clear()
        hits = services.cache.stats.hits
        assert await counts() == expected
        assert services.cache.stats.hits - hits == 50  # every count from the cluster, one call per slot

        for article in articles[:10]:
            for _ in range(2):
                response = await http.get(f"/api/v1/articles/{article}/comments", params=site.q())
                assert response.status_code == 200, response.text
                assert len(response.json()["comments"]) == expected[article]
        hits = services.cache.stats.hits
        if services.cache.local is not None:
            services.cache.local.clear()
        for article in articles[:10]:
            response = await http.get(f"/api/v1/articles/{article}/comments", params=site.q())
            assert len(response.json()["comments"]) == expected[article]
        assert services.cache.stats.hits - hits == 10  # the pages came from the cluster
        # an edit-free write to one article: its cached page and count are retired at once
        response = await http.post(f"/api/v1/articles/{articles[0]}/comments", params=site.q(),
                                   json=article_body("one more"), headers=site.auth(site.sso_token(sub="reader-9")))
        assert response.status_code == 201
        expected[articles[0]] += 1
        assert await counts() == expected
        page = await http.get(f"/api/v1/articles/{articles[0]}/comments", params=site.q())
        assert len(page.json()["comments"]) == expected[articles[0]]
        assert services.gate.last_error is None, services.gate.last_error  # no CROSSSLOT, no other refusal

        # nodes that lost their scripts (a restart, a promoted replica) are given them again
        admin = client_from_url(redis_cluster.url)
        try:
            await admin.script_flush()
        finally:
            await admin.aclose()
        if services.cache.local is not None:
            services.cache.local.clear()
        hits = services.cache.stats.hits
        assert await counts() == expected
        assert services.cache.stats.hits - hits == 50
        assert services.gate.last_error is None, services.gate.last_error


@on_a_cluster
async def test_limits_surges_and_challenges_on_the_cluster(services, settings, database, db, redis_cluster):
    pool = await create_pool(settings.database, database)
    client = client_from_url(redis_cluster.url, socket_timeout=1, socket_connect_timeout=1)
    gate = RedisGate(client)
    prefix = f"cl{secrets.token_hex(3)}:"
    try:
        limiter = RateLimiter(gate, prefix, {"post": {"user": Limit(per_seconds=60, burst=2)}})
        await limiter.check("post", user="u1", ip=None)
        await limiter.check("post", user="u1", ip=None)
        with pytest.raises(Exception, match="(?i)rate"):
            await limiter.check("post", user="u1", ip=None)
        assert await limiter.retry_after("post", user="u1", ip=None) > 0

        challenge = GuestChallenge(gate, prefix, services.keyring, enabled=True)
        assert await challenge._count("203.0.113.9", 1) == (1, 1)
        assert await challenge._count("203.0.113.10", 1) == (1, 2)  # same network, another address

        site_id = "s-cl-" + secrets.token_hex(3)
        await db.execute("INSERT INTO sites (id, name) VALUES ($1, $1)", site_id)
        article = await db.fetchval("INSERT INTO articles (site_id, external_id, url, title) "
                                    "VALUES ($1, 'c', 'https://news.example/c', 'C') RETURNING id", site_id)
        surges = Surges(pool, gate, prefix)
        rules = {"moderation": {"surge": {"enabled": True, "new_accounts": 3, "window_minutes": 10,
                                          "cooldown_minutes": 30}}}
        for guest in range(4):
            await surges.note(site_id, rules, article, 70_000 + guest, guest=True, since=None)
        assert await db.fetchval("SELECT surge_until FROM articles WHERE id = $1", article) is not None
        assert gate.last_error is None, gate.last_error
    finally:
        await client.aclose()
        await pool.close()


@on_a_cluster
async def test_a_master_fails_over_during_reads_and_posts(serve, db, redis_cluster):
    """Kill the master of a hot article's slot while readers and writers keep coming: posts all
    succeed, reads never fail (PostgreSQL answers while the slot has no master), and once the
    replica has taken over the cache serves again, never a page from before the posts."""
    async with serve(**cluster_env(redis_cluster, COMMENTS_REDIS_TIMEOUT="0.5")) as live, live.http() as http:
        services = live.services
        site = await make_site(services, db)
        # an article on the first listed node, which the first-level cache's subscription uses too
        first = redis_cluster.ports[0]
        article = next(a for a in (f"failover-{secrets.token_hex(3)}" for _ in range(10_000))
                       if redis_cluster.master_of(services.cache.version_key(site.id, a)) == first)
        posted: list[int] = []
        page_size = services.settings.comments.page_size

        async def write(n: int) -> None:
            response = await http.post(f"/api/v1/articles/{article}/comments", params=site.q(),
                                       json=article_body(f"post {n}"), headers=site.auth(site.sso_token(sub=f"r{n}")))
            assert response.status_code == 201, response.text
            posted.append(response.json()["comment"]["id"])

        async def read() -> tuple[int, int]:
            response = await http.get(f"/api/v1/articles/{article}/comments", params=site.q(),
                                      headers={"Cache-Control": "no-cache"})
            assert response.status_code == 200, response.text
            counted = await http.post("/api/v1/counts", params=site.q(), json={"article_ids": [article]})
            assert counted.status_code == 200, counted.text
            return len(response.json()["comments"]), counted.json()["counts"][article]

        for n in range(3):
            await write(n)
        await read(), await read()
        assert services.gate.last_error is None
        local = services.cache.local
        assert local is not None and local.connected

        victim = first
        redis_cluster.kill(victim)
        n = 3
        deadline = time.monotonic() + 60
        saw_error = False
        while True:
            await write(n)
            n += 1
            page, count = await read()
            assert count == len(posted), (count, len(posted))  # never a count from before a post
            assert page == min(len(posted), page_size), (page, len(posted))
            saw_error = saw_error or services.gate.last_error is not None
            if saw_error and not services.gate.dirty and services.gate.available:
                hits = services.cache.stats.hits
                again = await read()
                if services.cache.stats.hits > hits and again[1] == len(posted):
                    break
            assert time.monotonic() < deadline, "the cache did not come back after the failover"
            await asyncio.sleep(0.05)
        assert saw_error, "the killed master should have been noticed"
        redis_cluster.wait_ok(ports=[p for p in redis_cluster.ports if p != victim])
        while not local.connected:  # its subscription moved to the next listed node
            assert time.monotonic() < deadline, "the in-process cache should come back by itself"
            await asyncio.sleep(0.05)
        # no comment lost: every post is on the page, in PostgreSQL and in the cached count
        stored = await db.fetchval("SELECT count(*) FROM comments c JOIN articles a ON a.id = c.article_id "
                                   "WHERE a.site_id = $1 AND a.external_id = $2", site.id, article)
        assert stored == len(posted) == n
        assert (await read())[1] == n
