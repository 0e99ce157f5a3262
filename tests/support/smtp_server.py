"""A real SMTP server for the tests: aiosmtpd in a thread of its own, keeping what it receives.

``SmtpSink`` listens on 127.0.0.1 (a free port the first time, the same port when started again
after ``stop()``, so a test can take the server away and bring it back under a client that keeps
its URL). Options: ``auth=(user, password)`` makes AUTH required; ``tls="starttls"`` offers STARTTLS
and ``tls="implicit"`` speaks TLS from the first byte, both with a self-signed certificate made at
start (``cert_pem`` holds it); ``reject_rcpt`` are addresses answered ``550``, ``defer_rcpt`` ones
answered ``451`` (try later).

Every message is kept as a ``ReceivedMessage`` (an EmailMessage, parsed with the default policy)
that also carries its envelope (``envelope_from``, ``envelope_to``), the client's address
(``peer``: one per connection, so ``connections`` counts the connections that delivered), whether
it came over TLS and who logged in. ``wait_for(n)`` blocks until n messages are in (the thread's
condition, so it serves sync tests; async tests use ``await wait_for_async(n)``).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import ssl
import tempfile
import threading
from collections.abc import Iterable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal, Self
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.support import certificates

HOST = "127.0.0.1"


class ReceivedMessage(EmailMessage):
    """A message as the sink got it, with its envelope."""

    envelope_from: str | None = None
    envelope_to: list[str]
    peer: tuple[str, int] | None = None
    tls: bool = False
    auth_user: str | None = None


def self_signed_certificate(host: str = HOST) -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM) for ``host`` (an IP address and "localhost"), valid for a day."""
    return certificates.self_signed_certificate("smtp-sink.test", ip_addresses=(host,))


def _server_context(cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    # load_cert_chain reads files only
    with tempfile.TemporaryDirectory() as folder:
        cert_file, key_file = Path(folder) / "cert.pem", Path(folder) / "key.pem"
        cert_file.write_bytes(cert_pem)
        key_file.write_bytes(key_pem)
        context.load_cert_chain(cert_file, key_file)
    return context


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if address.lower() in self._sink.reject_rcpt:
            return f"550 5.1.1 <{address}>: Recipient address rejected"
        if address.lower() in self._sink.defer_rcpt:
            return f"451 4.3.0 <{address}>: Try again later"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content
        if raw is None:
            content = envelope.content
            raw = content.encode("utf-8") if isinstance(content, str) else (content or b"")
        message = email.message_from_bytes(raw, _class=ReceivedMessage, policy=email.policy.default)
        assert isinstance(message, ReceivedMessage)
        message.envelope_from = envelope.mail_from
        message.envelope_to = list(envelope.rcpt_tos)
        peer = session.peer
        message.peer = (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) else None
        transport = server.transport
        message.tls = transport is not None and transport.get_extra_info("sslcontext") is not None
        auth = session.auth_data
        message.auth_user = auth.login.decode() if isinstance(auth, LoginPassword) else None
        self._sink._received(message)
        return "250 2.0.0 OK: queued"


class _Controller(Controller):
    """aiosmtpd's threaded controller on a socket bound beforehand (so the port is known, and the same
    one, before the thread starts); it keeps its sessions so that stop() can cut them."""

    def __init__(self, handler: Any, sock: socket.socket, **kwargs: Any) -> None:
        super().__init__(handler, hostname=HOST, port=sock.getsockname()[1], **kwargs)
        self._sock = sock
        self.sessions: list[SMTP] = []

    def factory(self) -> SMTP:
        smtpd = super().factory()
        self.sessions.append(smtpd)
        return smtpd

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)

    def cut_sessions(self) -> None:
        """Close every open client connection (from any thread), as a server that goes away does."""

        def close_all() -> None:
            for smtpd in self.sessions:
                if smtpd.transport is not None:
                    smtpd.transport.close()

        done = threading.Event()
        self.loop.call_soon_threadsafe(lambda: (close_all(), done.set()))
        done.wait(5)


