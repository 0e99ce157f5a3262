"""How the HTTP server runs: uvicorn's options built from settings, and the HTTP protocol that adds
the bounds uvicorn lacks.

uvicorn caps open connections (``limit_concurrency``: 503 beyond it) and closes a keep-alive
connection left idle after a response, but its httptools protocol puts no deadline on a request's
headers or body, no cap on the size of the headers (the parser buffers whatever arrives), and a
connection that never sends a byte stays open for good. ``BoundedHttpProtocol`` adds those three:

- headers must be complete within ``header_timeout`` of the connection's start or of the request's
  first byte: a silent connection is closed, a partial request gets 408 and is closed;
- the body must be complete within ``body_timeout`` of the end of the headers: 408 (while nothing
  has been answered) and the connection is closed; the handler sees a disconnect;
- the request line and headers may hold ``max_header_bytes``: 431 and the connection is closed.

A reverse proxy in front should enforce the same (README, "Behind a reverse proxy"); these are the
backstop when it does not, or when the service is reached directly.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import msgspec
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from .api.problems import PROBLEM_JSON, problem_bytes
from .settings import ServerSettings


class ConnectionLimits(msgspec.Struct, frozen=True):
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_header_bytes: int = 32 * 1024


class BoundedHttpProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, limits: ConnectionLimits = ConnectionLimits(), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self._deadline: asyncio.TimerHandle | None = None
        self._in_headers = True  # between requests, or inside a request's line and headers
        self._heard = False  # a byte of the next request has arrived
        self._raw_header_bytes = 0  # what arrived while the headers stayed incomplete
        self._header_bytes = 0  # the parsed request line and headers of the current request
        self._headers_done = 0  # requests whose headers are complete, to tell chunks apart
        self._refused = False

    # the connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.limits.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        before, done = self._in_headers, self._headers_done
        if before:
            self._heard = True
            if self._deadline is None:  # the first byte after a response: the headers' clock starts
                self._arm(self.limits.header_timeout)
        super().data_received(data)
        if before and self._in_headers and done == self._headers_done and not self._refused:
            # the whole chunk is part of headers still incomplete: httptools holds it until they are
            self._raw_header_bytes += len(data)
            if self._raw_header_bytes > self.limits.max_header_bytes:
                self._refuse("request_headers_too_large")

    # parser callbacks

    def on_message_begin(self) -> None:
        self._header_bytes = 0
        self._heard = True
        if self._deadline is None:  # it may follow the end of the one before in the same chunk
            self._arm(self.limits.header_timeout)
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._refused:
            return
        self._headers_done += 1
        self._in_headers = False
        self._disarm()
        super().on_headers_complete()
        self._arm(self.limits.body_timeout)

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        self._disarm()
        self._in_headers, self._heard, self._raw_header_bytes = True, False, 0
        super().on_message_complete()

    def send_400_response(self, msg: str) -> None:
        if not self._refused:  # a parse error in what follows a refused request: already answered
            super().send_400_response(msg)

    # bounds

    def _count(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > self.limits.max_header_bytes and not self._refused:
            self._refuse("request_headers_too_large")

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._in_headers and not self._heard:
            self.transport.close()  # an idle connection: nothing to answer
        else:
            self._refuse("request_timeout")

    def _refuse(self, code: str) -> None:
        """Answer with the catalogue's problem for ``code`` unless the request was answered, and close."""
        self._refused = True
        self._disarm()
        cycle = self.cycle
        running = cycle is not None and not cycle.response_complete
        # no answer inside a response already under way, nor in the place of an earlier request's
        speak = not (running and (self._in_headers or cycle.response_started))
        if running:
            # its handler sees a disconnect, and what it sends is dropped
            cycle.disconnected = True
            cycle.message_event.set()
        if speak:
            status, body = problem_bytes(code)
            self.transport.write(b"".join([
                STATUS_LINE[status], b"content-type: ", PROBLEM_JSON.encode(), b"\r\n",
                b"content-length: ", str(len(body)).encode(), b"\r\n", b"connection: close\r\n\r\n", body]))
        self.transport.close()


def uvicorn_options(server: ServerSettings) -> dict[str, Any]:
    """uvicorn's keyword arguments for this service, beside the app, address and workers."""
    limits = ConnectionLimits(server.header_timeout_seconds, server.body_timeout_seconds, server.max_header_bytes)
    return {
        # a partial of a module-level class pickles, so it reaches worker processes too
        "http": functools.partial(BoundedHttpProtocol, limits=limits),
        "ws": "none",
        "limit_concurrency": server.max_connections,
        "timeout_keep_alive": server.keep_alive_seconds,
        "proxy_headers": bool(server.trusted_proxies),
        "forwarded_allow_ips": server.trusted_proxies or None,
        "log_config": None,
        "access_log": False,
        "timeout_graceful_shutdown": 10,
    }
