"""Live updates over Server-Sent Events, against a real server process (streams need a real socket)."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.support.servers import ServiceProcess, free_port
from tests.support.sites import make_site


@contextmanager
def serve(storage, **env) -> Iterator[tuple[str, ServiceProcess]]:
    with ServiceProcess(storage.env(**env)) as server:
        yield server.url, server


@pytest.fixture(scope="module")
def server(storage, database) -> Iterator[tuple[str, ServiceProcess]]:
    with serve(storage, COMMENTS_LIVE_HEARTBEAT_SECONDS="0.5") as running:
        yield running


def events(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    """(field, value) pairs of an event stream, comments as ("comment", text)."""
    for line in lines:
        if line.startswith(":"):
            yield "comment", line[1:].strip()
        elif line:
            field, _, value = line.partition(":")
            yield field, value.strip()


def next_data(stream: Iterator[tuple[str, str]]) -> dict:
    for field, value in stream:
        if field == "data":
            return json.loads(value)
    raise AssertionError("stream ended without data")


async def test_published_comment_reaches_an_open_stream(server, services, db):
    base, _ = server
    site = await make_site(services, db)
    url = f"{base}/api/v1/articles/live-1/events"
    with httpx.Client(base_url=base, timeout=10) as http, \
            http.stream("GET", url, params={"site": site.id}, headers={"Origin": site.origin}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        # no cache or proxy may keep or buffer it
        assert response.headers["cache-control"] == "no-store" and response.headers["x-accel-buffering"] == "no"
        assert response.headers["access-control-allow-origin"] == site.origin
        stream = events(response.iter_lines())
        assert next_data(stream) == {"type": "ready"}
        posted = http.post("/api/v1/articles/live-1/comments", params={"site": site.id}, json={
            "body": "Live from the border", "author_name": "Ana", "article_url": "https://news.example/a",
            "article_title": "A"})
        assert posted.status_code == 201, posted.text
        comment = posted.json()["comment"]
        if posted.json()["status"] != "published":
            pytest.fail(f"the comment was not published at once ({posted.json()['status']}); "
                        "this test needs a site whose comments publish")
        # the article's first comment sorts after every other one: an append, with the article's
        # version after it
        event = next_data(stream)
        assert isinstance(event.pop("article_version"), int)
        assert event == {"type": "comment.published", "comment_id": comment["id"], "parent_id": None, "append": True}


async def test_other_articles_events_do_not_leak_and_heartbeats_keep_idle_streams_alive(server, services, db):
    base, _ = server
    site = await make_site(services, db)
    with httpx.Client(base_url=base, timeout=10) as http, \
            http.stream("GET", "/api/v1/articles/quiet/events", params={"site": site.id}) as response:
        stream = events(response.iter_lines())
        assert next_data(stream) == {"type": "ready"}
        http.post("/api/v1/articles/busy/comments", params={"site": site.id}, json={
            "body": "Elsewhere", "author_name": "Bo", "article_url": "https://news.example/b", "article_title": "B"})
        seen = []
        for field, value in stream:
            seen.append((field, value))
            if field == "comment":
                break
        assert seen[-1] == ("comment", "heartbeat")
        assert not [pair for pair in seen if pair[0] == "data"]


async def test_unknown_site_is_refused_before_streaming(server):
    base, _ = server
    response = httpx.get(f"{base}/api/v1/articles/a/events", params={"site": "no-such-site"}, timeout=5)
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_site"


async def test_without_redis_the_widget_is_told_to_poll(storage, database, services, db):
    site = await make_site(services, db)
    with serve(storage, COMMENTS_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0") as (base, _):
        response = httpx.get(f"{base}/api/v1/articles/a/events", params={"site": site.id}, timeout=10)
        assert response.status_code == 503
        assert response.json()["code"] == "service_unavailable"
        assert "retry-after" in response.headers
        # reading still works: live updates are the only thing missing
        assert httpx.get(f"{base}/api/v1/articles/a/comments", params={"site": site.id}, timeout=10).status_code == 200


async def test_open_streams_end_promptly_when_the_server_stops(storage, database, services, db):
    site = await make_site(services, db)
    with serve(storage) as (base, proc):
        with httpx.Client(base_url=base, timeout=10) as http, \
                http.stream("GET", "/api/v1/articles/a/events", params={"site": site.id}) as response:
            stream = events(response.iter_lines())
            assert next_data(stream) == {"type": "ready"}
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            # the server ends the stream, telling the browser to reconnect soon (to another
            # instance); it does not hang until the graceful timeout
            rest = list(stream)
            assert time.monotonic() - started < 5
            retry = [int(value) for field, value in rest if field == "retry"]
            assert retry and 250 <= retry[-1] <= 1000, rest
        # uvicorn re-raises the signal it handled once shut down, hence -SIGTERM rather than 0
        assert proc.wait(10) in (0, -signal.SIGTERM)
        assert "Traceback" not in proc.logs()


async def test_an_event_drops_the_articles_in_process_copy_before_any_stream_hears_of_it(storage):
    """The invalidation and the live event reach a process on different connections; a widget that
    reloads on the event must not be served this process's copy from before the change."""
    import asyncio

    import redis.asyncio as aioredis

    from comments_service.api.live import LiveHub

    def channel_of(article: str) -> str:
        return f"{storage.redis_prefix}live:site-1:{article}"

    forgotten: list[tuple[str, str, bool, int | None, int]] = []
    hub = LiveHub(storage.redis_url, channel_of("*"), forget_local=lambda site, article, structural, _, version:
                  forgotten.append((site, article, structural, version, queue.qsize())))
    client = aioredis.Redis.from_url(storage.redis_url)
    try:
        await hub.ready()
        async with hub.watch(channel_of("a:1"), "site-1", "a:1") as queue:
            await client.publish(channel_of("other"), b'{"type":"comment.published"}')  # nobody here watches it
            await client.publish(channel_of("a:1"), b'{"type":"comment.published"}')
            # each event is queued as the bytes every stream of the article sends, made once
            assert await asyncio.wait_for(queue.get(), 5) == b'data: {"type":"comment.published"}\r\n\r\n'
            appended = b'{"type":"comment.published","append":true,"article_version":12}'
            await client.publish(channel_of("a:1"), appended)
            assert await asyncio.wait_for(queue.get(), 5) == b"data: " + appended + b"\r\n\r\n"
        # before each event was queued, only for the watched article, and after an append only what
        # an append changes (structural=False), with the article's version after it
        assert forgotten == [("site-1", "a:1", True, None, 0), ("site-1", "a:1", False, 12, 0)]
    finally:
        await client.aclose()
        await hub.close()


