"""Redis goes away and comes back: a second, real redis-server on its own port, owned by the test.

While it is down, reads come from PostgreSQL and writes succeed. It comes back with the data it
had (saved on shutdown, loaded on start), so the pages and counts cached before the outage are
still there under the article versions of that time; the writes made during the outage could not
bump those versions. The gate marked the cache dirty, and its first successful call bumps the global
epoch that every key carries, so none of those stale pages is ever served.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis

from tests.support.sites import article_body, make_site

REDIS_SERVER = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not on PATH")


class RedisServer:
    def __init__(self, directory: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=2)

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
             "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.client().ping():
                    return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        """Shut down, saving the data set, as a crashed-and-restarted or partitioned Redis would keep it."""
        with contextlib.suppress(redis.ConnectionError):
            self.client().shutdown(save=True)
        self.process.wait(timeout=10)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def second_redis(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


async def test_outage_and_recovery(serve, db, second_redis):
    # a generous timeout: a loaded machine must not trip the gate before the outage this test makes
    async with serve(COMMENTS_REDIS_URL=second_redis.url, COMMENTS_REDIS_TIMEOUT="2") as live, \
            live.http() as http:
        services = live.services
        site = await make_site(services, db)
        article = "outage-" + secrets.token_hex(3)

        async def write(text: str, sub: str) -> dict:
            response = await http.post(f"/api/v1/articles/{article}/comments", params=site.q(),
                                       json=article_body(text), headers=site.auth(site.sso_token(sub=sub)))
            assert response.status_code == 201, response.text
            return response.json()["comment"]

        async def bodies() -> list[str]:
            response = await http.get(f"/api/v1/articles/{article}/comments", params=site.q())
            assert response.status_code == 200, response.text
            return [c["body_html"] for c in response.json()["comments"]]

        async def count() -> int:
            response = await http.post("/api/v1/counts", params=site.q(), json={"article_ids": [article]})
            assert response.status_code == 200, response.text
            return response.json()["counts"][article]

        await write("before", "reader-1")
        await bodies(), await count()
        hits = services.cache.stats.hits
        assert len(await bodies()) == 1 and await count() == 1
        assert services.cache.stats.hits == hits + 2  # page and count both came from the cache
        fast = live.app.asgi_handler  # the public-read fast path (api/fast_reads.py)
        answered = fast.answered
        await bodies()
        assert fast.answered == answered + 1

        local = services.cache.local
        second_redis.stop()
        # down: the in-process copy is dropped with the subscription; reads from PostgreSQL, writes
        # succeed, nothing errors
        deadline = time.monotonic() + 10
        while local.connected:
            assert time.monotonic() < deadline, "the in-process cache should go off with the subscription"
            await asyncio.sleep(0.02)
        answered = fast.answered
        assert len(await bodies()) == 1
        assert fast.answered == answered  # nothing held may be trusted: the handlers read PostgreSQL
        during = await write("during the outage", "reader-2")
        assert services.gate.dirty, "a write whose version bump was lost must mark the cache dirty"
        vote = await http.post(f"/api/v1/comments/{during['id']}/votes", params=site.q(), json={"value": 1},
                               headers=site.auth(site.sso_token(sub="reader-3")))
        assert vote.status_code == 200, vote.text
        assert len(await bodies()) == 2 and await count() == 2
        assert services.gate.last_error is not None

        second_redis.start()
        keys = second_redis.client().keys(f"*page:*{site.id}:{article}:*")
        assert keys, "the restarted Redis should still hold the page cached before the outage"
        # back: never the stale page or count, and the cache starts serving hits again by itself
        deadline = time.monotonic() + 30
        while True:
            hits = services.cache.stats.hits
            assert len(await bodies()) == 2
            assert await count() == 2
            if services.cache.stats.hits == hits + 2 and not services.gate.dirty:
                break
            assert time.monotonic() < deadline, "the cache did not recover"
            await asyncio.sleep(0.1)
        while not local.connected:
            assert time.monotonic() < deadline, "the in-process cache should come back by itself"
            await asyncio.sleep(0.05)
        assert len(await bodies()) == 2 and await count() == 2
        assert (await write("after", "reader-1"))["id"]
        assert len(await bodies()) == 3 and await count() == 3
        answered = fast.answered
        assert len(await bodies()) == 3 and fast.answered == answered + 1  # and the fast path is back


async def test_slow_redis_is_skipped(serve, db, second_redis):
    """A Redis that stops answering (CLIENT PAUSE) costs one socket timeout, then is skipped."""
    async with serve(COMMENTS_REDIS_URL=second_redis.url, COMMENTS_REDIS_TIMEOUT="0.05") as live, \
            live.http() as http:
        site = await make_site(live.services, db)
        article = "slow-" + secrets.token_hex(3)
        headers = site.auth(site.sso_token())
        first = await http.post(f"/api/v1/articles/{article}/comments", params=site.q(), json=article_body("one"),
                                headers=headers)
        assert first.status_code == 201
        await http.get(f"/api/v1/articles/{article}/comments", params=site.q())
        second_redis.client().execute_command("CLIENT", "PAUSE", "3000", "ALL")
        second = await http.post(f"/api/v1/articles/{article}/comments", params=site.q(),
                                 json=article_body("two"), headers=headers)
        assert second.status_code == 201, second.text
        for _ in range(5):
            page = await http.get(f"/api/v1/articles/{article}/comments", params=site.q())
            assert page.status_code == 200 and len(page.json()["comments"]) == 2
        assert live.services.gate.last_error is not None
        second_redis.client().execute_command("CLIENT", "UNPAUSE")
