"""Shutdown never hangs: `serve`, `worker` and `run` stopped with SIGTERM exit within seconds in
every state they can be in (idle, a post in flight, a worker scoring a batch, live streams open,
Redis or PostgreSQL gone or not answering), and the log names any shutdown step that had to be
given up.

Why a lost cancellation matters: the local cache's invalidation reader runs until cancelled, and
on Python 3.11 ``asyncio.wait_for`` (redis-py's wrapper of each socket write that has a timeout,
the reader's PING among them) swallows a cancellation that arrives in the same turn of the loop as
the write's completion; the reader then goes on reading, and an unbounded wait for it keeps
`serve` up for good. The first test below makes that moment happen every time. A database that
does not answer likewise never says goodbye to a LISTEN connection or a pool closing.
"""

from __future__ import annotations

import asyncio
import secrets
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from comments_service.local_cache import LocalCache
from tests.support.servers import RedisProcess, ServiceProcess, TcpProxy, free_port
from tests.support.sites import SiteHandle, article_body, make_site

# What a stop may take: the shutdown steps' budgets (comments_service/shutdown.py) when something
# does not answer, plus the interpreter's own exit; a hang is minutes.
PROMPT = 5.0
UNANSWERED = 10.0


def stop_within(process: ServiceProcess, seconds: float) -> float:
    """SIGTERM, then the seconds it took to exit; fails (after killing it) past ``seconds``."""
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail(f"{process.command} still running {seconds}s after SIGTERM:\n{process.logs()[-4000:]}")
    elapsed = time.monotonic() - started
    print(f"{process.command} stopped in {elapsed:.2f}s")  # shown with -s: how near the limit it came
    return elapsed


# --------------------------------------------------------------- the lost cancellation, every time


async def test_local_cache_closes_when_its_reader_loses_the_cancellation(storage):
    closing: list[asyncio.Task] = []
    cache: LocalCache | None = None

    class ClosesAfterPing(aioredis.Connection):
        """A real connection that starts the cache's close just as the reader's PING has been
        written: the close's cancellation then reaches the reader inside wait_for, in the same
        turn as the write's completion."""

        async def _send_packed_command(self, command) -> None:
            await super()._send_packed_command(command)
            if cache is not None and cache.connected and not closing and b"PING" in b"".join(command):
                closing.append(asyncio.ensure_future(cache.close()))

    # as Cache.enable_local makes it: a socket timeout, hence wait_for around each write
    client = aioredis.Redis.from_url(storage.redis_url, socket_timeout=1.0, socket_connect_timeout=1.0,
                                     connection_class=ClosesAfterPing)
    cache = LocalCache(client, f"{storage.redis_prefix}shutdown-test-{secrets.token_hex(3)}", liveness=0.3)
    cache.start()
    reader = cache._task
    try:
        async with asyncio.timeout(10):  # a PING goes out every tenth of a second
            while not closing:
                await asyncio.sleep(0.01)
        done, _ = await asyncio.wait(closing, timeout=5)
        assert closing[0] in done, "close() still waiting for the invalidation reader"
        closing[0].result()
        assert reader is not None and reader.done()
    finally:
        if reader is not None and not reader.done():
            reader.cancel()
            await asyncio.wait({reader}, timeout=2)
        await client.aclose()


# --------------------------------------------------------------- serve


async def _post(http: httpx.AsyncClient, site: SiteHandle, article: str, text: str) -> httpx.Response:
    return await http.post(f"/api/v1/articles/{article}/comments", params=site.q(), json=article_body(text),
                           headers=site.auth(site.sso_token(sub="stopper", name="Stopper")))


async def _stream(http: httpx.AsyncClient, site: SiteHandle, article: str, opened: asyncio.Event) -> str:
    """A live stream, read to its end; what it ended with."""
    last = ""
    async with http.stream("GET", f"/api/v1/articles/{article}/events", params=site.q(),
                           headers={"Origin": site.origin}) as resp:
        assert resp.status_code == 200
        async for line in resp.aiter_lines():
            if line.startswith("event: ready"):
                opened.set()
            last = line or last
    return last


async def _opened(streams: list[asyncio.Task], events: list[asyncio.Event]) -> None:
    """Until every stream said "ready"; a stream that failed first raises its error."""
    waits = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        async with asyncio.timeout(10):
            while not all(w.done() for w in waits):
                await asyncio.wait([*waits, *streams], return_when=asyncio.FIRST_COMPLETED)
                for stream in streams:
                    if stream.done():
                        stream.result()
                        raise AssertionError("a live stream ended before the stop")
    finally:
        for w in waits:
            w.cancel()


