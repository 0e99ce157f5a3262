"""Connections are bounded: live streams per address and per process, each stream's lifetime, and
what a connection may hold open (silent, slow headers, slow body, huge headers).

The server here is the session's ``serve``: uvicorn run with the service's own options
(``server.uvicorn_options``, what `comments-service serve` passes) inside the test's event loop, so
that the test can read the live hub's counts; one test speaks to the real `comments-service serve` process
to show it is wired.
One test feeds requests straight into the protocol to count the timers it arms.
Every bound is set small (a fraction of a second, a handful of streams) through COMMENTS_* variables.
"""

from __future__ import annotations

import asyncio
import json
import pickle
from contextlib import AsyncExitStack

import httpx
import pytest

from comments_service.server import uvicorn_options
from comments_service.settings import Settings
from tests.support.apps import LiveApp
from tests.support.sites import article_body

WAIT = 10.0  # the most any step below may take before the test fails; each bound is well under it


def _port(live: LiveApp) -> int:
    return int(live.url.rsplit(":", 1)[1])


async def _open_stream(stack: AsyncExitStack, http: httpx.AsyncClient, path: str, **kwargs) -> httpx.Response:
    """A stream held open by ``stack``, once its "ready" event has arrived."""
    response = await stack.enter_async_context(http.stream("GET", path, **kwargs))
    assert response.status_code == 200, await response.aread()
    # the reader is kept with the response: httpx closes the connection when it is collected
    response.lines = response.aiter_lines()
    async for line in response.lines:
        if line.startswith("data:"):
            assert json.loads(line[5:]) == {"type": "ready"}
            return response
    raise AssertionError("the stream ended before it was ready")


async def _settled(hub, admitted: int = 0) -> None:
    """Wait until the hub holds ``admitted`` stream places (closing a stream reaches it a moment later)."""
    async with asyncio.timeout(WAIT):
        while hub.admitted != admitted:
            await asyncio.sleep(0.02)


async def _refused(http: httpx.AsyncClient, path: str, method: str = "GET", **kwargs) -> None:
    """The stream request is refused for the stream caps (read as a stream: an accepted one never ends)."""
    async with http.stream(method, path, **kwargs) as response:
        assert response.status_code == 429
        assert int(response.headers["retry-after"]) > 0
        origin = kwargs.get("headers", {}).get("Origin")
        if origin:  # a page's script (the widget) may read the hint
            assert response.headers["access-control-allow-origin"] == origin
            assert "retry-after" in response.headers["access-control-expose-headers"]
        if method != "HEAD":
            assert json.loads(await response.aread())["code"] == "too_many_streams"


