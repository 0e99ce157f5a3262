"""WebhookSender against real receivers on 127.0.0.1: signing, classification, timeouts, the address gate, TLS."""

import asyncio
import ipaddress
import json
import socket
import ssl
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from comments_service.services import webhook_sender
from comments_service.services.webhook_sender import WebhookSender, new_secret
from tests.support.certificates import self_signed_certificate

PAYLOAD = json.dumps({"type": "comment.created", "data": {"id": "c_1", "text": "caf\u00e9"}}).encode()


class Receiver:
    """A real HTTP/1.1 server on 127.0.0.1 that records each request and answers as `mode` says."""

    def __init__(self, mode="status", status=200, extra_headers=b"", ssl_context=None):
        self.mode = mode
        self.status = status
        self.extra_headers = extra_headers
        self.ssl_context = ssl_context
        self.requests = []
        self.connections = 0
        self._tasks = set()
        self.server = None
        self.port = None

    async def __aenter__(self):
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.ssl_context)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc):
        self.server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.server.wait_closed()

    async def _handle(self, reader, writer):
        task = asyncio.current_task()
        self._tasks.add(task)
        self.connections += 1
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _serve(self, reader, writer):
        if self.mode in ("keep_alive", "close_when_idle", "chunked", "unasked"):
            await self._serve_kept(reader, writer)
            return
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in header_lines:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.requests.append({"request_line": request_line, "headers": headers, "body": body})
        if self.mode == "silent":
            await asyncio.Event().wait()  # holds the connection open, never answers
        elif self.mode == "slowloris":
            writer.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            while True:  # one byte at a time, forever: the header never ends
                writer.write(b"a")
                await writer.drain()
                await asyncio.sleep(0.05)
        elif self.mode == "garbage":
            writer.write(b"SMTP is not HTTP\r\n\r\n")
        elif self.mode == "huge_header":
            writer.write(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n")
        elif self.mode == "interim":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n")
        else:
            writer.write(
                b"HTTP/1.1 %d Whatever\r\nContent-Length: 2\r\nConnection: close\r\n%s\r\nok"
                % (self.status, self.extra_headers)
            )
        await writer.drain()


    async def _serve_kept(self, reader, writer):
        """Answers each request on the connection and waits for the next; "close_when_idle" closes
        after each answer without saying so (as a server whose keep-alive timeout passed does),
        "chunked" answers with a chunked body."""
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            headers = {n.strip().lower(): v.strip() for n, _, v in (h.partition(":") for h in header_lines if h)}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append({"request_line": request_line, "headers": headers, "body": body})
            if self.mode == "chunked":
                writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n")
            elif self.mode == "unasked" and len(self.requests) == 1:
                # an answer, then one more nobody asked for, on the connection the next call would take
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
                await asyncio.sleep(0.05)
                writer.write(b"HTTP/1.1 410 Gone\r\nContent-Length: 0\r\n\r\n")
            else:
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
            if self.mode == "close_when_idle":
                return


def loopback_sender(**options):
    return WebhookSender(allow_http_loopback=True, **options)


async def test_delivery_is_signed_per_standard_webhooks():
    secret = new_secret()
    sent_at = int(time.time())
    async with Receiver() as receiver:
        result = await loopback_sender().send(
            f"http://127.0.0.1:{receiver.port}/hooks/in?site=1", secret, "msg_2Lq1", PAYLOAD, timestamp=sent_at
        )
    assert (result.status, result.retryable, result.error) == (200, False, None)
    assert result.latency_ms >= 0
    [request] = receiver.requests
    assert request["request_line"] == "POST /hooks/in?site=1 HTTP/1.1"
    headers = request["headers"]
    assert request["body"] == PAYLOAD
    assert headers["host"] == f"127.0.0.1:{receiver.port}"
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == "comments_service-webhooks"
    assert headers["webhook-id"] == "msg_2Lq1"
    assert headers["webhook-timestamp"] == str(sent_at)
    assert headers["webhook-signature"].startswith("v1,")
    # the receiver's side: the library accepts it, and refuses it for another secret or a changed body
    assert Webhook(secret).verify(request["body"], headers) == json.loads(PAYLOAD)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(request["body"], headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(request["body"].replace(b"c_1", b"c_2"), headers)


def test_new_secret_is_standard_webhooks_form():
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(Webhook(secret)._whsecret) == 32
    assert new_secret() != secret


@pytest.mark.parametrize(("status", "retryable"), [
    (201, None), (204, None), (500, True), (502, True), (503, True), (408, True), (429, True),
    (400, False), (401, False), (404, False), (410, False), (413, False),
])
async def test_status_classification(status, retryable):
    async with Receiver(status=status) as receiver:
        result = await loopback_sender().send(f"http://127.0.0.1:{receiver.port}/", new_secret(), "m1", PAYLOAD)
    assert result.status == status
    if retryable is None:
        assert (result.retryable, result.error) == (False, None)
    else:
        assert (result.retryable, result.error) == (retryable, "http_error")


async def test_redirect_is_not_followed():
    async with Receiver() as target:
        location = f"Location: http://127.0.0.1:{target.port}/elsewhere\r\n".encode()
        async with Receiver(status=302, extra_headers=location) as receiver:
            result = await loopback_sender().send(f"http://127.0.0.1:{receiver.port}/", new_secret(), "m1", PAYLOAD)
    assert (result.status, result.retryable, result.error) == (302, False, "redirect_not_followed")
    assert len(receiver.requests) == 1
    assert target.connections == 0


async def test_receiver_that_never_answers_times_out():
    async with Receiver(mode="silent") as receiver:
        result = await loopback_sender(total_timeout_s=0.5).send(
            f"http://127.0.0.1:{receiver.port}/", new_secret(), "m1", PAYLOAD
        )
    assert (result.status, result.retryable, result.error) == (None, True, "timeout")
    assert len(receiver.requests) == 1


async def test_slowloris_receiver_times_out():
    async with Receiver(mode="slowloris") as receiver:
        result = await loopback_sender(total_timeout_s=0.5).send(
            f"http://127.0.0.1:{receiver.port}/", new_secret(), "m1", PAYLOAD
        )
    assert (result.status, result.retryable, result.error) == (None, True, "timeout")


@pytest.mark.parametrize("mode", ["garbage", "huge_header"])
async def test_unreadable_response_is_retryable(mode):
    async with Receiver(mode=mode) as receiver:
        result = await loopback_sender().send(f"http://127.0.0.1:{receiver.port}/", new_secret(), "m1", PAYLOAD)
    assert (result.status, result.retryable, result.error) == (None, True, "invalid_response")


async def test_interim_response_is_skipped():
    async with Receiver(mode="interim") as receiver:
        result = await loopback_sender().send(f"http://127.0.0.1:{receiver.port}/", new_secret(), "m1", PAYLOAD)
    assert (result.status, result.retryable, result.error) == (204, False, None)


async def test_connection_refused_is_retryable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = await loopback_sender().send(f"http://127.0.0.1:{port}/", new_secret(), "m1", PAYLOAD)
    assert (result.status, result.retryable, result.error) == (None, True, "connect_error")


async def test_name_resolving_to_loopback_is_refused_unless_allowed():
    async with Receiver() as receiver:
        url = f"https://localhost:{receiver.port}/"
        for sender in (WebhookSender(), WebhookSender(allow_private=True)):
            result = await sender.send(url, new_secret(), "m1", PAYLOAD)
            assert (result.status, result.retryable, result.error) == (None, False, "address_not_allowed")
        assert receiver.connections == 0  # refused before connecting

        result = await loopback_sender().send(f"http://localhost:{receiver.port}/x", new_secret(), "m1", PAYLOAD)
    assert (result.status, result.error) == (200, None)
    assert receiver.requests[0]["headers"]["host"] == f"localhost:{receiver.port}"


async def test_refused_urls_are_not_retryable():
    sender = WebhookSender()
    for url, error in [
        ("http://127.0.0.1:9/", "invalid_endpoint:scheme_not_allowed"),
        ("https://169.254.169.254/latest/meta-data/", "invalid_endpoint:address_not_allowed"),
        ("https://[::ffff:127.0.0.1]/", "invalid_endpoint:address_not_allowed"),
        ("https://0x7f.1/", "invalid_endpoint:non_canonical_ip"),
        ("https://user:pw@example.com/", "invalid_endpoint:credentials_not_allowed"),
    ]:
        result = await sender.send(url, new_secret(), "m1", PAYLOAD)
        assert (result.status, result.retryable, result.error) == (None, False, error)


async def test_caller_errors_raise():
    sender = loopback_sender()
    with pytest.raises(ValueError):
        await sender.send("http://127.0.0.1:9/", new_secret(), "m1\r\nX-Evil: 1", PAYLOAD)
    with pytest.raises(ValueError):
        await sender.send("http://127.0.0.1:9/", "whsec_", "m1", PAYLOAD)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for localhost: the receiver's chain, and a client context trusting it."""
    cert_pem, key_pem = self_signed_certificate("localhost")
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert_pem)
    key_path.write_bytes(key_pem)
    return cert_path, key_path


def server_context(certificate, seen_names):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    context.sni_callback = lambda _sock, server_name, _ctx: seen_names.append(server_name)
    return context


async def test_https_to_pinned_address_sends_sni_and_verifies_certificate(certificate):
    seen_names = []
    trusting = ssl.create_default_context(cafile=str(certificate[0]))
    async with Receiver(ssl_context=server_context(certificate, seen_names)) as receiver:
        url = f"https://localhost:{receiver.port}/tls"
        result = await loopback_sender(ssl_context=trusting).send(url, new_secret(), "m1", PAYLOAD)
        assert (result.status, result.error) == (200, None)
        assert seen_names == ["localhost"]
        assert receiver.requests[0]["headers"]["host"] == f"localhost:{receiver.port}"

        # the default context verifies: a self-signed certificate is refused before any request is sent
        result = await loopback_sender().send(url, new_secret(), "m2", PAYLOAD)
        assert (result.status, result.retryable, result.error) == (None, True, "tls_error")
        assert len(receiver.requests) == 1


async def test_certificate_must_match_the_url_host(certificate):
    trusting = ssl.create_default_context(cafile=str(certificate[0]))
    async with Receiver(ssl_context=server_context(certificate, [])) as receiver:
        # the certificate names localhost, not 127.0.0.1
        result = await loopback_sender(ssl_context=trusting).send(
            f"https://127.0.0.1:{receiver.port}/", new_secret(), "m1", PAYLOAD
        )
    assert (result.status, result.retryable, result.error) == (None, True, "tls_error")
    assert receiver.requests == []


def test_ipv6_literal_host_header():
    # the address gate itself is covered in tests/unit/test_webhook_urls.py; this pins the bracket form
    from comments_service.domain.webhook_urls import check_endpoint_url

    endpoint = check_endpoint_url("http://[::1]:8080/", allow_http_loopback=True)
    assert endpoint.host_header == "[::1]:8080"
    assert ipaddress.ip_address(endpoint.host).is_loopback


async def test_a_connection_is_kept_for_the_next_call_to_the_same_host():
    sender = loopback_sender()
    try:
        async with Receiver(mode="keep_alive") as receiver:
            url = f"http://127.0.0.1:{receiver.port}/in"
            results = [await sender.send(url, new_secret(), f"m{i}", PAYLOAD) for i in range(3)]
            assert [r.status for r in results] == [200, 200, 200]
            assert [r["headers"]["webhook-id"] for r in receiver.requests] == ["m0", "m1", "m2"]
            assert receiver.connections == 1
            assert "connection" not in receiver.requests[0]["headers"]  # HTTP/1.1: kept alive by default
    finally:
        await sender.close()


async def test_a_kept_connection_the_receiver_closed_is_replaced_and_the_call_made_once():
    sender = loopback_sender()
    try:
        async with Receiver(mode="close_when_idle") as receiver:
            url = f"http://127.0.0.1:{receiver.port}/in"
            first = await sender.send(url, new_secret(), "m1", PAYLOAD)
            await asyncio.sleep(0.05)  # the receiver's close reaches us while the connection is idle
            second = await sender.send(url, new_secret(), "m2", PAYLOAD)
            assert (first.error, second.error) == (None, None)
            assert [r["headers"]["webhook-id"] for r in receiver.requests] == ["m1", "m2"]
            assert receiver.connections == 2
    finally:
        await sender.close()


@pytest.mark.parametrize("mode", ["status", "chunked"])
async def test_a_connection_whose_answer_was_not_read_whole_is_not_kept(mode):
    """``Connection: close`` (the "status" receiver) or a chunked body: the next call connects anew."""
    sender = loopback_sender()
    try:
        async with Receiver(mode=mode) as receiver:
            url = f"http://127.0.0.1:{receiver.port}/in"
            results = [await sender.send(url, new_secret(), f"m{i}", PAYLOAD) for i in range(2)]
            assert [r.status for r in results] == [200, 200]
            assert receiver.connections == 2
    finally:
        await sender.close()


async def test_an_idle_connection_is_dropped_after_its_time(monkeypatch):
    monkeypatch.setattr(webhook_sender, "IDLE_S", 0.05)
    sender = loopback_sender()
    try:
        async with Receiver(mode="keep_alive") as receiver:
            url = f"http://127.0.0.1:{receiver.port}/in"
            assert (await sender.send(url, new_secret(), "m1", PAYLOAD)).error is None
            await asyncio.sleep(0.1)
            assert (await sender.send(url, new_secret(), "m2", PAYLOAD)).error is None
            assert receiver.connections == 2
    finally:
        await sender.close()


async def test_an_answer_nobody_asked_for_is_never_taken_for_the_next_calls():
    sender = loopback_sender()
    try:
        async with Receiver(mode="unasked") as receiver:
            url = f"http://127.0.0.1:{receiver.port}/in"
            first = await sender.send(url, new_secret(), "m1", PAYLOAD)
            await asyncio.sleep(0.2)  # the unasked 410 arrives while the connection is idle
            second = await sender.send(url, new_secret(), "m2", PAYLOAD)
            assert (first.status, second.status) == (200, 200)
            assert [r["headers"]["webhook-id"] for r in receiver.requests] == ["m1", "m2"]
            assert receiver.connections == 2
    finally:
        await sender.close()
