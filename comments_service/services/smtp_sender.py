"""Sending notification emails over SMTP (aiosmtplib), one connection kept open and reused.

``parse_smtp_url`` reads COMMENTS_SMTP_URL:

    smtp://[user:pass@]host[:port][?starttls=required|off|auto][&verify=off]   (port 25 by default)
    smtps://[user:pass@]host[:port][?verify=off]                             (implicit TLS, port 465)

smtp:// upgrades with STARTTLS whenever the server offers it (``auto``); ``required`` refuses a server
that does not, ``off`` never upgrades. A user name and password (percent-encoded in the URL) make
STARTTLS required unless the host is the loopback, where a local relay may not offer it; they are
refused with ``starttls=off`` to any other host, which would send the password in clear.
``verify=off`` accepts any certificate (a test server's self-signed one): never in production.

``SmtpSender.send`` delivers one message or raises ``DeliveryFailed(reason, retryable)``. Retryable:
anything that says nothing about the message itself (a refused connection, a timeout, a dropped
connection, a 4xx reply, and every failure while opening the session: greeting, TLS, AUTH, since a
wrong password or certificate is the operator's to fix and the mail should wait for it). Not
retryable: a 5xx reply to this message's MAIL FROM, RCPT TO or DATA (550 unknown recipient) and a
message that cannot be sent as it is (no recipient, an address the server cannot take).

One send is bounded by ``timeout_s`` in all (connecting, TLS, AUTH, the transaction, and the one
transparent reconnect when a reused connection turns out to be closed), so a server that accepts the
TCP connection and never answers fails within ``timeout_s``. A send that is interrupted after the
server got the whole message but before its reply arrived may deliver twice when retried: the
Message-ID stays the same (domain/notification_mail.build), so a receiver can drop the copy.
"""

from __future__ import annotations

import asyncio
import copy
import email.policy
import io
import ipaddress
import time
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import getaddresses
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

import aiosmtplib

from ..domain.structs import Struct

StartTls = Literal["auto", "required", "off"]

_REASON_CHARS = 300


class SmtpConfig(Struct, frozen=True):
    host: str
    port: int
    implicit_tls: bool
    starttls: StartTls
    username: str | None = None
    password: str | None = None
    verify: bool = True

    def __repr__(self) -> str:
        # the password stays out of logs and tracebacks
        return (f"SmtpConfig(host={self.host!r}, port={self.port}, implicit_tls={self.implicit_tls}, "
                f"starttls={self.starttls!r}, username={self.username!r}, "
                f"password={'***' if self.password is not None else None}, verify={self.verify})")