class _Peer(asyncio.Protocol):
    """A raw client that keeps what the server sent even if the server then resets the connection."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.closed = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self.data += data

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set_result(None)


async def _raw(port: int, request: bytes, *, then: list[bytes] = (), every: float = 0.0) -> bytes:
    """Send ``request``, then each of ``then`` every ``every`` seconds until the server answers or
    closes; everything the server sent until it closed (b"" for a silent close)."""
    transport, peer = await asyncio.get_running_loop().create_connection(_Peer, "127.0.0.1", port)
    try:
        async with asyncio.timeout(WAIT):
            transport.write(request)
            for part in then:
                await asyncio.sleep(every)
                if peer.data or peer.closed.done():
                    break
                transport.write(part)
            await peer.closed
            return bytes(peer.data)
    finally:
        transport.close()


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


def _problem_code(answer: bytes) -> str:
    return json.loads(answer.partition(b"\r\n\r\n")[2])["code"]


async def test_streams_per_address_are_capped_and_every_exit_gives_the_place_back(serve, site):
    async with serve(COMMENTS_LIVE_MAX_PER_IP="3") as live, live.http() as http:
        hub = live.app.state.live_hub
        events = "/api/v1/articles/capped/events"
        async with AsyncExitStack() as stack:
            for _ in range(3):
                await _open_stream(stack, http, events, params=site.q())
            await _refused(http, events, params=site.q())
            # the widget's question, from its page
            await _refused(http, events, "HEAD", params=site.q(), headers={"Origin": site.origin})
            assert hub.admitted == 3
            # other requests from the address are not streams and go on
            assert (await http.get("/api/v1/articles/capped/comments", params=site.q())).status_code == 200
        await _settled(hub)  # the client closed its streams
        async with AsyncExitStack() as stack:
            await _open_stream(stack, http, events, params=site.q())
        await _settled(hub)

        # a client gone before the stream started, a refused site and a HEAD give their places back
        port = _port(live)
        for _ in range(5):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(f"GET {events}?site={site.id} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            await writer.drain()
            writer.close()
        assert (await http.get(events, params={"site": "no-such-site"})).status_code == 404
        assert (await http.head(events, params=site.q())).status_code == 200
        await _settled(hub)
        async with AsyncExitStack() as stack:
            for _ in range(3):
                await _open_stream(stack, http, events, params=site.q())


async def test_streams_per_process_are_capped(serve, site):
    async with (serve(COMMENTS_LIVE_MAX_STREAMS="2", COMMENTS_LIVE_MAX_PER_IP="10") as live, live.http() as http,
                AsyncExitStack() as stack):
        await _open_stream(stack, http, "/api/v1/articles/a/events", params=site.q())
        await _open_stream(stack, http, "/api/v1/articles/b/events", params=site.q())
        await _refused(http, "/api/v1/articles/c/events", params=site.q())


async def test_behind_a_trusted_proxy_the_cap_counts_each_forwarded_address(serve, site):
    async with serve(COMMENTS_LIVE_MAX_PER_IP="2", COMMENTS_TRUSTED_PROXIES="127.0.0.1") as live, \
            live.http() as http:
        events = "/api/v1/articles/proxied/events"
        async with AsyncExitStack() as stack:
            for _ in range(2):
                await _open_stream(stack, http, events, params=site.q(), headers={"X-Forwarded-For": "198.51.100.7"})
            await _refused(http, events, params=site.q(), headers={"X-Forwarded-For": "198.51.100.7"})
            await _open_stream(stack, http, events, params=site.q(), headers={"X-Forwarded-For": "198.51.100.8"})


async def test_a_stream_ends_after_its_lifetime_with_a_retry_hint(serve, site):
    async with serve(COMMENTS_LIVE_MAX_SECONDS="1", COMMENTS_LIVE_HEARTBEAT_SECONDS="0.3") as live, \
            live.http() as http:
        fields = []
        async with asyncio.timeout(WAIT), \
                http.stream("GET", "/api/v1/articles/lifetime/events", params=site.q()) as response:
            assert response.status_code == 200
            async for line in response.aiter_lines():  # to the end of the stream: the server closes it
                if line:
                    field, _, value = line.partition(":")
                    fields.append((field, value.removeprefix(" ")))
        assert fields[0] == ("event", "ready")
        assert ("", "heartbeat") in fields  # it lived on until its end
        assert fields[-2] == ("", "lifetime over")
        field, retry = fields[-1]
        assert field == "retry" and int(retry) >= 3000  # EventSource waits that long, then reconnects
        await _settled(live.app.state.live_hub)


async def test_a_silent_connection_is_closed(serve):
    async with serve(COMMENTS_HEADER_TIMEOUT_SECONDS="0.5") as live:
        assert await _raw(_port(live), b"") == b""


async def test_headers_that_trickle_in_get_408(serve):
    async with serve(COMMENTS_HEADER_TIMEOUT_SECONDS="0.5") as live:
        answer = await _raw(_port(live), b"GET /health/live HTTP/1.1\r\nHost: x\r\n",
                            then=[b"X-Slow: 1\r\n"] * 100, every=0.1)
        assert _status(answer) == 408
        assert _problem_code(answer) == "request_timeout"
        # after a full request, the clock starts again at the next one's first byte
        answer = await _raw(_port(live), b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\nGET /health/live HTTP/1.1\r\n",
                            then=[b"X-Slow: 1\r\n"] * 100, every=0.1)
        assert _status(answer) == 200
        assert b"HTTP/1.1 408 " in answer


async def test_a_body_that_trickles_in_gets_408_and_the_handler_never_sees_it(serve, site):
    async with serve(COMMENTS_BODY_TIMEOUT_SECONDS="0.5") as live:
        body = json.dumps(article_body("never finished", author_name="Slow")).encode()
        head = (f"POST /api/v1/articles/slow-body/comments?site={site.id} HTTP/1.1\r\nHost: x\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        answer = await _raw(_port(live), head, then=[bytes([b]) for b in body[:-1]], every=0.1)
        assert _status(answer) == 408
        assert _problem_code(answer) == "request_timeout"
        async with live.http() as http:
            page = await http.get("/api/v1/articles/slow-body/comments", params=site.q())
        assert page.status_code == 404 or page.json()["comments"] == []


async def test_huge_headers_get_431_whether_sent_at_once_or_never_finished(serve, site):
    async with serve(COMMENTS_MAX_HEADER_BYTES="8192") as live:
        port = _port(live)
        padding = "".join(f"X-Pad-{i}: {'a' * 1000}\r\n" for i in range(100))  # 100 KB
        answer = await _raw(port, f"GET /health/live HTTP/1.1\r\nHost: x\r\n{padding}\r\n".encode())
        assert _status(answer) == 431
        assert _problem_code(answer) == "request_headers_too_large"
        # one header that never ends: refused once it is over the cap, not buffered on
        answer = await _raw(port, b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Endless: ",
                            then=[b"a" * 4096] * 100, every=0.01)
        assert _status(answer) == 431
        # a body larger than the header cap, sent with its headers in one piece, is not headers
        body = json.dumps(article_body("b" * 9000, author_name="Big")).encode()
        answer = await _raw(port, (f"POST /api/v1/articles/big/comments?site={site.id} HTTP/1.1\r\nHost: x\r\n"
                                   f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                                   f"Connection: close\r\n\r\n").encode() + body)
        assert _status(answer) == 201, answer[:500]


async def test_a_request_answered_before_its_body_ended_does_not_hold_the_connection_open(serve):
    # the answer starts uvicorn's keep-alive timer, and the body's later bytes stop it
    async with serve(COMMENTS_HEADER_TIMEOUT_SECONDS="0.5", COMMENTS_KEEP_ALIVE_SECONDS="1") as live:
        transport, peer = await asyncio.get_running_loop().create_connection(_Peer, "127.0.0.1", _port(live))
        try:
            async with asyncio.timeout(WAIT):
                transport.write(b"POST /no-such-route HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345")
                while b"\r\n\r\n" not in peer.data:  # answered without reading the body
                    await asyncio.sleep(0.02)
                assert _status(bytes(peer.data)) == 404
                await asyncio.sleep(0.2)
                transport.write(b"67890")
                await peer.closed  # then silence: closed
        finally:
            transport.close()


async def test_a_keep_alive_request_arms_no_timer_of_its_own():
    """The deadlines cost no timer per request (one sweeper per server checks them): over many
    keep-alive requests the protocol arms as many timers as uvicorn's own (the keep-alive one)."""
    from uvicorn.config import Config
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    from uvicorn.server import ServerState

    from comments_service.server import BoundedHttpProtocol

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    class Loop:
        def __init__(self, loop):
            self.loop, self.timers = loop, 0

        def call_later(self, *args, **kwargs):
            self.timers += 1
            return self.loop.call_later(*args, **kwargs)

        def __getattr__(self, name):
            return getattr(self.loop, name)

    class Transport(asyncio.Transport):
        answers = 0

        def write(self, data):
            self.answers += data.startswith(b"HTTP/1.1 204 ")

        def is_closing(self):
            return False

        def close(self):
            pass

        def get_extra_info(self, name, default=None):
            return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)

    config = Config(app, lifespan="off", log_config=None)
    config.load()
    request = b"GET /x HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H-%d: v\r\n" % i for i in range(10)) + b"\r\n"
    timers = {}
    for protocol_class in (HttpToolsProtocol, BoundedHttpProtocol):
        loop, transport = Loop(asyncio.get_running_loop()), Transport()
        protocol = protocol_class(config=config, server_state=ServerState(), app_state={}, _loop=loop)
        protocol.connection_made(transport)
        for _ in range(100):
            protocol.data_received(request)
            await asyncio.sleep(0)  # the app answers
        assert transport.answers == 100
        protocol.connection_lost(None)
        timers[protocol_class] = loop.timers
    assert timers[HttpToolsProtocol] == 100
    assert timers[BoundedHttpProtocol] <= timers[HttpToolsProtocol] + 2  # the sweeper's own


