"""One signed webhook delivery: resolve, check every address, connect to the checked address, POST, classify.

The HTTP client is a minimal HTTP/1.1 one on asyncio streams: redirects never followed, only the
status line and headers read (plus a bounded body). Connecting to the address that was checked,
with SNI and Host set to the URL's host name, means a second DNS answer can never swap in an
internal address (DNS rebinding). Signatures follow the Standard Webhooks specification
(https://www.standardwebhooks.com), made with the `standardwebhooks` library.

Connections are kept alive between calls to the same scheme, host and port (a newsroom's receiver
takes a burst of events; a new TCP and TLS handshake for each would cost more than the call): a
connection goes back to the idle set only when its response was read whole (a Content-Length within
the response bound, no ``Connection: close``) and is dropped after IDLE_S unused. A kept
connection the receiver closed meanwhile fails before any byte of an answer; the call is then made
once more on a new connection, which a receiver sees as at most one more delivery of the same
webhook-id (Standard Webhooks receivers dedupe by it).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import secrets
import socket
import ssl
import time
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

from ..domain.structs import Struct
from ..domain.webhook_urls import EndpointUrl, InvalidEndpoint, address_allowed, check_endpoint_url

USER_AGENT = "comments_service-webhooks"

# Bounds on what a receiver can make us hold: one header line, the whole header block, interim responses.
_MAX_LINE_BYTES = 8 * 1024
_MAX_HEADER_BYTES = 32 * 1024
_MAX_INTERIM_RESPONSES = 5
_CLOSE_TIMEOUT_S = 1.0
IDLE_S = 4.0  # under the keep-alive timeouts common servers use (5 s and up), so they rarely close first
MAX_IDLE = 64  # kept connections in all; more are closed after their call


class WebhookResult(Struct, frozen=True):
    """The outcome of one attempt. `status` is the HTTP status when one was received; `error` is None on
    success, otherwise a short code (see WebhookSender.send); `retryable` says whether to try again later."""

    status: int | None
    latency_ms: int
    retryable: bool
    error: str | None


def new_secret() -> str:
    """A fresh endpoint signing secret in the Standard Webhooks form: "whsec_" + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


class _Refused(Exception):
    """Every address the host resolved to, or one of them, is not allowed."""


class _BadResponse(Exception):
    """The receiver's reply is not HTTP/1.x we can read within our bounds."""


class _StaleConnection(Exception):
    """The connection ended before any byte of an answer: a kept one the receiver closed while idle."""


