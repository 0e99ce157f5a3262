"""SmtpSender against a real SMTP server (aiosmtpd, tests/support/smtp_server.py): plain, STARTTLS,
implicit TLS and AUTH; one connection for many messages; which failures are retryable; a server
that goes away and comes back on the same port; a server that accepts and never answers. And
COMMENTS_SMTP_URL's forms."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import pytest

from comments_service.domain.notification_mail import Mail, build, confirm_email
from comments_service.services.smtp_sender import DeliveryFailed, SmtpConfig, SmtpSender, parse_smtp_url
from tests.support.smtp_server import SmtpSink, smtp_sink  # noqa: F401

# aiosmtpd warns when a server takes AUTH without TLS: the plain sink does, on the loopback, on purpose
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")

FROM = "noreply@news.example"


def message(to: str = "reader@example.org", key: str = "delivery:1", subject: str | None = None):
    rendered = confirm_email("Daily News", "https://news.example/confirm?token=abc")
    return build(Mail(to=to, from_address=FROM, from_name="Daily News", subject=subject or rendered.subject,
                      text=rendered.text, html=rendered.html, message_id_key=key,
                      unsubscribe_url="https://news.example/u?t=1", site_name="Daily News"), domain="news.example")


def sender_for(url: str, timeout_s: float = 10.0) -> SmtpSender:
    return SmtpSender(parse_smtp_url(url), timeout_s=timeout_s, local_hostname="sender.test")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def silent_server(greet: bool) -> AsyncIterator[int]:
    """A TCP server that accepts and then says nothing (``greet``: after a 220 greeting)."""
    writers: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        if greet:
            writer.write(b"220 silent.test ESMTP\r\n")
            await writer.drain()
        # read (and ignore) whatever comes, bounded, until the client goes
        while await reader.read(4096):
            pass

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()


# ---------------------------------------------------------------- delivery


async def test_plain_delivery(smtp_sink: SmtpSink) -> None:  # noqa: F811
    sender = sender_for(smtp_sink.url)
    sent = message(key="delivery:plain")
    await sender.send(sent)
    await sender.close()
    (got,) = await smtp_sink.wait_for_async(1)
    assert got.envelope_from == FROM
    assert got.envelope_to == ["reader@example.org"]
    assert str(got["Message-ID"]) == str(sent["Message-ID"])
    assert str(got["Subject"]) == "Confirm your email address for Daily News"
    assert str(got["List-Unsubscribe"]) == "<https://news.example/u?t=1>"
    body = got.get_body(("plain",))
    assert body is not None and "https://news.example/confirm?token=abc" in body.get_content()
    assert not got.tls and got.auth_user is None


async def test_starttls() -> None:
    with SmtpSink(tls="starttls", require_starttls=True) as sink:
        assert "starttls=required" in sink.url
        sender = sender_for(sink.url)
        await sender.send(message())
        await sender.close()
        (got,) = await sink.wait_for_async(1)
        assert got.tls


async def test_starttls_offered_is_taken_by_default() -> None:
    # smtp:// without options upgrades whenever the server offers STARTTLS
    with SmtpSink(tls="starttls") as sink:
        sender = sender_for(f"smtp://127.0.0.1:{sink.port}?verify=off")
        await sender.send(message())
        await sender.close()
        assert (await sink.wait_for_async(1))[0].tls


async def test_a_certificate_that_does_not_verify_is_refused() -> None:
    with SmtpSink(tls="starttls") as sink:
        sender = sender_for(f"smtp://127.0.0.1:{sink.port}?starttls=required", timeout_s=5)
        with pytest.raises(DeliveryFailed) as failed:
            await sender.send(message())
        assert failed.value.retryable
        assert sink.messages == []


async def test_starttls_off_sends_in_clear() -> None:
    with SmtpSink(tls="starttls") as sink:
        sender = sender_for(f"smtp://127.0.0.1:{sink.port}?starttls=off")
        await sender.send(message())
        await sender.close()
        assert not (await sink.wait_for_async(1))[0].tls


async def test_starttls_required_and_not_offered_fails() -> None:
    with SmtpSink() as sink:
        sender = sender_for(f"smtp://127.0.0.1:{sink.port}?starttls=required&verify=off", timeout_s=5)
        with pytest.raises(DeliveryFailed) as failed:
            await sender.send(message())
        assert failed.value.retryable
        assert sink.messages == []


async def test_implicit_tls() -> None:
    with SmtpSink(tls="implicit") as sink:
        assert sink.url.startswith("smtps://")
        sender = sender_for(sink.url)
        await sender.send(message())
        await sender.close()
        assert (await sink.wait_for_async(1))[0].tls


@pytest.mark.parametrize("tls", [None, "starttls", "implicit"])
async def test_auth(tls: str | None) -> None:
    with SmtpSink(auth=("mailer@news.example", "p@ss:w/rd %20"), tls=tls) as sink:  # type: ignore[arg-type]
        sender = sender_for(sink.url)
        await sender.send(message())
        await sender.close()
        (got,) = await sink.wait_for_async(1)
        assert got.auth_user == "mailer@news.example"


async def test_wrong_password_is_retryable_and_sends_nothing() -> None:
    # a wrong password is the operator's to fix: the mail waits for it rather than being dropped
    with SmtpSink(auth=("mailer", "right")) as sink:
        sender = sender_for(f"smtp://mailer:wrong@127.0.0.1:{sink.port}", timeout_s=5)
        with pytest.raises(DeliveryFailed) as failed:
            await sender.send(message())
        assert failed.value.retryable and failed.value.code == 535
        assert "wrong" not in failed.value.reason
        assert sink.messages == []


async def test_no_auth_where_the_server_requires_it() -> None:
    with SmtpSink(auth=("mailer", "right")) as sink:
        sender = sender_for(f"smtp://127.0.0.1:{sink.port}", timeout_s=5)
        with pytest.raises(DeliveryFailed) as failed:
            await sender.send(message())
        assert failed.value.retryable
        assert sink.messages == []


# ---------------------------------------------------------------- one connection


async def test_many_messages_over_one_connection(smtp_sink: SmtpSink) -> None:  # noqa: F811
    sender = sender_for(smtp_sink.url)
    for i in range(50):
        await sender.send(message(key=f"delivery:{i}"))
    await sender.close()
    got = await smtp_sink.wait_for_async(50)
    assert len(got) == 50
    assert len({str(m["Message-ID"]) for m in got}) == 50
    assert smtp_sink.connections == 1
    assert smtp_sink.sessions_opened == 1
    assert sender.connections_opened == 1


async def test_concurrent_sends_share_the_connection(smtp_sink: SmtpSink) -> None:  # noqa: F811
    sender = sender_for(smtp_sink.url)
    await asyncio.gather(*(sender.send(message(to=f"reader{i}@example.org", key=f"d:{i}")) for i in range(30)))
    await sender.close()
    got = await smtp_sink.wait_for_async(30)
    assert sorted(m.envelope_to[0] for m in got) == sorted(f"reader{i}@example.org" for i in range(30))
    assert smtp_sink.connections == 1


async def test_bcc_is_delivered_and_not_shown(smtp_sink: SmtpSink) -> None:  # noqa: F811
    sent = message()
    sent["Bcc"] = "audit@news.example"
    sender = sender_for(smtp_sink.url)
    await sender.send(sent)
    await sender.close()
    (got,) = await smtp_sink.wait_for_async(1)
    assert got.envelope_to == ["reader@example.org", "audit@news.example"]
    assert got["Bcc"] is None
    assert sent["Bcc"] is not None  # the caller's message is left as it was


# ---------------------------------------------------------------- refusals


async def test_rejected_recipient_is_not_retryable_and_the_connection_stays() -> None:
    with SmtpSink(reject_rcpt={"gone@example.org"}) as sink:
        sender = sender_for(sink.url)
        with pytest.raises(DeliveryFailed) as failed:
            await sender.send(message(to="gone@example.org"))
        assert not failed.value.retryable
        assert failed.value.code == 550
        assert "gone@example.org" in failed.value.reason
        await sender.send(message(to="reader@example.org"))
        await sender.close()
        (got,) = await sink.wait_for_async(1)
        assert got.envelope_to == ["reader@example.org"]
        assert sender.connections_opened == 1


async def test_deferred_recipient_is_retryable() -> None:
    with SmtpSink(defer_rcpt={"busy@example.org"}) as sink:
        sender = sender_for(sink.url)
        with pytest.raises(DeliveryFailed) as failed:
            await sender.send(message(to="busy@example.org"))
        assert failed.value.retryable and failed.value.code == 451
        await sender.close()


async def test_a_message_without_recipient_is_not_retryable(smtp_sink: SmtpSink) -> None:  # noqa: F811
    broken = message()
    del broken["To"]
    sender = sender_for(smtp_sink.url)
    with pytest.raises(DeliveryFailed) as failed:
        await sender.send(broken)
    assert not failed.value.retryable
    await sender.close()


# ---------------------------------------------------------------- faults


async def test_nothing_listening_is_retryable() -> None:
    sender = sender_for(f"smtp://127.0.0.1:{free_port()}", timeout_s=5)
    with pytest.raises(DeliveryFailed) as failed:
        await sender.send(message())
    assert failed.value.retryable


async def test_server_stopped_then_back_on_the_same_port() -> None:
    sink = SmtpSink().start()
    try:
        port = sink.port
        sender = sender_for(sink.url, timeout_s=5)
        await sender.send(message(key="before"))
        sink.stop()
        with pytest.raises(DeliveryFailed) as failed:
            await sender.send(message(key="while-down"))
        assert failed.value.retryable
        sink.start()
        assert sink.port == port
        await sender.send(message(key="after"))
        await sender.close()
        got = await sink.wait_for_async(2)
        assert [str(m["Message-ID"]) for m in got] == [str(message(key=k)["Message-ID"]) for k in ("before", "after")]
    finally:
        sink.stop()


async def test_a_dropped_connection_is_reopened_without_a_failure() -> None:
    # the server went away and came back between two sends: the second goes out on a new connection
    sink = SmtpSink().start()
    try:
        sender = sender_for(sink.url, timeout_s=5)
        await sender.send(message(key="first"))
        sink.stop()
        sink.start()
        await sender.send(message(key="second"))
        await sender.close()
        got = await sink.wait_for_async(2)
        assert len(got) == 2 and sink.connections == 2
        assert sender.connections_opened == 2
    finally:
        sink.stop()


@pytest.mark.parametrize("greet", [False, True], ids=["no-greeting", "silent-after-greeting"])
async def test_a_server_that_never_answers_fails(greet: bool) -> None:
    async with silent_server(greet) as port:
        sender = sender_for(f"smtp://127.0.0.1:{port}?starttls=off", timeout_s=0.5)
        with pytest.raises(DeliveryFailed) as failed:
            await sender.send(message())
        assert failed.value.retryable
        await sender.close()


async def test_after_close_sends_fail(smtp_sink: SmtpSink) -> None:  # noqa: F811
    sender = sender_for(smtp_sink.url)
    await sender.send(message())
    await sender.close()
    with pytest.raises(DeliveryFailed):
        await sender.send(message())
    assert len(smtp_sink.messages) == 1


# ---------------------------------------------------------------- COMMENTS_SMTP_URL


@pytest.mark.parametrize(("url", "expected"), [
    ("smtp://mail.example", SmtpConfig(host="mail.example", port=25, implicit_tls=False, starttls="auto")),
    ("smtp://mail.example:2525?starttls=required",
     SmtpConfig(host="mail.example", port=2525, implicit_tls=False, starttls="required")),
    ("smtp://127.0.0.1:1025?starttls=off", SmtpConfig(host="127.0.0.1", port=1025, implicit_tls=False, starttls="off")),
    ("smtps://mail.example", SmtpConfig(host="mail.example", port=465, implicit_tls=True, starttls="off")),
    ("SMTPS://u%40x.example:p%3Aw%40d%2F@mail.example:4650?verify=off",
     SmtpConfig(host="mail.example", port=4650, implicit_tls=True, starttls="off", username="u@x.example",
                password="p:w@d/", verify=False)),
    # credentials to a remote host: STARTTLS becomes required
    ("smtp://user:secret@mail.example:587",
     SmtpConfig(host="mail.example", port=587, implicit_tls=False, starttls="required", username="user",
                password="secret")),
    # ...but not to a loopback relay
    ("smtp://user:secret@localhost:25",
     SmtpConfig(host="localhost", port=25, implicit_tls=False, starttls="auto", username="user", password="secret")),
    ("smtp://[::1]:2525", SmtpConfig(host="::1", port=2525, implicit_tls=False, starttls="auto")),
])
def test_smtp_url_forms(url: str, expected: SmtpConfig) -> None:
    assert parse_smtp_url(url) == expected


@pytest.mark.parametrize(("url", "problem"), [
    ("http://mail.example", "scheme"),
    ("submission://mail.example", "scheme"),
    ("mail.example:25", "scheme"),
    ("smtp://", "host"),
    ("smtp://mail.example:99999", "valid"),
    ("smtp://mail.example?starttls=maybe", "starttls"),
    ("smtps://mail.example?starttls=required", "starttls"),
    ("smtp://mail.example?verify=no", "verify"),
    ("smtp://mail.example?timeout=3", "unknown option"),
    ("smtp://mail.example?starttls=off&starttls=required", "twice"),
    ("smtp://mail.example/path", "path"),
    ("smtp://user:secret@mail.example?starttls=off", "clear"),
])
def test_smtp_url_refusals_name_the_problem(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as refused:
        parse_smtp_url(url)
    assert "secret" not in str(refused.value)


def test_the_password_stays_out_of_repr() -> None:
    config = parse_smtp_url("smtps://user:hunter2@mail.example")
    assert "hunter2" not in repr(config) and "hunter2" not in str(config)
    assert config.password == "hunter2"