def test_the_serve_command_refuses_huge_headers_and_keeps_serving(live_server):
    padding = {f"X-Pad-{i}": "a" * 1000 for i in range(100)}
    try:
        status = httpx.get(live_server.url + "/health/live", headers=padding, timeout=WAIT).status_code
    except httpx.RemoteProtocolError:
        status = 0  # closed without an answer: also serve
    assert status in (0, 431)
    assert httpx.get(live_server.url + "/health/live", timeout=WAIT).status_code == 200


def test_the_bounds_come_from_settings_and_are_checked():
    from comments_service.settings import SettingsError

    server = Settings.from_env({"COMMENTS_MAX_CONNECTIONS": "900", "COMMENTS_LIVE_MAX_STREAMS": "800",
                                "COMMENTS_KEEP_ALIVE_SECONDS": "7", "COMMENTS_HEADER_TIMEOUT_SECONDS": "3",
                                "COMMENTS_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1"}).server
    options = uvicorn_options(server)
    assert options["limit_concurrency"] == 900 and options["timeout_keep_alive"] == 7
    assert options["http"].keywords["limits"].header_timeout == 3
    assert pickle.loads(pickle.dumps(options["http"])).keywords == options["http"].keywords  # reaches workers
    assert options["proxy_headers"] and options["forwarded_allow_ips"] == "10.0.0.0/8,127.0.0.1/32"
    assert not uvicorn_options(Settings.from_env({}).server)["proxy_headers"]
    with pytest.raises(SettingsError, match="COMMENTS_LIVE_MAX_STREAMS"):
        Settings.from_env({"COMMENTS_MAX_CONNECTIONS": "100", "COMMENTS_LIVE_MAX_STREAMS": "100"})
    with pytest.raises(SettingsError, match="COMMENTS_TRUSTED_PROXIES"):
        Settings.from_env({"COMMENTS_TRUSTED_PROXIES": "the proxy"})
