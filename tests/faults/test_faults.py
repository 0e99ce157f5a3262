"""Faults against real processes: a `comments-service serve` subprocess on this run's database.

- Redis (its own redis-server on its own port) stopped during a mixed load and restarted: no 5xx
  beyond the requests in flight when it stopped, reads served from PostgreSQL while it is away, and
  the cached thread correct afterwards.
- The API process SIGKILLed during a burst of posts: every post answered 201 exists exactly once.
"""

from __future__ import annotations

import asyncio
import secrets
import time

import httpx

from tests.support.consistency import assert_stored_once, db_ids, thread_ids
from tests.support.servers import RedisProcess, ServiceProcess
from tests.support.sites import article_body, make_site


async def test_redis_stopped_and_restarted_during_mixed_load(storage, services, db):
    site = await make_site(services, db)
    article = "redis-fault"
    redis = RedisProcess().start()
    server = ServiceProcess(storage.env(COMMENTS_REDIS_URL=redis.url,
                                       COMMENTS_REDIS_PREFIX=f"{storage.redis_prefix}fault{secrets.token_hex(3)}:"))
    server.start()
    log: list[tuple[float, str, int]] = []  # (time, kind, status)
    stop_at = restart_at = 0.0
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            headers = site.auth(site.sso_token(sub="loader", name="Loader"))
            r = await http.post(f"/api/v1/articles/{article}/comments", params=site.q(),
                                json=article_body("first"), headers=headers)
            assert r.status_code == 201
            await thread_ids(http, site, article)  # the page is now cached in Redis

            running = True

            async def reader() -> None:
                while running:
                    try:
                        resp = await http.get(f"/api/v1/articles/{article}/comments", params=site.q(limit=100))
                        log.append((time.monotonic(), "read", resp.status_code))
                    except httpx.HTTPError:
                        log.append((time.monotonic(), "read", 0))
                    await asyncio.sleep(0.02)

            async def writer(n: int) -> None:
                i = 0
                while running:
                    i += 1
                    try:
                        resp = await http.post(f"/api/v1/articles/{article}/comments", params=site.q(),
                                               json=article_body(f"w{n}-{i}"), headers=headers)
                        log.append((time.monotonic(), "post", resp.status_code))
                    except httpx.HTTPError:
                        log.append((time.monotonic(), "post", 0))
                    await asyncio.sleep(0.15)

            tasks = [asyncio.create_task(reader()) for _ in range(3)] + [
                asyncio.create_task(writer(n)) for n in range(2)]
            await asyncio.sleep(2)
            stop_at = time.monotonic()
            await asyncio.to_thread(redis.stop)
            await asyncio.sleep(4)
            restart_at = time.monotonic()
            redis = RedisProcess(port=redis.port).start()
            await asyncio.sleep(4)
            running = False
            await asyncio.gather(*tasks)

            # the cached thread is correct afterwards: what the API shows is what PostgreSQL holds
            await asyncio.sleep(0.5)
            assert await thread_ids(http, site, article) == await db_ids(db, site, article)
            r = await http.post(f"/api/v1/articles/{article}/comments", params=site.q(),
                                json=article_body("after the restart"), headers=headers)
            assert r.status_code == 201
            assert r.json()["comment"]["id"] in await thread_ids(http, site, article)
            assert await thread_ids(http, site, article) == await db_ids(db, site, article)
            total = await db.fetchval("""SELECT count(*) FROM comments c JOIN articles a ON a.id = c.article_id
                WHERE a.site_id = $1 AND a.external_id = $2 AND c.status = 'published'""", site.id, article)
            counts = (await http.post("/api/v1/counts", params=site.q(), json={"article_ids": [article]})).json()
            assert counts["counts"][article] == total
            page = (await http.get(f"/api/v1/articles/{article}/comments", params=site.q())).json()
            assert page["article"]["comment_count"] == total
    finally:
        server.stop()
        redis.stop()

    errors = [(t, kind, s) for t, kind, s in log if s >= 500 or s == 0]
    # only requests in flight when Redis went away may fail (socket timeout 50 ms)
    unexpected = [e for e in errors if not (stop_at - 0.5 <= e[0] <= stop_at + 1.0)]
    assert not unexpected, unexpected
    during = [s for t, kind, s in log if kind == "read" and stop_at + 1.0 < t < restart_at]
    assert during and all(s == 200 for s in during), "reads are served while Redis is away"
    posts_during = [s for t, kind, s in log if kind == "post" and stop_at + 1.0 < t < restart_at]
    assert posts_during and all(s == 201 for s in posts_during)


async def test_api_killed_during_a_burst_of_posts(storage, services, db):
    site = await make_site(services, db)
    article = "kill-burst"
    server = ServiceProcess(storage.env()).start()
    accepted: dict[str, int] = {}
    outcomes: list[str] = []
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10,
                                     limits=httpx.Limits(max_connections=20)) as http:
            headers = site.auth(site.sso_token(sub="burst", name="Burst"))

            async def one(i: int) -> None:
                body = f"burst-{i}-{secrets.token_hex(4)}"
                try:
                    resp = await http.post(f"/api/v1/articles/{article}/comments", params=site.q(),
                                           json=article_body(body), headers=headers)
                except httpx.HTTPError as exc:
                    outcomes.append(type(exc).__name__)
                    return
                outcomes.append(str(resp.status_code))
                if resp.status_code == 201:
                    accepted[body] = resp.json()["comment"]["id"]

            tasks = [asyncio.create_task(one(i)) for i in range(120)]
            while len(accepted) < 15 and not all(t.done() for t in tasks):
                await asyncio.sleep(0.005)
            await asyncio.to_thread(server.kill)
            await asyncio.gather(*tasks)
    finally:
        server.stop()
    assert len(accepted) >= 15 and len(outcomes) == 120
    assert any(o not in ("201",) for o in outcomes), "the kill landed after the burst; nothing was interrupted"
    rows = await db.fetch("""SELECT c.id, c.body_markdown FROM comments c JOIN articles a ON a.id = c.article_id
        WHERE a.site_id = $1 AND a.external_id = $2""", site.id, article)
    assert_stored_once(rows, accepted)
    # the counters agree with the rows after the restart
    count = await db.fetchval("SELECT comment_count FROM articles WHERE site_id = $1 AND external_id = $2",
                              site.id, article)
    assert count == len(rows)