class WebhookSender:
    """Sends signed webhooks. Shared by the tasks of one event loop: it holds its options, an SSL
    context and the idle connections (close() them when done)."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        allow_http_loopback: bool = False,
        connect_timeout_s: float = 5.0,
        total_timeout_s: float = 10.0,
        max_response_bytes: int = 64 * 1024,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if connect_timeout_s <= 0 or total_timeout_s <= 0:
            raise ValueError("timeouts must be positive")
        if max_response_bytes < 0:
            raise ValueError("max_response_bytes must not be negative")
        self.allow_private = allow_private
        # loopback addresses (and plain http to them) are for tests and local development only
        self.allow_http_loopback = allow_http_loopback
        self.connect_timeout_s = connect_timeout_s
        self.total_timeout_s = total_timeout_s
        self.max_response_bytes = max_response_bytes
        self._ssl = ssl_context if ssl_context is not None else ssl.create_default_context()
        self._idle: dict[tuple[str, str, int], list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]]] = {}
        self._idle_count = 0
        self._closed = False

    async def send(
        self, url: str, secret: str, msg_id: str, payload: bytes, *, timestamp: int | None = None
    ) -> WebhookResult:
        """POST `payload` (UTF-8 JSON) to `url`, signed with `secret` for message `msg_id`.

        Never raises for anything the network or receiver does; raises ValueError only for a caller
        error (msg_id not 1..256 visible ASCII characters, a secret that is not base64, a payload that
        is not UTF-8). Error codes: "invalid_endpoint:<reason_code>" and "address_not_allowed" (not
        retryable), "redirect_not_followed" (3xx) and "http_error" (4xx other than 408/429, not
        retryable; 408, 429 and 5xx retryable), and retryable "dns_error", "dns_timeout",
        "connect_error", "connect_timeout", "tls_error", "invalid_response", "timeout".
        """
        if not 1 <= len(msg_id) <= 256 or not all("!" <= ch <= "~" for ch in msg_id):
            raise ValueError("msg_id must be 1 to 256 visible ASCII characters")
        when = datetime.fromtimestamp(time.time() if timestamp is None else timestamp, tz=UTC)
        try:
            signer = Webhook(secret)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("the webhook secret is not valid base64") from exc
        except Exception as exc:  # the library's own EmptyWebhookSecretError is not a ValueError
            raise ValueError(f"the webhook secret is not usable: {exc}") from exc
        # signed as text so the signature covers exactly these bytes with any library version
        signature = signer.sign(msg_id, when, payload.decode("utf-8"))
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(when.timestamp())),
            "webhook-signature": signature,
        }

        started = time.monotonic()

        def result(status: int | None, retryable: bool, error: str | None) -> WebhookResult:
            latency = round((time.monotonic() - started) * 1000)
            return WebhookResult(status=status, latency_ms=latency, retryable=retryable, error=error)

        try:
            endpoint = check_endpoint_url(
                url, allow_http_loopback=self.allow_http_loopback, allow_private=self.allow_private
            )
        except InvalidEndpoint as exc:
            return result(None, False, f"invalid_endpoint:{exc.reason_code}")

        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.total_timeout_s
        key = (endpoint.scheme, endpoint.host, endpoint.port)
        try:
            async with asyncio.timeout_at(deadline):
                kept = self._take(key, loop.time())
                if kept is not None:
                    try:
                        return await self._exchange(kept, key, endpoint, headers, payload, result, deadline)
                    except _StaleConnection:
                        pass  # closed by the receiver while idle: once more, on a new connection
                fresh = await self._open(endpoint)
                try:
                    return await self._exchange(fresh, key, endpoint, headers, payload, result, deadline)
                except _StaleConnection:
                    raise _BadResponse("closed before answering") from None
        except _Refused:
            return result(None, False, "address_not_allowed")
        except (_DnsFailure, _ConnectFailure) as exc:
            return result(None, True, exc.code)
        except _BadResponse:
            return result(None, True, "invalid_response")
        except TimeoutError:
            return result(None, True, "timeout")
        except ssl.SSLError:
            return result(None, True, "tls_error")
        except OSError:
            return result(None, True, "connect_error")

    async def _exchange(
        self,
        connection: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        key: tuple[str, str, int],
        endpoint: EndpointUrl,
        headers: dict[str, str],
        payload: bytes,
        result: Callable[[int | None, bool, str | None], WebhookResult],
        deadline: float,
    ) -> WebhookResult:
        """One request and its response on ``connection``, which is then kept or closed. Raises
        _StaleConnection when the connection ended before any byte of an answer."""
        reader, writer = connection
        try:
            try:
                status, content_length, reusable = await self._request(reader, writer, endpoint, headers, payload)
            except (ConnectionResetError, BrokenPipeError):
                raise _StaleConnection() from None
        except BaseException:
            writer.transport.abort()
            raise
        outcome = _classify(status, result)
        # the status is known: reading the rest of the answer (so the receiver's write completes, and
        # the connection can carry the next call) is bounded by what is left of the deadline and
        # never changes the outcome
        if reusable and content_length is not None and content_length <= self.max_response_bytes:
            try:
                async with asyncio.timeout_at(deadline):
                    await reader.readexactly(content_length)
            except (TimeoutError, OSError, asyncio.IncompleteReadError):
                writer.transport.abort()
                return outcome
            self._keep(key, connection)
            return outcome
        if content_length:
            with suppress(TimeoutError, OSError, asyncio.IncompleteReadError):
                async with asyncio.timeout_at(deadline):
                    await reader.readexactly(min(content_length, self.max_response_bytes))
        await _close(writer)
        return outcome

    def _take(self, key: tuple[str, str, int], now: float) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """The most recently used idle connection to ``key`` still open and silent; the others closed."""
        idle = self._idle.get(key)
        while idle:
            reader, writer, expires = idle.pop()
            self._idle_count -= 1
            if expires > now and _quiet(reader, writer):
                return reader, writer
            writer.transport.abort()
        return None

    def _keep(self, key: tuple[str, str, int], connection: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
        reader, writer = connection
        now = asyncio.get_running_loop().time()
        self._prune(now)
        if self._idle_count >= MAX_IDLE or self._closed or not _quiet(reader, writer):
            writer.transport.abort()
            return
        self._idle.setdefault(key, []).append((reader, writer, now + IDLE_S))
        self._idle_count += 1

    def _prune(self, now: float) -> None:
        """Closes the idle connections past their time, to every host (not only the one asked for)."""
        for key in list(self._idle):
            live = []
            for reader, writer, expires in self._idle[key]:
                if expires > now and not writer.is_closing():
                    live.append((reader, writer, expires))
                else:
                    writer.transport.abort()
                    self._idle_count -= 1
            if live:
                self._idle[key] = live
            else:
                del self._idle[key]

    async def close(self) -> None:
        """Closes the idle connections; calls after this one close theirs when done."""
        self._closed = True
        for idle in self._idle.values():
            for _, writer, _ in idle:
                writer.transport.abort()
        self._idle.clear()
        self._idle_count = 0

    async def _open(self, endpoint: EndpointUrl) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await self._connect(endpoint, await self._resolve(endpoint))

    async def _request(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        endpoint: EndpointUrl,
        headers: dict[str, str],
        payload: bytes,
    ) -> tuple[int, int | None, bool]:
        lines = [
            f"POST {endpoint.path_and_query} HTTP/1.1",
            f"Host: {endpoint.host_header}",
            f"User-Agent: {USER_AGENT}",
            "Content-Type: application/json",
            f"Content-Length: {len(payload)}",
            *(f"{name}: {value}" for name, value in headers.items()),
        ]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + payload)
        await writer.drain()
        return await self._read_head(reader)

    async def _resolve(self, endpoint: EndpointUrl) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        try:
            literal = ipaddress.ip_address(endpoint.host)
        except ValueError:
            literal = None
        if literal is not None:
            found = [literal]
        else:
            loop = asyncio.get_running_loop()
            try:
                async with asyncio.timeout(self.connect_timeout_s):
                    infos = await loop.getaddrinfo(
                        endpoint.host, endpoint.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
                    )
            except TimeoutError:
                raise _DnsFailure("dns_timeout") from None
            except (OSError, UnicodeError):
                raise _DnsFailure("dns_error") from None
            found = []
            for family, _, _, _, sockaddr in infos:
                if family not in (socket.AF_INET, socket.AF_INET6):
                    continue
                ip = ipaddress.ip_address(str(sockaddr[0]))
                if ip not in found:
                    found.append(ip)
            if not found:
                raise _DnsFailure("dns_error")
        # one refused address refuses the host: an attacker-controlled zone may mix public and private answers
        for ip in found:
            if not address_allowed(ip, allow_private=self.allow_private, allow_loopback=self.allow_http_loopback):
                raise _Refused()
            if endpoint.scheme == "http" and not ip.is_loopback and not _mapped_loopback(ip):
                raise _Refused()  # plain http leaves this machine for no one
        return found

    async def _connect(
        self, endpoint: EndpointUrl, addresses: list[ipaddress.IPv4Address | ipaddress.IPv6Address]
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        tls = endpoint.scheme == "https"
        failure = "connect_error"
        for ip in addresses:
            target = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped else ip
            try:
                async with asyncio.timeout(self.connect_timeout_s):
                    return await asyncio.open_connection(
                        str(target),
                        endpoint.port,
                        ssl=self._ssl if tls else None,
                        server_hostname=endpoint.host if tls else None,
                        limit=_MAX_LINE_BYTES,
                    )
            except TimeoutError:
                failure = "connect_timeout"
            except ssl.SSLError:
                raise  # the host answered: another address of it would present the same certificate
            except OSError:
                failure = "connect_error"
        raise _ConnectFailure(failure)

    async def _read_head(self, reader: asyncio.StreamReader) -> tuple[int, int | None, bool]:
        """The final status, its Content-Length (None when absent; 0 for a status that has no
        body) and whether the connection may carry another call, skipping interim 1xx responses."""
        for index in range(_MAX_INTERIM_RESPONSES + 1):
            version, status = _parse_status_line(await _read_line(reader, first=index == 0))
            content_length: int | None = None
            reusable = version == b"HTTP/1.1"
            total = 0
            while True:
                line = await _read_line(reader)
                total += len(line)
                if total > _MAX_HEADER_BYTES:
                    raise _BadResponse("headers too large")
                if line in (b"\r\n", b"\n"):
                    break
                name, sep, value = line.partition(b":")
                if not sep:
                    continue
                name = name.strip().lower()
                if name == b"content-length":
                    try:
                        content_length = max(0, int(value.strip()))
                    except ValueError:
                        reusable = False
                elif name == b"connection" and b"close" in value.lower():
                    reusable = False
                elif name == b"transfer-encoding":
                    reusable = False  # chunked: not read, so the connection cannot carry another call
            if status >= 200:
                if status in (204, 304):
                    content_length = 0
                return status, content_length, reusable and content_length is not None
        raise _BadResponse("too many interim responses")


def _classify(status: int, result: Callable[[int | None, bool, str | None], WebhookResult]) -> WebhookResult:
    if 200 <= status < 300:
        return result(status, False, None)
    if 300 <= status < 400:
        return result(status, False, "redirect_not_followed")
    return result(status, status in (408, 429) or status >= 500, "http_error")


class _DnsFailure(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class _ConnectFailure(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _quiet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    """Open, and nothing unread from the receiver: bytes it sent that no call asked for would be read
    as the next call's answer (asyncio's StreamReader shows what it holds only through _buffer)."""
    return not writer.is_closing() and not reader.at_eof() and not getattr(reader, "_buffer", b"")


def _mapped_loopback(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None and ip.ipv4_mapped.is_loopback


async def _read_line(reader: asyncio.StreamReader, *, first: bool = False) -> bytes:
    try:
        line = await reader.readline()
    except ValueError:  # longer than the stream's limit
        raise _BadResponse("header line too long") from None
    if first and not line:
        raise _StaleConnection()  # closed before a byte of the answer
    if not line.endswith(b"\n"):
        raise _BadResponse("connection closed inside the response head")
    return line


def _parse_status_line(line: bytes) -> tuple[bytes, int]:
    version, _, rest = line.partition(b" ")
    code = rest[:3]
    if version not in (b"HTTP/1.1", b"HTTP/1.0") or len(code) != 3 or not code.isdigit() or rest[3:4] not in b" \r\n":
        raise _BadResponse("not an HTTP/1.x status line")
    status = int(code)
    if not 100 <= status <= 599:
        raise _BadResponse("status out of range")
    return version, status


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    try:
        # a TLS peer that never answers close_notify must not hold the delivery
        async with asyncio.timeout(_CLOSE_TIMEOUT_S):
            await writer.wait_closed()
    except (TimeoutError, OSError, ssl.SSLError):
        writer.transport.abort()