class DeliveryFailed(Exception):
    """A message was not delivered. ``retryable``: the same message may succeed later; otherwise the
    server refused this message for good. ``code``: the server's reply code, when it gave one."""

    def __init__(self, reason: str, retryable: bool, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.code = code

    def __repr__(self) -> str:
        return f"DeliveryFailed(reason={self.reason!r}, retryable={self.retryable}, code={self.code})"


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_smtp_url(url: str) -> SmtpConfig:
    """The SmtpConfig that COMMENTS_SMTP_URL names; ValueError saying what is wrong (never echoing
    the password)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"COMMENTS_SMTP_URL: not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in {"smtp", "smtps"}:
        raise ValueError(f"COMMENTS_SMTP_URL: scheme {scheme or '(none)'!r} is not supported; use smtp:// "
                         "(STARTTLS when offered) or smtps:// (implicit TLS)")
    host = parts.hostname
    if not host:
        raise ValueError("COMMENTS_SMTP_URL: no host")
    if parts.path not in {"", "/"} or parts.fragment:
        raise ValueError("COMMENTS_SMTP_URL: a path or fragment means nothing here")
    options: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key in options:
            raise ValueError(f"COMMENTS_SMTP_URL: option {key!r} given twice")
        options[key] = value.lower()
    unknown = sorted(set(options) - {"starttls", "verify"})
    if unknown:
        raise ValueError(f"COMMENTS_SMTP_URL: unknown option(s) {', '.join(unknown)}; known: starttls, verify")
    verify_option = options.get("verify", "on")
    if verify_option not in {"on", "off"}:
        raise ValueError("COMMENTS_SMTP_URL: verify must be on or off")
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    if username == "":
        username = None
    if password is not None and username is None:
        raise ValueError("COMMENTS_SMTP_URL: a password without a user name")
    if scheme == "smtps":
        if "starttls" in options:
            raise ValueError("COMMENTS_SMTP_URL: starttls means nothing with smtps:// (TLS from the start)")
        return SmtpConfig(host=host, port=port or 465, implicit_tls=True, starttls="off",
                          username=username, password=password, verify=verify_option == "on")
    starttls_option = options.get("starttls", "auto")
    if starttls_option not in {"auto", "required", "off"}:
        raise ValueError("COMMENTS_SMTP_URL: starttls must be required, off or auto")
    starttls: StartTls = "required" if starttls_option == "required" else (
        "off" if starttls_option == "off" else "auto")
    if username is not None and not _is_loopback(host):
        if starttls == "off":
            raise ValueError("COMMENTS_SMTP_URL: starttls=off with a user name would send the password in "
                             "clear; use STARTTLS or smtps://")
        # "auto" would log in without TLS to a server (or a man in the middle) that does not offer it
        starttls = "required"
    return SmtpConfig(host=host, port=port or 25, implicit_tls=False, starttls=starttls,
                      username=username, password=password, verify=verify_option == "on")


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _REASON_CHARS else text[: _REASON_CHARS - 1] + "\u2026"


# Replies about our credentials or our TLS rather than the message (RFC 4954 6: authentication
# required, mechanism too weak, credentials invalid, encryption required): permanent for the
# session, not for the message, which can go once the operator fixes the configuration.
_SESSION_CODES = frozenset({530, 534, 535, 538})


def _by_code(step: str, code: int, message: str) -> DeliveryFailed:
    # RFC 5321 4.2.1: 4yz is a transient failure, 5yz a permanent one
    retryable = not 500 <= code <= 599 or code in _SESSION_CODES
    return DeliveryFailed(f"{step}: {code} {_shorten(message)}", retryable=retryable, code=code)


def _transaction_failure(exc: Exception) -> DeliveryFailed:
    """What a failure of MAIL FROM / RCPT TO / DATA on an open session means for the message."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        first = exc.recipients[0] if exc.recipients else None
        if first is None:
            return DeliveryFailed("recipient refused", retryable=True)
        return _by_code(f"recipient {first.recipient!r} refused", first.code, first.message)
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):
        return _by_code("sender refused", exc.code, exc.message)
    if isinstance(exc, aiosmtplib.SMTPDataError):
        return _by_code("message refused", exc.code, exc.message)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return _by_code("server refused", exc.code, exc.message)
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        # e.g. a non-ASCII address and a server without SMTPUTF8: this message will never go there
        return DeliveryFailed(f"not supported by the server: {_shorten(str(exc))}", retryable=False)
    if isinstance(exc, ValueError):
        return DeliveryFailed(f"message cannot be sent: {_shorten(str(exc))}", retryable=False)
    return _network_failure(exc)


def _network_failure(exc: BaseException) -> DeliveryFailed:
    if isinstance(exc, TimeoutError):
        return DeliveryFailed(f"timed out: {_shorten(str(exc)) or 'no answer in time'}", retryable=True)
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected | ConnectionError):
        return DeliveryFailed(f"disconnected: {_shorten(str(exc))}", retryable=True)
    return DeliveryFailed(f"{type(exc).__name__}: {_shorten(str(exc))}", retryable=True)


if TYPE_CHECKING:
    _EmailPolicy = EmailPolicy[EmailMessage]
else:
    _EmailPolicy = EmailPolicy


@lru_cache(maxsize=1024)
def _parsed_header(name: str, value: str) -> Any:
    return email.policy.default.header_factory(name, value)


