"""HTTP answered straight off a socket, for the two small listeners that are not the app: the API's
metrics port (api/diagnostics.py) and the scoring worker's probe port (workers/probe_server.py).

They need a few fixed answers, not a framework, and the worker has no app to serve them. One
request per connection: its head is capped in size (pass ``HEAD_LIMIT`` as the server's
``limit``) and in time (``HEAD_SECONDS``); the answer closes the connection. Problem bodies are
the app's own (api/problems.py maps errors to this same ``Problem``): each carries the request id
that its ``X-Request-Id`` header carries, and each is counted by code for the metrics and the
admins' diagnostics.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import NamedTuple

import msgspec

from . import i18n
from .domain.structs import Struct
from .errors import CATALOGUE
from .logs import request_id
from .metrics import record_error

log = logging.getLogger("comments_service.raw_http")

PROBLEM_JSON = "application/problem+json"
HEAD_LIMIT = 8192
# a probe or a scrape sends its head at once; a client that trickles it is not one of them
HEAD_SECONDS = 2.0
# most connections a listener holds at once, and from one address: a client holding connections
# open (idle, or reading slowly) must not starve the kubelet's liveness probe, which would restart
# a healthy worker
MAX_CONNECTIONS = 32
MAX_CONNECTIONS_PER_PEER = 4


class Problem(Struct, omit_defaults=True):
    code: str
    title: str
    status: int
    detail: str
    request_id: str | None = None
    retry_after: int | None = None
    errors: list[dict] | None = None
    limit: int | None = None


def problem_bytes(code: str, detail: str | None = None, locale: str = i18n.DEFAULT) -> tuple[int, bytes]:
    """The status and body of the problem ``code`` (in CATALOGUE), counted, with the request id, in
    ``locale`` (i18n.py)."""
    info = CATALOGUE[code]
    record_error(code)  # diagnostics' "recent errors by code" and comments_errors_total
    title, detail = i18n.problem_text(code, info.message, detail, locale)
    body = Problem(code=code, title=title, status=info.status, detail=detail, request_id=request_id.get())
    return info.status, msgspec.json.encode(body)


class RawRequest(NamedTuple):
    method: bytes
    path: bytes  # without the query string
    headers: tuple[tuple[bytes, bytes], ...]  # names lowercased
    peer: str | None  # the peer's IP address (IPv4 clients of a dual-stack listener as IPv4); None if none

    def header(self, name: bytes) -> bytes | None:
        return next((value for key, value in self.headers if key == name), None)


class Reply(NamedTuple):
    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()


Handler = Callable[[RawRequest], Awaitable[Reply]]


class ConnectionGate:
    """Counts a listener's open connections, in all and per peer address."""

    def __init__(self, total: int = MAX_CONNECTIONS, per_peer: int = MAX_CONNECTIONS_PER_PEER) -> None:
        self.total, self.per_peer = total, per_peer
        self._open: dict[str | None, int] = {}
        self._count = 0

    def enter(self, peer: str | None) -> bool:
        if self._count >= self.total or self._open.get(peer, 0) >= self.per_peer:
            return False
        self._open[peer] = self._open.get(peer, 0) + 1
        self._count += 1
        return True

    def leave(self, peer: str | None) -> None:
        self._count -= 1
        left = self._open[peer] - 1
        if left:
            self._open[peer] = left
        else:
            del self._open[peer]


def _peer(writer: asyncio.StreamWriter) -> str | None:
    peername = writer.get_extra_info("peername")
    if not isinstance(peername, tuple) or not peername:
        return None  # a unix socket
    try:
        addr = ipaddress.ip_address(peername[0])
    except ValueError:
        return None
    return str(addr.ipv4_mapped if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped else addr)


async def read_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> RawRequest | None:
    """The request's head, or None when it did not come whole within the caps (nothing is answered)."""
    try:
        async with asyncio.timeout(HEAD_SECONDS):
            head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.LimitOverrunError, asyncio.IncompleteReadError, TimeoutError, ConnectionError):
        return None
    request_line, *header_lines = head[:-4].split(b"\r\n")
    method, _, rest = request_line.partition(b" ")
    path = rest.partition(b" ")[0].partition(b"?")[0]
    headers = tuple((name.strip().lower(), value.strip())
                    for name, _, value in (line.partition(b":") for line in header_lines))
    return RawRequest(method, path, headers, _peer(writer))


async def write_reply(writer: asyncio.StreamWriter, method: bytes, reply: Reply, rid: str) -> None:
    extra = b"".join(b"%s: %s\r\n" % (name.encode(), value.encode()) for name, value in reply.headers)
    writer.write(b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nCache-Control: no-store\r\n"
                 b"X-Content-Type-Options: nosniff\r\nX-Request-Id: %s\r\n%sConnection: close\r\n\r\n"
                 % (reply.status, HTTPStatus(reply.status).phrase.encode(), reply.content_type.encode(),
                    len(reply.body), rid.encode(), extra))
    if method != b"HEAD":
        writer.write(reply.body)
    async with asyncio.timeout(HEAD_SECONDS):  # a client that does not read its answer is dropped
        await writer.drain()


async def serve_one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, handler: Handler,
                    gate: ConnectionGate) -> None:
    """Read one request, answer it with ``handler`` and close the connection. A handler's error is
    logged and answered 500: this is the listener's own task, nothing above it would answer or close.
    A connection past the gate's caps is closed unanswered."""
    peer = _peer(writer)
    if not gate.enter(peer):
        writer.close()
        return
    try:
        request = await read_request(reader, writer)
        if request is None:
            return
        rid = os.urandom(16).hex()
        token = request_id.set(rid)
        try:
            try:
                reply = await handler(request)
            except Exception:
                log.exception("raw http handler failed", extra={"path": request.path.decode("latin-1")})
                reply = Reply(*problem_bytes("internal_error"), PROBLEM_JSON)
            await write_reply(writer, request.method, reply, rid)
        finally:
            request_id.reset(token)
    except (ConnectionError, TimeoutError):
        pass
    finally:
        gate.leave(peer)
        writer.close()