class SmtpSink:
    def __init__(self, *, auth: tuple[str, str] | None = None, tls: Literal["starttls", "implicit"] | None = None,
                 reject_rcpt: Iterable[str] = (), defer_rcpt: Iterable[str] = (),
                 require_starttls: bool = False) -> None:
        self.auth = auth
        self.tls = tls
        self.reject_rcpt = {address.lower() for address in reject_rcpt}
        self.defer_rcpt = {address.lower() for address in defer_rcpt}
        self.require_starttls = require_starttls
        self.port = 0
        self.cert_pem: bytes | None = None
        self._key_pem: bytes | None = None
        self._controller: _Controller | None = None
        self._messages: list[ReceivedMessage] = []
        self._condition = threading.Condition()

    # ------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        assert self._controller is None, "already started"
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, self.port))
            sock.listen(128)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        kwargs: dict[str, Any] = {"server_hostname": "smtp-sink.test", "timeout": 60}
        if self.tls is not None:
            if self.cert_pem is None:
                self.cert_pem, self._key_pem = self_signed_certificate()
            assert self._key_pem is not None
            context = _server_context(self.cert_pem, self._key_pem)
            if self.tls == "implicit":
                kwargs["ssl_context"] = context
            else:
                kwargs["tls_context"] = context
                kwargs["require_starttls"] = self.require_starttls
        if self.auth is not None:
            kwargs["authenticator"] = self._authenticate
            kwargs["auth_required"] = True
            # a plain sink takes AUTH in clear (loopback only), a STARTTLS one only after STARTTLS;
            # aiosmtpd counts only STARTTLS as TLS, so an implicit-TLS sink must not require it
            kwargs["auth_require_tls"] = self.tls == "starttls"
        controller = _Controller(_Handler(self), sock, **kwargs)
        try:
            controller.start()
        except BaseException:
            sock.close()
            raise
        # the controller's own readiness probe is a connection too: not one a test made
        controller.sessions.clear()
        self._controller = controller
        return self

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is None:
            return
        controller.cut_sessions()
        controller.stop()

    @property
    def running(self) -> bool:
        return self._controller is not None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                      auth_data: Any) -> AuthResult:
        assert self.auth is not None
        user, password = self.auth
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            user.encode(), password.encode())
        # handled=False: smtp_AUTH answers 535 itself (handled=True would leave the client waiting)
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    # ------------------------------------------------------------ what a test reads

    @property
    def url(self) -> str:
        """The COMMENTS_SMTP_URL for this sink (credentials and ?verify=off included as configured)."""
        assert self.port, "start() first"
        scheme = "smtps" if self.tls == "implicit" else "smtp"
        user = ""
        if self.auth is not None:
            user = f"{quote(self.auth[0], safe='')}:{quote(self.auth[1], safe='')}@"
        options = []
        if self.tls == "starttls":
            options.append("starttls=required")
        if self.tls is not None:
            options.append("verify=off")
        query = ("?" + "&".join(options)) if options else ""
        return f"{scheme}://{user}{HOST}:{self.port}{query}"

    @property
    def messages(self) -> list[ReceivedMessage]:
        with self._condition:
            return list(self._messages)

    @property
    def connections(self) -> int:
        """How many distinct client connections delivered the messages kept now."""
        return len({m.peer for m in self.messages})

    @property
    def sessions_opened(self) -> int:
        """Client connections accepted since the last start (delivering or not)."""
        return len(self._controller.sessions) if self._controller is not None else 0

    def _received(self, message: ReceivedMessage) -> None:
        with self._condition:
            self._messages.append(message)
            self._condition.notify_all()

    def wait_for(self, n: int, timeout: float = 10.0) -> list[ReceivedMessage]:
        """The messages once at least ``n`` are in; AssertionError after ``timeout`` seconds."""
        with self._condition:
            if not self._condition.wait_for(lambda: len(self._messages) >= n, timeout):
                raise AssertionError(f"the SMTP sink got {len(self._messages)} message(s), not {n}, in {timeout} s")
            return list(self._messages)

    async def wait_for_async(self, n: int, timeout: float = 10.0) -> list[ReceivedMessage]:
        return await asyncio.to_thread(self.wait_for, n, timeout)

    def clear(self) -> None:
        with self._condition:
            self._messages.clear()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A plain SMTP sink (no TLS, no AUTH), started, stopped after the test."""
    sink = SmtpSink().start()
    try:
        yield sink
    finally:
        sink.stop()