async def _stored(db, text: str, post: asyncio.Task) -> None:
    """Until the comment ``text`` is in the database: the post reached the server and is in hand."""
    async with asyncio.timeout(10):
        while not await db.fetchval("SELECT 1 FROM comments WHERE body_markdown = $1", text):
            if post.done():
                raise AssertionError(f"the post was answered before the stop: {post.result()}")
            await asyncio.sleep(0.02)


async def _take_away(state: str, redis, proxy) -> None:
    """The dependency the state names stops answering (frozen) or goes (stopped, connections cut)."""
    if redis is not None and "answering" in state:
        redis.freeze()
    elif redis is not None:
        redis.stop()
    if proxy is not None and "answering" in state:
        proxy.freeze()
    elif proxy is not None:
        await proxy.cut()


STATES = ["idle", "after a post", "a post in flight", "live streams open", "Redis gone", "Redis not answering",
          "PostgreSQL gone", "PostgreSQL not answering"]


@pytest.mark.parametrize("state", STATES)
async def test_serve_stops_promptly(storage, services, db, state):
    site = await make_site(services, db)
    article = f"stop-{secrets.token_hex(3)}"
    env = {"COMMENTS_SCORING": "on", "COMMENTS_REDIS_PREFIX": f"{storage.redis_prefix}stop{secrets.token_hex(3)}:"}
    if state == "a post in flight":
        env["COMMENTS_DECISION_WAIT_MS"] = "2000"  # no worker runs: the post waits all of it
    redis = RedisProcess().start() if state.startswith("Redis") else None
    proxy = TcpProxy(storage.database_url()) if state.startswith("PostgreSQL") else None
    if redis is not None:
        env["COMMENTS_REDIS_URL"] = redis.url
    if proxy is not None:
        env["COMMENTS_DATABASE_URL"] = await proxy.start()
    server = ServiceProcess(storage.env(**env)).start()
    pending: list[asyncio.Task] = []
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
            if state != "idle":
                assert (await _post(http, site, article, "before the stop")).status_code == 201
            if state == "a post in flight":
                text = f"during the stop {secrets.token_hex(4)}"
                pending.append(asyncio.create_task(_post(http, site, article, text)))
                await _stored(db, text, pending[0])  # the server has it, and waits for a decision
            if state == "live streams open":
                opened = [asyncio.Event() for _ in range(3)]
                pending += [asyncio.create_task(_stream(http, site, article, event)) for event in opened]
                await _opened(pending, opened)
            await _take_away(state, redis, proxy)
            await asyncio.sleep(0.5)  # the service notices (or not) before the signal
            limit = UNANSWERED if "answering" in state else PROMPT
            await asyncio.to_thread(stop_within, server, limit)
            results = await asyncio.gather(*pending, return_exceptions=True)
    finally:
        server.stop()
        for task in pending:
            task.cancel()
        if redis is not None:
            redis.stop()
        if proxy is not None:
            await proxy.cut()
    if state == "a post in flight":
        # the post in hand is answered, not cut off
        assert isinstance(results[0], httpx.Response) and results[0].status_code == 201, results
    if state == "live streams open":
        assert all(isinstance(r, str) for r in results), results  # each ended cleanly, none was reset
    if state == "PostgreSQL not answering":
        # what it gave up on is named
        assert "shutdown: gave up waiting" in server.logs() and "api: PostgreSQL pool" in server.logs()


# --------------------------------------------------------------- worker


def _worker(storage, tmp_path: Path, **env: str) -> ServiceProcess:
    from tests.support.scoring import start_worker

    return start_worker(storage, tmp_path, str(tmp_path / "no-model.ckpt"), str(tmp_path / "no-config"),
                        COMMENTS_TOXICITY_MISSING_MODEL="fallback", **env)


@pytest.mark.parametrize("state", ["idle", "PostgreSQL gone", "PostgreSQL not answering", "Redis gone",
                                   "Redis not answering"])
async def test_worker_stops_promptly(storage, db, tmp_path, state):
    from tests.support.scoring import wait_worker_ready

    env: dict[str, str] = {}
    redis = RedisProcess().start() if state.startswith("Redis") else None
    proxy = TcpProxy(storage.database_url()) if state.startswith("PostgreSQL") else None
    if redis is not None:
        env["COMMENTS_REDIS_URL"] = redis.url
    if proxy is not None:
        env["COMMENTS_DATABASE_URL"] = await proxy.start()
    worker = _worker(storage, tmp_path, **env)
    try:
        await wait_worker_ready(db, worker, timeout=90)
        await _take_away(state, redis, proxy)
        await asyncio.sleep(1.5)  # a poll or two: the loop is inside a query, or retrying
        await asyncio.to_thread(stop_within, worker, UNANSWERED if "answering" in state else PROMPT)
    finally:
        worker.stop()
        if redis is not None:
            redis.stop()
        if proxy is not None:
            await proxy.cut()