class _SendPolicy(_EmailPolicy):
    """email.policy.SMTP, except that a header read while the message is written out is parsed once.
    The generator reads a raw header (one stored with set_raw, as domain/notification_mail does) by
    parsing it afresh each time, Content-Type seven times a message: more than half of what sending
    cost. Header objects are immutable, so one parse may serve every message with the same header."""

    def header_fetch_parse(self, name: str, value: str) -> Any:
        if hasattr(value, "name"):
            return value
        return _parsed_header(name, value.replace("\r", "").replace("\n", ""))


_POLICIES = {
    (utf8, cte_type): _SendPolicy(linesep="\r\n", utf8=utf8, cte_type=cte_type)
    for utf8 in (False, True) for cte_type in ("8bit", "7bit")
}


def _envelope(message: EmailMessage) -> tuple[str, list[str]]:
    """(MAIL FROM, RCPT TO) from the headers, read raw: Sender or From; To, Cc and Bcc."""
    raw = [(name.lower(), str(value)) for name, value in message.raw_items()]
    senders = [v for n, v in raw if n == "sender"] or [v for n, v in raw if n == "from"]
    sender = next((address for _, address in getaddresses(senders) if address), None)
    recipients = [address for _, address in getaddresses([v for n, v in raw if n in {"to", "cc", "bcc"}])
                  if address]
    if sender is None:
        raise ValueError("no From address")
    if not recipients:
        raise ValueError("no recipient (To, Cc or Bcc)")
    return sender, recipients


def _flatten(message: EmailMessage, *, utf8: bool, cte_type: str) -> bytes:
    if message.get_all("Bcc") or message.get_all("Resent-Bcc"):
        message = copy.copy(message)
        del message["Bcc"]
        del message["Resent-Bcc"]
    out = io.BytesIO()
    BytesGenerator(out, policy=_POLICIES[utf8, cte_type]).flatten(message)
    return out.getvalue()


async def _transaction(smtp: aiosmtplib.SMTP, message: EmailMessage) -> None:
    """aiosmtplib's send_message with a faster way of writing the message out (_SendPolicy)."""
    sender, recipients = _envelope(message)
    if smtp.is_ehlo_or_helo_needed:
        try:
            await smtp.ehlo()
        except aiosmtplib.SMTPHeloError:
            await smtp.helo()
    options: list[str] = []
    utf8 = not (sender.isascii() and all(r.isascii() for r in recipients))
    if utf8:
        if not smtp.supports_extension("smtputf8"):
            raise aiosmtplib.SMTPNotSupported("a non-ASCII address, and the server has no SMTPUTF8")
        options.append("SMTPUTF8")
    eight_bit = smtp.supports_extension("8bitmime")
    if eight_bit:
        options.append("BODY=8BITMIME")
    flat = _flatten(message, utf8=utf8, cte_type="8bit" if eight_bit else "7bit")
    await smtp.sendmail(sender, recipients, flat, mail_options=options)


