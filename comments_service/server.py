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

It does so at little cost per request (a keep-alive GET: about a microsecond beside uvicorn's
~15, BENCHMARKS.md): no timer per request but one sweeper per server that holds each connection's
phase to its deadline a few times a second, and headers counted one by one only when what arrived
could exceed the cap.

It also writes the public-read fast path's answers itself (api/fast_reads.py): a cached page or
counts answer goes straight to the connection, with no ASGI cycle.

A reverse proxy in front should enforce the same (README, "Behind a reverse proxy"); these are the
backstop when it does not, or when the service is reached directly.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import os
import urllib.parse
import weakref
from pathlib import Path
from typing import Any, cast

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

from .api.fast_reads import FastReads
from .api.problems import PROBLEM_JSON, problem_bytes
from .domain.structs import Struct
from .settings import ServerSettings, Settings

log = logging.getLogger("comments_service.server")


class ConnectionLimits(Struct, frozen=True):
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_header_bytes: int = 32 * 1024
    keep_alive: float = 5.0  # uvicorn's own keep-alive timeout: the sweeper applies it after fast answers


# A connection's phase, which says which deadline runs. The checks are made by one sweeper per server
# rather than by a timer per request: arming and cancelling two timers cost more than the parser.
_SILENT = 0  # nothing under way, no keep-alive timer (just opened): closed at the header deadline
_IDLE = 1  # between requests: uvicorn's keep-alive timer runs once the response is complete
_KEPT = 2  # between requests after a fast-path answer (no timer): closed at the keep-alive deadline
_HEADERS = 3  # a request's first byte came, its headers are not complete: 408 at the header deadline
_BODY = 4  # the headers are complete, the body is not: 408 at the body deadline
_SWEEP_SECONDS = 0.5  # the most a deadline is overrun by; less where a timeout is under 2 s


class BoundedHttpProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, limits: ConnectionLimits = ConnectionLimits(), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self._phase = _SILENT
        self._since = 0.0  # the loop's time when the phase's deadline started
        self._refused = False
        self._headers_done = 0  # requests whose headers are complete, to tell chunks apart
        self._chunk = 0  # the size of the chunk being parsed
        # what arrived while the current request's headers stayed incomplete: whole chunks that held
        # nothing else (they must stay under the cap), and all such chunks (a bound that spares
        # counting parsed headers one by one)
        self._raw_header_bytes = 0
        self._header_chunks = 0
        self._answered = False  # the current request was answered by the fast path
        handler = getattr(self.app, "asgi_handler", None)  # the app itself, unless uvicorn wrapped it
        self._fast = handler if isinstance(handler, FastReads) else None

    # the connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._since = self.loop.time()
        _Sweeper.watch(self)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        before = self._phase
        if before < _HEADERS:  # a byte of the next request: after a response, the headers' clock starts
            if before != _SILENT:
                self._since = self.loop.time()
            self._phase = _HEADERS
        done = self._headers_done
        self._chunk = size = len(data)
        HttpToolsProtocol.data_received(self, data)
        if self._phase == _HEADERS and not self._refused:
            # headers still incomplete: httptools holds them until they are
            self._header_chunks += size
            if before != _BODY and done == self._headers_done:  # the whole chunk is headers
                self._raw_header_bytes += size
                if self._raw_header_bytes > self.limits.max_header_bytes:
                    self._refuse("request_headers_too_large")

    # parser callbacks

    def on_message_begin(self) -> None:
        self._raw_header_bytes = self._header_chunks = 0
        if self._phase != _HEADERS:  # it follows the end of the one before in the same chunk
            self._phase = _HEADERS
            self._since = self.loop.time()
        HttpToolsProtocol.on_message_begin(self)

    def on_headers_complete(self) -> None:
        if self._refused:
            return
        cap = self.limits.max_header_bytes
        # what arrived since the request began bounds its headers: counted only when over the cap
        if self._header_chunks + self._chunk > cap and self._parsed_header_bytes() > cap:
            self._refuse("request_headers_too_large")
            return
        self._headers_done += 1
        self._phase = _BODY
        self._since = self.loop.time()
        if self._fast is not None and self._answer_fast(self._fast):
            return
        HttpToolsProtocol.on_headers_complete(self)

    def on_body(self, body: bytes) -> None:
        if not self._refused and not self._answered:
            HttpToolsProtocol.on_body(self, body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        if self._answered:  # by the fast path: no cycle, no keep-alive timer (the sweeper keeps time)
            self._answered = False
            self._phase = _KEPT
            self._since = self.loop.time()
            return
        HttpToolsProtocol.on_message_complete(self)
        if self.cycle.response_complete:
            # answered before its body ended: the body's later bytes stopped the keep-alive timer
            # that the answer started, so the connection waits under the header deadline instead
            self._phase = _SILENT
            self._since = self.loop.time()
        else:
            self._phase = _IDLE

    def send_400_response(self, msg: str) -> None:
        if not self._refused:  # a parse error in what follows a refused request: already answered
            HttpToolsProtocol.send_400_response(self, msg)

    # the public-read fast path

    def _answer_fast(self, fast: FastReads) -> bool:
        """Answer a GET that the fast path (api/fast_reads.py) answers at once, written here as it
        is, without an ASGI cycle: no task, no messages, no per-response timer. Only where uvicorn
        would start the request's cycle now (nothing in flight or queued on the connection, the
        client reading what it is sent, the connection within limit_concurrency); everything else,
        and whatever the fast path does not answer, goes on as uvicorn's own path."""
        parser = self.parser
        if parser.get_method() != b"GET" or parser.should_upgrade() or self.root_path:
            return False
        cycle: RequestResponseCycle | None = self.cycle  # None until the first request begins
        limit = self.limit_concurrency
        if (cycle is not None and not cycle.response_complete) or self.pipeline or self.flow.write_paused or (
                limit is not None and (len(self.connections) >= limit or len(self.tasks) >= limit)) or (
                self.transport.is_closing()):
            return False
        try:
            parsed = httptools.parse_url(self.url)
            raw_path = parsed.path
            path = raw_path.decode("ascii")  # as uvicorn reads it: what it refuses, it refuses below
            scope = self.scope
            scope["method"], scope["raw_path"], scope["query_string"] = "GET", raw_path, parsed.query or b""
            scope["path"] = urllib.parse.unquote(path) if "%" in path else path
            found = fast.answer_now(cast(Any, scope))
        except (httptools.HttpParserInvalidURLError, UnicodeDecodeError):
            return False
        except Exception:  # the application's own path answers it, and logs what it meets
            log.exception("fast path failed; the request goes on through the application")
            return False
        if found is None:
            return False
        keep_alive = parser.get_http_version() != "1.0" and parser.should_keep_alive()
        out = [STATUS_LINE[found.status]]
        for name, value in (*self.server_state.default_headers, *found.headers):
            out += (name, b": ", value, b"\r\n")
        out.append(b"\r\n" if keep_alive else b"connection: close\r\n\r\n")
        out.append(found.content)
        self.transport.write(b"".join(out))
        self._answered = True
        self.server_state.total_requests += 1
        fast.done(found, written=True)
        if not keep_alive:
            # nothing after a request that closes the connection is read, nor answered (RFC 9112 9.6)
            self._refused = True
            self.transport.close()
        return True

    # bounds

    def _parsed_header_bytes(self) -> int:
        """The request's target and headers as parsed, each header line at its shortest (no spaces)."""
        return len(self.url) + sum(len(name) + len(value) + 3 for name, value in self.headers)

    def _overran(self) -> None:
        """The sweeper found the phase past its deadline."""
        if self._refused or self.transport.is_closing():
            return
        if self._phase == _SILENT:
            self.transport.close()
        else:
            self._refuse("request_timeout")

    def _refuse(self, code: str) -> None:
        """Answer with the catalogue's problem for ``code`` unless the request was answered, and close."""
        self._refused = True
        cycle: RequestResponseCycle | None = self.cycle  # None until the first request begins
        running = cycle if cycle is not None and not cycle.response_complete else None
        # no answer inside a response already under way, nor in the place of an earlier request's
        speak = running is None or (self._phase == _BODY and not running.response_started)
        if running is not None:
            # its handler sees a disconnect, and what it sends is dropped
            running.disconnected = True
            running.message_event.set()
        if speak:
            status, body = problem_bytes(code)
            self.transport.write(b"".join([
                STATUS_LINE[status], b"content-type: ", PROBLEM_JSON.encode(), b"\r\n",
                b"content-length: ", str(len(body)).encode(), b"\r\n", b"connection: close\r\n\r\n", body]))
        self.transport.close()


class _Sweeper:
    """Every ``period`` seconds while its server has connections, holds each to its phase's deadline.

    It walks uvicorn's own set of the server's live connections, so that a connection costs it no
    bookkeeping; a pass takes ~0.2 µs a connection (~6 ms for ten thousand on a 2-core VM)."""

    _of_server: weakref.WeakKeyDictionary[ServerState, _Sweeper] = weakref.WeakKeyDictionary()

    def __init__(self, loop: asyncio.AbstractEventLoop, connections: set[Any], limits: ConnectionLimits) -> None:
        self.loop, self.connections, self.limits = loop, connections, limits
        self.period = min(_SWEEP_SECONDS, limits.header_timeout / 4, limits.body_timeout / 4)
        self.timer: asyncio.TimerHandle | None = None

    @classmethod
    def watch(cls, protocol: BoundedHttpProtocol) -> None:
        sweeper = cls._of_server.get(protocol.server_state)
        if sweeper is None:
            sweeper = cls(protocol.loop, protocol.connections, protocol.limits)
            cls._of_server[protocol.server_state] = sweeper
        if sweeper.timer is None:
            sweeper.timer = sweeper.loop.call_later(sweeper.period, sweeper.sweep)

    def sweep(self) -> None:
        now = self.loop.time()
        # a phase that began before these ran past its deadline
        headers_since, body_since = now - self.limits.header_timeout, now - self.limits.body_timeout
        kept_since = now - self.limits.keep_alive
        for protocol in tuple(self.connections):  # a refusal closes, which may leave the set
            phase = protocol._phase
            if phase == _KEPT:
                if protocol._since <= kept_since and not protocol.transport.is_closing():
                    protocol.transport.close()  # as uvicorn's keep-alive timer would
            elif phase != _IDLE and protocol._since <= (body_since if phase == _BODY else headers_since):
                protocol._overran()
        self.timer = self.loop.call_later(self.period, self.sweep) if self.connections else None


def api_processes(settings: Settings) -> int:
    """How many API processes `serve` runs: COMMENTS_WORKERS, else one per CPU this process may use,
    less one where PostgreSQL or Redis run on this machine. Measured on 2 cores shared with both and
    the load generator (BENCHMARKS.md, "Hot reads"): one process answered the hot page with a third
    of the tail latency of two (p99 2.5 against 4.9-12 ms) at 70-80% of their throughput; without
    neighbours, each core is a process's."""
    if settings.server.workers:
        return settings.server.workers
    cpus = usable_cpus()
    neighbours = any(_on_this_machine(url) for url in (settings.database.url, settings.redis.url))
    return max(1, cpus - 1 if neighbours else cpus)


def usable_cpus() -> int:
    """The CPUs this process may run on, within its cgroup's CPU quota (a container's limit)."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        count = os.cpu_count() or 1
    for quota_file, period_file in (("cpu.max", None), ("cpu/cpu.cfs_quota_us", "cpu/cpu.cfs_period_us")):
        try:  # cgroup v2, else v1
            base = Path("/sys/fs/cgroup")
            quota, *rest = (base / quota_file).read_text().split()
            period = rest[0] if period_file is None else (base / period_file).read_text().strip()
        except (OSError, IndexError):
            continue
        if quota not in ("max", "-1") and quota.isdigit() and period.isdigit() and int(period):
            count = min(count, max(1, math.ceil(int(quota) / int(period))))
        break
    return count


def _on_this_machine(url: str | None) -> bool:
    if not url:  # the embedded servers of `comments-service run`
        return True
    hosts = urllib.parse.urlsplit(url.replace("+cluster", "")).netloc.rpartition("@")[2]
    names = [urllib.parse.urlsplit("//" + h.strip()).hostname for h in hosts.split(",") if h.strip()]
    # no host: a Unix socket (or libpq's default, one)
    return not names or any(n is None or n in ("localhost", "::1", "0.0.0.0") or n.startswith("127.") for n in names)


def uvicorn_options(server: ServerSettings) -> dict[str, Any]:
    """uvicorn's keyword arguments for this service, beside the app, address and workers."""
    limits = ConnectionLimits(header_timeout=server.header_timeout_seconds, body_timeout=server.body_timeout_seconds,
                              max_header_bytes=server.max_header_bytes, keep_alive=server.keep_alive_seconds)
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