# ~9,000 characters: several of the model's windows per comment, so that a batch takes a while
LONG = " ".join(["The council met again to discuss the budget for the new bridge and the flood defences."] * 100)


async def test_worker_stops_promptly_mid_batch(storage, services, db, tiny_detoxify, tmp_path):
    """SIGTERM while the worker holds a claimed batch (a backlog of long comments, a real model):
    it ends or gives up the batch in hand within the work budget, and exits 0."""
    from tests.support.apps import scoring_app
    from tests.support.scoring import start_worker

    site = await make_site(services, db)
    async with scoring_app(storage, COMMENTS_DECISION_WAIT_MS="0") as api:
        for n in range(16):
            posted = await api.post("/api/v1/articles/mid-batch/comments", params=site.q(),
                                    json=article_body(f"{n}. {LONG}"), headers=site.auth(site.sso_token(sub=f"r{n}")))
            assert posted.status_code == 201, posted.text
    worker = start_worker(storage, tmp_path, *tiny_detoxify, name="mid-batch", COMMENTS_TOXICITY_BATCH_SIZE="8")
    try:
        pattern = f"%:{worker.pid}:%"
        async with asyncio.timeout(120):  # the model loads first
            while not await db.fetchval("SELECT count(*) FROM scoring_jobs WHERE state = 'claimed' "
                                        "AND claimed_by LIKE $1", pattern):
                assert worker.running, worker.logs()[-3000:]
                await asyncio.sleep(0.005)
        await asyncio.to_thread(stop_within, worker, PROMPT)
        assert worker.returncode == 0, worker.logs()[-3000:]
    finally:
        worker.stop()


# --------------------------------------------------------------- run


@pytest.mark.parametrize("state", ["idle", "a stream open", "Redis gone", "PostgreSQL gone"])
async def test_run_stops_promptly(storage, tmp_path, state):
    """`run` on servers this test owns (its own database; a Redis or a proxy to PostgreSQL of its
    own where one goes away), then SIGTERM: it stops its children and exits 0, within seconds."""
    database = f"{storage.database}_stop_run"
    url = await storage.create_database(database)
    redis = RedisProcess().start() if state.startswith("Redis") else None
    proxy = TcpProxy(url) if state.startswith("PostgreSQL") else None
    port = free_port()
    env = storage.env(COMMENTS_DATABASE_URL=await proxy.start() if proxy is not None else url,
                      COMMENTS_PORT=str(port),
                      COMMENTS_PUBLIC_URL=f"http://127.0.0.1:{port}", COMMENTS_SCORING="on",
                      COMMENTS_TOXICITY_CHECKPOINT=str(tmp_path / "no-model.ckpt"),
                      COMMENTS_TOXICITY_MISSING_MODEL="fallback", COMMENTS_DATA_DIR=str(tmp_path / "data"),
                      COMMENTS_REDIS_PREFIX=f"{storage.redis_prefix}run{secrets.token_hex(3)}:",
                      **({"COMMENTS_REDIS_URL": redis.url} if redis is not None else {}))
    run = ServiceProcess(env, "run", port=port, ready="/health/live", log_path=tmp_path / "run.log")
    stream: asyncio.Task | None = None
    try:
        run.start(timeout=90)
        async with httpx.AsyncClient(base_url=run.url, timeout=20) as http:
            if state == "a stream open":
                demo = SiteHandle("demo", run.url)  # the demo page is served by the service itself
                opened = asyncio.Event()
                stream = asyncio.create_task(_stream(http, demo, "afghan-tajik-border-troops", opened))
                await _opened([stream], [opened])
            await _take_away(state, redis, proxy)
            if redis is not None or proxy is not None:
                await asyncio.sleep(1.0)  # its processes notice (or not) before the signal
            await asyncio.to_thread(stop_within, run, PROMPT + 2)  # its children's stops, then its own
            assert run.returncode == 0, run.logs()[-3000:]
            if stream is not None:
                await asyncio.wait_for(stream, 5)
    finally:
        run.stop()
        if stream is not None:
            stream.cancel()
        if redis is not None:
            redis.stop()
        if proxy is not None:
            await proxy.cut()
        await storage.drop_database(database)