async def test_a_stream_queue_gets_heartbeats_its_end_and_is_ended_when_its_reader_falls_behind(storage):
    """What a reader's stream sends comes through its queue: a heartbeat every ``heartbeat``
    seconds whatever else arrives, the end of its lifetime, and, for a reader QUEUE_SIZE frames
    behind, the end of the stream instead of a queue that grows."""
    import asyncio

    import redis.asyncio as aioredis

    from comments_service.api import live
    from comments_service.settings import ServerSettings

    channel = f"{storage.redis_prefix}live:site-1:a"
    hub = live.LiveHub(storage.redis_url, f"{storage.redis_prefix}live:*",
                       bounds=ServerSettings(live_max_seconds=0.5), heartbeat=0.1)
    try:
        await hub.ready()
        async with hub.watch(channel, "site-1", "a") as queue:
            got = []
            while (item := await asyncio.wait_for(queue.get(), 5)) is not live._LIFETIME:
                got.append(item)
            assert 2 <= got.count(live.HEARTBEAT_FRAME) == len(got) <= 5  # 0.4-0.5 s of them, then its end

    finally:
        await hub.close()

    # no heartbeat or end comes in the way here: only the events
    hub = live.LiveHub(storage.redis_url, f"{storage.redis_prefix}live:*", heartbeat=3600)
    client = aioredis.Redis.from_url(storage.redis_url)
    try:
        await hub.ready()
        async with hub.watch(channel, "site-1", "a") as queue:
            overflow = 11
            for n in range(live.QUEUE_SIZE + overflow):
                await client.publish(channel, b'{"n":%d}' % n)
            # each event past a full queue makes way for an end: the oldest frame goes
            async with asyncio.timeout(5):
                while list(queue._queue).count(live._CLOSED) < overflow:
                    await asyncio.sleep(0.01)
            items = [queue.get_nowait() for _ in range(queue.qsize())]
            assert items == [b'data: {"n":%d}\r\n\r\n' % n
                             for n in range(overflow, live.QUEUE_SIZE)] + [live._CLOSED] * overflow
            assert not hub._reader.done()  # the other streams go on
    finally:
        await client.aclose()
        await hub.close()


async def test_an_event_for_many_streams_lets_other_work_in_between_its_slices(storage):
    """Each stream woken by an event writes its frame at once; thousands of them in one go would hold
    every request behind them. The hub wakes FANOUT_SLICE streams, then lets the loop serve others:
    this test's own task, waiting its turn, sees some slices delivered and others not yet."""
    import asyncio
    from contextlib import AsyncExitStack

    import redis.asyncio as aioredis

    from comments_service.api import live

    channel = f"{storage.redis_prefix}live:site-1:many"
    hub = live.LiveHub(storage.redis_url, f"{storage.redis_prefix}live:*", heartbeat=3600)
    client = aioredis.Redis.from_url(storage.redis_url)
    try:
        await hub.ready()
        async with AsyncExitStack() as stack:
            queues = [await stack.enter_async_context(hub.watch(channel, "site-1", "many"))
                      for _ in range(5 * live.FANOUT_SLICE)]
            await client.publish(channel, b'{"type":"comment.published"}')
            async with asyncio.timeout(5):
                while all(queue.empty() for queue in queues):
                    await asyncio.sleep(0)
            delivered = sum(not queue.empty() for queue in queues)
            assert 0 < delivered < len(queues)  # some slices, not all of them
            async with asyncio.timeout(5):
                while any(queue.empty() for queue in queues):
                    await asyncio.sleep(0)
            assert {queue.get_nowait() for queue in queues} == {b'data: {"type":"comment.published"}\r\n\r\n'}
    finally:
        await client.aclose()
        await hub.close()


async def test_a_stream_that_begins_while_the_process_stops_ends_at_once(storage):
    """A request that passed its checks before a stop signal and watches after it: its browser is
    told to reconnect (to another instance) at once, not left with a stream nobody ends."""
    from comments_service.api import live

    hub = live.LiveHub(storage.redis_url, f"{storage.redis_prefix}live:*", heartbeat=3600)
    try:
        await hub.ready()
        hub.shutdown_soon()
        async with hub.watch(f"{storage.redis_prefix}live:site-1:late", "site-1", "late") as queue:
            assert queue.get_nowait() is live._CLOSED
    finally:
        await hub.close()