class SmtpSender:
    """Sends EmailMessages over one SMTP connection, opened on the first send and kept for the next
    ones (reopened when the server closed it, or after ``max_idle_s`` unused, since a connection that
    a NAT or firewall forgot would otherwise cost a whole ``timeout_s`` to find out). One send at a
    time: concurrent callers queue on a lock, and the wait does not count against their timeout."""

    def __init__(self, config: SmtpConfig, *, timeout_s: float = 10.0, max_idle_s: float = 60.0,
                 local_hostname: str | None = None) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self._config = config
        self._timeout_s = timeout_s
        self._max_idle_s = max_idle_s
        self._local_hostname = local_hostname
        self._lock = asyncio.Lock()
        self._smtp: aiosmtplib.SMTP | None = None
        self._last_used = 0.0
        self._closed = False
        self.connections_opened = 0

    def _new_client(self) -> aiosmtplib.SMTP:
        config = self._config
        start_tls: bool | None = {"auto": None, "required": True, "off": False}[config.starttls]
        return aiosmtplib.SMTP(
            hostname=config.host, port=config.port, username=config.username, password=config.password,
            local_hostname=self._local_hostname, timeout=self._timeout_s, use_tls=config.implicit_tls,
            start_tls=False if config.implicit_tls else start_tls, validate_certs=config.verify,
        )

    def _drop(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None

    async def _open(self) -> aiosmtplib.SMTP:
        smtp = self._new_client()
        self.connections_opened += 1
        try:
            await smtp.connect()
        except asyncio.CancelledError:
            smtp.close()
            raise
        except aiosmtplib.SMTPResponseException as exc:
            smtp.close()
            # a refusal while opening the session (greeting, EHLO, STARTTLS, AUTH) says nothing about
            # the message: retryable whatever the code
            raise DeliveryFailed(f"session refused: {exc.code} {_shorten(exc.message)}", retryable=True,
                                 code=exc.code) from exc
        except Exception as exc:
            smtp.close()
            failure = _network_failure(exc)
            raise DeliveryFailed(f"connect: {failure.reason}", retryable=True) from exc
        self._smtp = smtp
        return smtp

    async def _attempt(self, message: EmailMessage, smtp: aiosmtplib.SMTP) -> None:
        try:
            await _transaction(smtp, message)
        except asyncio.CancelledError:
            # cut off mid-command: the next reply on this connection would answer the wrong command
            self._drop()
            raise
        except Exception as exc:
            # a refusal (the server answered; aiosmtplib then sent RSET) or a message refused before
            # anything was sent leaves the session usable for the next message; anything else may not
            usable = isinstance(exc, aiosmtplib.SMTPResponseException | aiosmtplib.SMTPRecipientsRefused
                                | aiosmtplib.SMTPNotSupported | ValueError)
            if not (usable and smtp.is_connected):
                self._drop()
            raise _transaction_failure(exc) from exc

    async def send(self, message: EmailMessage) -> None:
        """Deliver ``message`` to its To/Cc/Bcc recipients, envelope sender its From address."""
        async with self._lock:
            if self._closed:
                raise DeliveryFailed("the sender is closed", retryable=True)
            try:
                async with asyncio.timeout(self._timeout_s):
                    await self._send_locked(message)
            except TimeoutError as exc:
                self._drop()
                raise DeliveryFailed(f"timed out after {self._timeout_s:g} s", retryable=True) from exc
            finally:
                self._last_used = time.monotonic()

    async def _send_locked(self, message: EmailMessage) -> None:
        smtp = self._smtp
        if smtp is not None and (not smtp.is_connected or time.monotonic() - self._last_used > self._max_idle_s):
            self._drop()
            smtp = None
        if smtp is None:
            await self._attempt(message, await self._open())
            return
        try:
            await self._attempt(message, smtp)
        except DeliveryFailed as failure:
            # a reused connection the server had closed (or was closing: 421) before this message:
            # once, on a fresh one
            closed = failure.code == 421 or isinstance(failure.__cause__, ConnectionError)
            if not closed:
                raise
            self._drop()
            await self._attempt(message, await self._open())

    async def close(self) -> None:
        """QUIT (bounded by timeout_s) and close; later sends raise DeliveryFailed."""
        async with self._lock:
            self._closed = True
            smtp, self._smtp = self._smtp, None
            if smtp is None or not smtp.is_connected:
                return
            try:
                await asyncio.wait_for(smtp.quit(), self._timeout_s)
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                pass  # a polite goodbye only: the connection closes either way
            finally:
                smtp.close()


class SmtpPool:
    """Several SmtpSenders, each a connection of its own, used by whoever is free: one connection
    waits on a round trip four times per message, so a few side by side carry several times one's
    rate (the notifier sends ``concurrency`` at once)."""

    def __init__(self, config: SmtpConfig, size: int, *, timeout_s: float = 10.0,
                 local_hostname: str | None = None) -> None:
        self._senders = [SmtpSender(config, timeout_s=timeout_s, local_hostname=local_hostname)
                         for _ in range(max(1, size))]
        self._idle: asyncio.Queue[SmtpSender] = asyncio.Queue()
        for sender in self._senders:
            self._idle.put_nowait(sender)

    async def send(self, message: EmailMessage) -> None:
        sender = await self._idle.get()
        try:
            await sender.send(message)
        finally:
            self._idle.put_nowait(sender)

    async def close(self) -> None:
        for sender in self._senders:
            await sender.close()
