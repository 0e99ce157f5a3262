"""The lean script connection (redis_scripts.py) against real redis-server processes of its own:
the same answers as redis-py, scripts reloaded after a flush, replies matched to their callers under
concurrency, and failures (lost connection, a stalled server, a wrong password) raised as redis-py
raises them, so that RedisGate skips Redis for a moment, followed by a fresh connection."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator

import httpx
import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError, RedisError, ResponseError

from comments_service.cache import RedisGate, lua
from comments_service.redis_cluster import run_scripts
from comments_service.redis_scripts import NAME, ScriptConnection, serves
from tests.support.apps import live_app, other_app
from tests.support.redis_cluster import cluster_wanted
from tests.support.servers import RedisProcess
from tests.support.sites import article_body, make_site

ECHO = "return {KEYS[1], ARGV[1], tonumber(ARGV[2]) + 1, {ARGV[3], false}, redis.call('INCR', KEYS[2])}"
FAILS = "return redis.error_reply('ERR refused by the script')"
# holds the server for about ``ARGV[1]`` milliseconds (a slow script: its reply is long in flight)
BUSY = ("local t = redis.call('TIME') while true do local n = redis.call('TIME') "
        "if (n[1] - t[1]) * 1000000 + (n[2] - t[2]) > tonumber(ARGV[1]) * 1000 then return 'done' end end")


@pytest.fixture(scope="module")
def server() -> Iterator[RedisProcess]:
    redis = RedisProcess().start()
    yield redis
    redis.stop()


def connection(url: str, timeout: float = 2.0) -> ScriptConnection:
    return ScriptConnection(url, socket_timeout=timeout, connect_timeout=timeout)


async def test_answers_as_redis_py_does(server: RedisProcess) -> None:
    lean, plain = connection(server.url), aioredis.Redis.from_url(server.url)
    try:
        ours = await lean.script(ECHO)(keys=["k:a", "k:n"], args=[b"\x00bytes\xff", 41, "nested"])
        theirs = await plain.register_script(ECHO)(keys=["k:a", "k:n"], args=[b"\x00bytes\xff", 41, "nested"])
        assert ours[:4] == theirs[:4] == [b"k:a", b"\x00bytes\xff", 42, [b"nested", None]]
        assert theirs[4] == ours[4] + 1  # the same counter, one call later
    finally:
        lean.close()
        await plain.aclose()


async def test_a_flushed_script_is_loaded_again(server: RedisProcess) -> None:
    lean, plain = connection(server.url), aioredis.Redis.from_url(server.url)
    script = lean.script("return 'loaded ' .. ARGV[1]")
    try:
        assert await script(args=["once"]) == b"loaded once"
        await plain.script_flush()
        assert await script(args=["again"]) == b"loaded again"
        assert await plain.script_exists(script.sha) == [True]
    finally:
        lean.close()
        await plain.aclose()


async def test_concurrent_callers_get_their_own_replies(server: RedisProcess) -> None:
    lean = connection(server.url)
    script = lean.script("return ARGV[1]")
    try:
        answers = await asyncio.gather(*(script(args=[f"caller {i}"]) for i in range(500)))
        assert answers == [f"caller {i}".encode() for i in range(500)]
    finally:
        lean.close()


async def test_an_error_reply_fails_one_call_only(server: RedisProcess) -> None:
    lean = connection(server.url)
    try:
        failing, fine = lean.script(FAILS), lean.script("return ARGV[1]")
        results = await asyncio.gather(fine(args=["before"]), failing(), fine(args=["after"]),
                                       return_exceptions=True)
        assert results[0] == b"before" and results[2] == b"after"
        assert isinstance(results[1], ResponseError) and "refused by the script" in str(results[1])
    finally:
        lean.close()


async def test_the_database_and_password_in_the_url_are_used() -> None:
    redis = RedisProcess(args=["--requirepass", "s3cret"]).start()
    base = f"redis://:s3cret@127.0.0.1:{redis.port}"
    try:
        lean = connection(base + "/3")
        assert await lean.script("return redis.call('SET', KEYS[1], 'x')")(keys=["in-three"]) == b"OK"
        lean.close()
        three, zero = aioredis.Redis.from_url(base + "/3"), aioredis.Redis.from_url(base + "/0")
        try:
            assert await three.get("in-three") == b"x"
            assert await zero.exists("in-three") == 0
        finally:
            await three.aclose()
            await zero.aclose()
        for refused in (f"redis://:wrong@127.0.0.1:{redis.port}/0", base + "/99"):  # a password, a database
            wrong = connection(refused)
            with pytest.raises(RedisConnectionError):
                await wrong.script("return 1")()
            wrong.close()
    finally:
        redis.stop()


async def test_a_unix_socket_url_reaches_that_socket(tmp_path) -> None:
    path = tmp_path / "redis.sock"
    redis = RedisProcess(args=["--unixsocket", str(path), "--unixsocketperm", "700"]).start()
    lean = connection(f"unix://{path}?db=2")
    plain = aioredis.Redis.from_url(f"unix://{path}?db=2")
    try:
        assert await lean.script("return redis.call('INCR', KEYS[1])")(keys=["over-the-socket"]) == 1
        assert await plain.get("over-the-socket") == b"1"  # that server, that database
        clients = await plain.client_list()
        assert [c for c in clients if c["name"] == NAME][0]["db"] == "2"
    finally:
        lean.close()
        await plain.aclose()
        redis.stop()


async def test_a_caller_that_goes_away_leaves_the_others_their_replies(server: RedisProcess) -> None:
    lean = connection(server.url)
    busy, echo = lean.script(BUSY), lean.script("return ARGV[1]")
    try:
        gone = asyncio.ensure_future(busy(args=[300]))
        after = asyncio.ensure_future(echo(args=["mine"]))
        await asyncio.sleep(0.05)
        gone.cancel()  # its reply is still to come, before the next caller's
        assert await after == b"mine"
        assert await echo(args=["and mine"]) == b"and mine"
        assert gone.cancelled()
    finally:
        lean.close()


async def test_closing_ends_the_connection_for_good(server: RedisProcess) -> None:
    redis = RedisProcess().start()
    lean = connection(redis.url, timeout=5.0)
    try:
        redis.freeze()  # the kernel still accepts the connection; the handshake gets no answer
        waiting = asyncio.ensure_future(lean.script("return 1")())
        await asyncio.sleep(0.2)
        lean.close()
        with pytest.raises(RedisConnectionError):
            await asyncio.wait_for(waiting, 2)
        with pytest.raises(RedisConnectionError):  # at once, and no new connection
            await asyncio.wait_for(lean.script("return 2")(), 1)
    finally:
        redis.stop()


async def test_several_calls_at_once_share_the_connection(server: RedisProcess) -> None:
    """redis_cluster.run_scripts (the cache's counts and epoch bumps) with this connection's script."""
    lean = connection(server.url)
    try:
        script = lean.script("return KEYS[1] .. ARGV[1]")
        calls = [([f"k{i}"], [f":{i}"]) for i in range(20)]
        assert await run_scripts(None, script, calls) == [f"k{i}:{i}".encode() for i in range(20)]  # type: ignore[arg-type]
    finally:
        lean.close()


async def test_an_argument_redis_cannot_take_is_a_redis_error(server: RedisProcess) -> None:
    lean = connection(server.url)
    try:
        with pytest.raises(DataError):  # a RedisError: the gate answers as for a failed call
            await lean.script("return 1")(args=[None])
        assert await lean.script("return 1")() == 1
    finally:
        lean.close()


def test_it_follows_the_caller_to_a_new_event_loop(server: RedisProcess) -> None:
    """One connection object used from two event loops one after the other (test clients, a CLI
    that runs twice): the first loop's connection is dropped, the second opens its own."""
    lean = connection(server.url)
    script = lean.script("return ARGV[1]")
    assert asyncio.run(script(args=["first loop"])) == b"first loop"
    assert asyncio.run(script(args=["second loop"])) == b"second loop"

    async def close() -> None:
        lean.close()

    asyncio.run(close())


async def test_a_lost_connection_fails_its_calls_and_the_next_call_reconnects() -> None:
    redis = RedisProcess().start()
    lean = connection(redis.url, timeout=5.0)
    script = lean.script("return ARGV[1]")
    try:
        assert await script(args=["first"]) == b"first"
        killer = aioredis.Redis.from_url(redis.url)
        try:
            assert await killer.client_kill_filter(_type="normal", skipme=True) >= 1
        finally:
            await killer.aclose()
        await asyncio.sleep(0.1)
        assert await script(args=["second"]) == b"second"  # on a new connection
        redis.freeze()
        in_flight = asyncio.ensure_future(script(args=["never answered"]))
        await asyncio.sleep(0.1)
        redis.proc.kill()  # type: ignore[union-attr]  # the host's kernel closes its sockets
        redis.proc.wait()  # type: ignore[union-attr]
        with pytest.raises(RedisConnectionError):
            await asyncio.wait_for(in_flight, 3)
        with pytest.raises(RedisError):  # nothing to connect to: redis-py's ConnectionError
            await script(args=["nobody"])
        redis.start()
        assert await script(args=["back"]) == b"back"
    finally:
        lean.close()
        redis.stop()


async def test_a_stalled_server_times_out_and_the_gate_skips_redis() -> None:
    redis = RedisProcess().start()
    lean = connection(redis.url, timeout=0.2)
    gate = RedisGate(aioredis.Redis.from_url(redis.url, socket_timeout=0.2), backoff_seconds=0.3, scripts=lean)
    script = gate.register_script("return ARGV[1]")
    try:
        assert await gate.call(lambda: script(args=["up"])) == b"up"
        redis.freeze()
        waiting = [asyncio.ensure_future(gate.call(lambda: script(args=["stalled"]), default=b"skipped"))
                   for _ in range(3)]
        assert await asyncio.wait_for(asyncio.gather(*waiting), 5) == [b"skipped"] * 3
        assert not gate.available and "Timeout" in (gate.last_error or "")
        redis.proc.send_signal(signal.SIGCONT)  # type: ignore[union-attr]
        await asyncio.sleep(0.35)
        assert await gate.call(lambda: script(args=["back"])) == b"back"
    finally:
        lean.close()
        await gate.client.aclose()  # type: ignore[union-attr]
        redis.stop()


async def test_the_service_scripts_run_on_it(server: RedisProcess) -> None:
    """The cache's own script (the bump every post makes) through the lean connection: what it
    stores and publishes is what redis-py's call of the same script would."""
    lean = connection(server.url)
    plain = aioredis.Redis.from_url(server.url)
    try:
        pubsub = plain.pubsub()
        await pubsub.subscribe("scripts:channel")
        await pubsub.get_message(timeout=1)
        bump = lean.script(lua("bump_article"))
        first = await bump(keys=["scripts:v", "scripts:s"], args=[1000, "1", "scripts:channel", b"gone", 60])
        second = await bump(keys=["scripts:v", "scripts:s"], args=[1000, "0", "scripts:channel", b"appended", 60])
        assert (first, second) == (1000, 1001)
        assert await plain.get("scripts:s") == b"1000" and 0 < await plain.ttl("scripts:v") <= 60
        got = [await pubsub.get_message(timeout=1) for _ in range(2)]
        assert [m["data"] for m in got if m] == [b"gone", b"appended"]
        await pubsub.aclose()
    finally:
        lean.close()
        await plain.aclose()


async def test_the_api_posts_through_it(storage, services, db, server: RedisProcess) -> None:
    """A post's repeat check and cache bump go over the API's script connection (named in CLIENT
    LIST), and do their work there: the post is stored, the same text again refused as a repeat."""
    site = await make_site(services, db)
    async with other_app(storage, COMMENTS_REDIS_URL=server.url, COMMENTS_REPEAT_CHECKS="on") as api:
        gate = api.app.state.services.gate
        assert isinstance(gate.scripts, ScriptConnection)
        headers = site.auth(site.sso_token(sub="lean-1"))
        text = "The bridge at the crossing reopened this morning after two weeks of repairs."
        first = await api.post("/api/v1/articles/lean/comments", params=site.q(), json=article_body(text),
                               headers=headers)
        assert first.status_code == 201, first.text
        again = await api.post("/api/v1/articles/lean/comments", params=site.q(), json=article_body(text),
                               headers=headers)
        assert again.status_code == 409 and again.json()["code"] == "repeat_post"
        lister = aioredis.Redis.from_url(server.url)
        clients = await lister.client_list()
        await lister.aclose()
        ours = [c for c in clients if c["name"] == NAME]
        assert len(ours) == 1 and ours[0]["cmd"] in ("evalsha", "eval"), clients
        page = await api.get("/api/v1/articles/lean/comments", params=site.q())
        assert [c["body_html"] for c in page.json()["comments"]] == [first.json()["comment"]["body_html"]]


async def test_a_burst_of_concurrent_posts_never_runs_redis_dry(storage, services, db) -> None:
    """Three hundred posts at once, each with its repeat check and cache bump, and a read of
    its page after it: the scripts have their own connection, so the pool the other commands share
    (page stores, counts, publishes) is never exhausted and Redis is never set aside. When the
    scripts shared that pool (64 connections), a burst like this one made redis-py raise "Too many
    connections", and the gate turned the first-level cache off for a second."""
    if cluster_wanted():
        pytest.skip("on a Redis Cluster the scripts go through redis-py's cluster client, not this connection")
    site = await make_site(services, db)
    unlimited = "post.user=0:1,post.ip=0:1"  # one address posts them all
    # each request on a connection of its own: one kept alive while this busy loop got round to its
    # next request could pass the server's idle limit and be closed under it
    async with live_app(storage, COMMENTS_REPEAT_CHECKS="on", COMMENTS_RATE_LIMITS=unlimited) as live, \
            live.http(limits=httpx.Limits(max_connections=400, max_keepalive_connections=0)) as http:
        gate = live.services.gate

        async def one(n: int) -> None:
            article = f"/api/v1/articles/burst-{n % 40}/comments"
            posted = await http.post(article, params=site.q(), headers=site.auth(site.sso_token(sub=f"burst-{n}")),
                                     json=article_body(f"Reader {n} saw the convoy cross the river at dawn, {n}."))
            assert posted.status_code == 201, posted.text
            assert (await http.get(article, params=site.q())).status_code == 200

        await asyncio.gather(*(one(n) for n in range(300)))
        assert gate.last_error is None and gate.available


def test_which_urls_it_serves() -> None:
    assert serves("redis://127.0.0.1:6379/0") and serves("unix:///run/redis.sock")
    # TLS (certificate options read from the URL) and a cluster stay with redis-py
    assert not serves("rediss://cache.example:6380/0") and not serves("redis+cluster://a:1,b:2")
    assert not serves(None) and not serves("")
