"""Webhooks end to end: an admin registers an endpoint through the API, a comment posted through
the API reaches a real HTTP receiver on 127.0.0.1 through the notifier, signed per Standard
Webhooks and shaped as documented; a receiver that fails or hangs is retried, one failing for a day
is disabled; the URL gate refuses internal and credentialed URLs; only a site's own admins manage
its endpoints."""

from __future__ import annotations

import asyncio
import logging

import msgspec
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from comments_service.db.pool import create_pool
from comments_service.db.webhooks import TRIM_EVERY
from comments_service.domain.webhook_events import CommentPublished, WebhookEvent, WebhookTest
from comments_service.services.notification_links import NotificationLinks
from comments_service.services.notifications import Notifier
from comments_service.services.webhook_sender import WebhookSender
from comments_service.services.webhooks import Webhooks
from comments_service.settings import NotificationSettings
from tests.support.sites import make_site
from tests.support.tokens import bearer, staff_token

API = "/api/v1/moderation/webhooks"
ARTICLE = "harbour-bridge"


class Receiver:
    """A real HTTP/1.1 server on 127.0.0.1 that records each request and answers ``status``, or
    never answers (``hang``)."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.hang = False
        self.requests: list[dict] = []
        self._tasks: set[asyncio.Task] = set()
        self.server: asyncio.Server | None = None
        self.url = ""

    async def __aenter__(self) -> Receiver:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/hooks/in"
        return self

    async def __aexit__(self, *exc) -> None:
        assert self.server is not None
        self.server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for line in lines:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append({"request_line": request_line, "headers": headers, "body": body})
            if self.hang:
                await asyncio.Event().wait()
            writer.write(b"HTTP/1.1 %d Whatever\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok" % self.status)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()


@pytest.fixture
async def notifier(services, settings, database):
    """A notifier as `comments-service notifier` builds it, with the webhook channel, over a pool of
    this test's loop (the app's pool lives on the test client's own); short timeouts, as a hanging
    receiver is one of the cases."""
    cfg = NotificationSettings(retry_base_seconds=30, max_attempts=3)
    pool = await create_pool(settings.database, database)
    sender = WebhookSender(allow_http_loopback=True, connect_timeout_s=1.0, total_timeout_s=1.0)
    channel = Webhooks(pool, services.keyring, sender, allow_http_loopback=True)
    links = NotificationLinks(services.keyring, settings.server.public_url, days=cfg.link_days)
    yield Notifier(pool, cfg, links, None, channels=[channel])
    await sender.close()
    await pool.close()


async def run_once(notifier: Notifier) -> None:
    """What the notifier's loop does each turn, until nothing is due."""
    while await notifier.fan_out_once() or await notifier.deliver_once():
        pass


@pytest.fixture
async def admin(db, site) -> dict:
    return bearer(await staff_token(db, "admin", site.id))


async def register(client, site, headers, url: str, event_types=("comment.published",)) -> dict:
    r = await client.post(API, params=site.q(), headers=headers, json={"url": url, "event_types": list(event_types),
                                                                        "description": "newsroom bot"})
    assert r.status_code == 201, r.text
    return r.json()


async def post_comment(client, site, body: str) -> dict:
    r = await client.post(f"/api/v1/articles/{ARTICLE}/comments", params=site.q(),
                          headers=site.auth(site.sso_token(sub="ann", name="Ann")),
                          json={"body": body, "article_url": f"{site.origin}/{ARTICLE}",
                                "article_title": "A bridge for the harbour"})
    assert r.status_code == 201, r.text
    return r.json()["comment"]


async def deliveries(db, endpoint_id: int) -> list:
    return await db.fetch("SELECT id, kind, state, attempts, last_error, idempotency_key, next_attempt_at > now() "
                          "AS waits FROM notification_deliveries WHERE channel = 'webhook' AND recipient = $1 "
                          "ORDER BY id", str(endpoint_id))


async def attempts(client, site, headers, endpoint_id: int) -> list[dict]:
    r = await client.get(f"{API}/{endpoint_id}/attempts", params=site.q(), headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def endpoint_of(client, site, headers, endpoint_id: int) -> dict:
    r = await client.get(API, params=site.q(), headers=headers)
    assert r.status_code == 200, r.text
    [found] = [e for e in r.json() if e["id"] == endpoint_id]
    return found


async def due_now(db, endpoint_id: int) -> None:
    """The endpoint's retries come due (their backoff is minutes)."""
    await db.execute("UPDATE notification_deliveries SET next_attempt_at = now() WHERE channel = 'webhook' "
                     "AND recipient = $1", str(endpoint_id))


async def test_a_published_comment_reaches_the_endpoint_signed_and_as_documented(client, site, db, admin,
                                                                                 notifier) -> None:
    async with Receiver() as receiver:
        created = await register(client, site, admin, receiver.url)
        secret, endpoint = created["secret"], created["endpoint"]
        assert secret.startswith("whsec_")
        assert (endpoint["url"], endpoint["event_types"], endpoint["enabled"]) == (
            receiver.url, ["comment.published"], True)
        listed = await client.get(API, params=site.q(), headers=admin)
        assert secret not in listed.text and "secret" not in listed.json()[0]

        comment = await post_comment(client, site, "Will it open **before** the summer?")
        await run_once(notifier)

    [request] = receiver.requests
    assert request["request_line"] == "POST /hooks/in HTTP/1.1"
    # the receiver's side: the library accepts the signature with the secret from the create answer
    assert Webhook(secret).verify(request["body"], request["headers"])["type"] == "comment.published"
    event = msgspec.json.decode(request["body"], type=WebhookEvent)
    assert (event.type, event.site) == ("comment.published", site.id)
    assert isinstance(event.data, CommentPublished)
    assert (event.data.comment_id, event.data.article_id, event.data.parent_id, event.data.status,
            event.data.author_name) == (comment["id"], ARTICLE, None, "published", "Ann")
    assert "<strong>before</strong>" in event.data.body_html
    assert event.data.url == f"{site.origin}/{ARTICLE}#comment-{comment['id']}"
    [delivery] = await deliveries(db, endpoint["id"])
    assert (delivery["state"], delivery["attempts"]) == ("sent", 1)
    # the webhook-id is the delivery's idempotency key: the event's, for this endpoint
    assert request["headers"]["webhook-id"] == delivery["idempotency_key"] == (
        f"webhook:{endpoint['id']}:{event.id.removeprefix('evt_')}")

    [attempt] = await attempts(client, site, admin, endpoint["id"])
    assert (attempt["event_type"], attempt["status"], attempt["attempt"], attempt["error"]) == (
        "comment.published", 200, 1, None)
    assert attempt["latency_ms"] >= 0 and attempt["delivery_id"] == delivery["id"] and attempt["created_at"]
    shown = await endpoint_of(client, site, admin, endpoint["id"])
    assert shown["last_success_at"] is not None and shown["failing_since"] is None

    # every event type is documented by an example that decodes as the same schema
    r = await client.get(f"{API}/events/schema", params=site.q(), headers=admin)
    assert r.status_code == 200, r.text
    examples = msgspec.json.decode(r.content, type=list[WebhookEvent])
    assert {e.type for e in examples} == {"comment.published", "comment.held", "comment.rejected", "report.created",
                                          "problem_report.created", "moderation.decision", "webhook.test"}
    assert all(e.type == type(e.data).__struct_config__.tag for e in examples)
    spec = (await client.get("/schema/openapi.json")).json()
    assert {"WebhookEvent", "CommentPublished", "ModerationDecision"} <= spec["components"]["schemas"].keys()


async def test_a_test_event_and_a_rotated_secret(client, site, db, admin, notifier) -> None:
    async with Receiver() as receiver:
        created = await register(client, site, admin, receiver.url)
        old, endpoint_id = created["secret"], created["endpoint"]["id"]
        r = await client.post(f"{API}/{endpoint_id}/rotate-secret", params=site.q(), headers=admin)
        assert r.status_code == 200, r.text
        new = r.json()["secret"]
        assert new.startswith("whsec_") and new != old
        r = await client.post(f"{API}/{endpoint_id}/test", params=site.q(), headers=admin)
        assert r.status_code == 202, r.text
        queued = r.json()
        await run_once(notifier)

    [request] = receiver.requests
    assert request["headers"]["webhook-id"] == queued["webhook_id"]
    Webhook(new).verify(request["body"], request["headers"])
    event = msgspec.json.decode(request["body"], type=WebhookEvent)
    assert (event.id, event.type, event.site) == (queued["event_id"], "webhook.test", site.id)
    assert isinstance(event.data, WebhookTest)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(request["body"], request["headers"])
    [attempt] = await attempts(client, site, admin, endpoint_id)
    assert (attempt["event_type"], attempt["status"]) == ("webhook.test", 200)
    audit = await db.fetch("SELECT action, details->>'url' AS url FROM moderation_actions WHERE site_id = $1 "
                           "AND details->>'webhook_id' = $2 ORDER BY id", site.id, str(endpoint_id))
    assert [a["action"] for a in audit] == ["webhook_created", "webhook_secret_rotated"]
    # moderators read the audit log: it names the receiver's host, never a path that may hold its own secret
    assert {a["url"] for a in audit} == {receiver.url.removesuffix("/hooks/in")}


async def test_a_receiver_answering_500_is_retried_with_the_same_webhook_id(client, site, db, admin,
                                                                             notifier) -> None:
    async with Receiver(status=500) as receiver:
        created = await register(client, site, admin, receiver.url)
        endpoint_id = created["endpoint"]["id"]
        await post_comment(client, site, "First try fails")
        await run_once(notifier)
        [delivery] = await deliveries(db, endpoint_id)
        assert (delivery["state"], delivery["attempts"], delivery["last_error"], delivery["waits"]) == (
            "queued", 1, "http_error", True)
        [attempt] = await attempts(client, site, admin, endpoint_id)
        assert (attempt["status"], attempt["attempt"], attempt["error"]) == (500, 1, "http_error")
        assert (await endpoint_of(client, site, admin, endpoint_id))["failing_since"] is not None

        receiver.status = 200
        await due_now(db, endpoint_id)
        await run_once(notifier)

    [delivery] = await deliveries(db, endpoint_id)
    assert (delivery["state"], delivery["attempts"]) == ("sent", 2)
    first, second = receiver.requests
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"] == delivery["idempotency_key"]
    log = await attempts(client, site, admin, endpoint_id)
    assert [(a["attempt"], a["status"], a["error"]) for a in log] == [(2, 200, None), (1, 500, "http_error")]
    shown = await endpoint_of(client, site, admin, endpoint_id)
    assert shown["failing_since"] is None and shown["last_success_at"] is not None


async def test_the_delivery_log_keeps_the_last_thousand_attempts(client, site, db, admin, notifier) -> None:
    async with Receiver() as receiver:
        endpoint_id = (await register(client, site, admin, receiver.url))["endpoint"]["id"]
        await db.execute("INSERT INTO webhook_attempts (endpoint_id, delivery_id, event_type, attempt, status, "
                         "latency_ms) SELECT $1, n, 'comment.held', 1, 200, 5 FROM generate_series(1, 1000) n",
                         endpoint_id)
        oldest = await db.fetchval("SELECT min(id) FROM webhook_attempts WHERE endpoint_id = $1", endpoint_id)
        # the log is trimmed every TRIM_EVERY deliveries (by id): the next one is such a delivery
        last = await db.fetchval("SELECT last_value FROM notification_deliveries_id_seq")
        next_trim = (last // TRIM_EVERY + 1) * TRIM_EVERY
        await db.execute("SELECT setval('notification_deliveries_id_seq', $1)", next_trim - 1)
        await post_comment(client, site, "One more")
        await run_once(notifier)
    count, first = await db.fetchrow("SELECT count(*), min(id) FROM webhook_attempts WHERE endpoint_id = $1",
                                     endpoint_id)
    assert (count, first) == (1000, oldest + 1)
    log = await attempts(client, site, admin, endpoint_id)
    assert len(log) == 50 and log[0]["event_type"] == "comment.published"
    assert [a["event_type"] for a in log[1:]] == ["comment.held"] * 49


async def test_a_receiver_that_hangs_times_out_and_is_retried(client, site, db, admin, notifier) -> None:
    async with Receiver() as receiver:
        receiver.hang = True
        endpoint_id = (await register(client, site, admin, receiver.url))["endpoint"]["id"]
        await post_comment(client, site, "Nobody answers")
        await run_once(notifier)
    assert len(receiver.requests) == 1
    [delivery] = await deliveries(db, endpoint_id)
    assert (delivery["state"], delivery["attempts"], delivery["last_error"]) == ("queued", 1, "timeout")
    [attempt] = await attempts(client, site, admin, endpoint_id)
    assert (attempt["status"], attempt["error"], attempt["attempt"]) == (None, "timeout", 1)


async def test_an_endpoint_failing_for_a_day_is_disabled_and_its_deliveries_die(client, site, db, admin, notifier,
                                                                               caplog) -> None:
    async with Receiver(status=503) as receiver:
        endpoint_id = (await register(client, site, admin, receiver.url))["endpoint"]["id"]
        await post_comment(client, site, "Down for maintenance")
        await run_once(notifier)
        assert (await endpoint_of(client, site, admin, endpoint_id))["enabled"] is True
        # the first failure since the last success was more than a day ago
        await db.execute("UPDATE webhook_endpoints SET failing_since = now() - interval '25 hours' WHERE id = $1",
                         endpoint_id)
        await due_now(db, endpoint_id)
        with caplog.at_level(logging.WARNING, logger="comments_service.webhooks"):
            await run_once(notifier)
        shown = await endpoint_of(client, site, admin, endpoint_id)
        assert (shown["enabled"], shown["disabled_reason"]) == (False, "failing for a day")
        assert shown["disabled_at"] is not None
        [warning] = [r for r in caplog.records if r.name == "comments_service.webhooks"]
        assert warning.levelno == logging.WARNING
        assert site.id in warning.getMessage() and str(endpoint_id) in warning.getMessage()
        assert await db.fetchval("SELECT count(*) FROM moderation_actions WHERE site_id = $1 "
                                 "AND action = 'webhook_disabled'", site.id) == 1

        # no new deliveries for it; the one still queued dies when next tried
        await post_comment(client, site, "Back yet?")
        await due_now(db, endpoint_id)
        await run_once(notifier)
        assert len(receiver.requests) == 2
        [delivery] = await deliveries(db, endpoint_id)
        assert (delivery["state"], delivery["last_error"]) == ("dead", "endpoint_disabled")
        r = await client.post(f"{API}/{endpoint_id}/test", params=site.q(), headers=admin)
        assert (r.status_code, r.json()["code"]) == (409, "webhook_disabled")

        # enabling it again starts afresh
        r = await client.patch(f"{API}/{endpoint_id}", params=site.q(), headers=admin, json={"enabled": True})
        assert r.status_code == 200, r.text
        assert (r.json()["enabled"], r.json()["failing_since"], r.json()["disabled_at"],
                r.json()["disabled_reason"]) == (True, None, None, None)


@pytest.mark.parametrize("url", ["https://169.254.169.254/", "https://user:pw@x.example/", "http://example.org/",
                                 "https://10.0.0.7/hook", "ftp://x.example/"])
async def test_internal_credentialed_and_plain_http_urls_are_refused(client, site, admin, url) -> None:
    r = await client.post(API, params=site.q(), headers=admin, json={"url": url, "event_types": ["report.created"]})
    assert (r.status_code, r.json()["code"]) == (422, "invalid_webhook_url"), r.text
    assert r.json()["errors"][0]["key"] == "url"
    r = await client.patch(f"{API}/1", params=site.q(), headers=admin, json={"url": url})
    assert r.status_code == 422, r.text
    assert (await client.get(API, params=site.q(), headers=admin)).json() == []


async def test_event_types_are_checked_and_a_site_has_at_most_twenty(client, site, db, admin) -> None:
    r = await client.post(API, params=site.q(), headers=admin,
                          json={"url": "https://hooks.example/in", "event_types": ["comment.deleted"]})
    assert (r.status_code, r.json()["code"]) == (422, "unknown_event_type"), r.text
    for n in range(20):
        r = await client.post(API, params=site.q(), headers=admin,
                              json={"url": f"https://hooks.example/{n}", "event_types": ["moderation.decision"]})
        assert r.status_code == 201, r.text
    r = await client.post(API, params=site.q(), headers=admin,
                          json={"url": "https://hooks.example/21", "event_types": ["moderation.decision"]})
    assert (r.status_code, r.json()["code"]) == (409, "too_many_webhooks"), r.text
    assert await db.fetchval("SELECT count(*) FROM webhook_endpoints WHERE site_id = $1", site.id) == 20


async def test_moderators_and_other_sites_admins_cannot_touch_a_sites_endpoints(client, services, site, db,
                                                                               admin) -> None:
    endpoint_id = (await register(client, site, admin, "https://hooks.example/mine"))["endpoint"]["id"]
    moderator = bearer(await staff_token(db, "moderator", site.id))
    for method, path in [("GET", API), ("POST", API), ("GET", f"{API}/{endpoint_id}/attempts"),
                         ("DELETE", f"{API}/{endpoint_id}"), ("GET", f"{API}/events/schema")]:
        r = await client.request(method, path, params=site.q(), headers=moderator,
                                 json={"url": "https://hooks.example/x", "event_types": ["report.created"]}
                                 if method == "POST" else None)
        assert (r.status_code, r.json()["code"]) == (403, "forbidden"), (method, path, r.text)

    other = await make_site(services, db)
    # an admin token of the other site, and the other site's SSO admin (whose token this site refuses)
    for headers, refused in ((bearer(await staff_token(db, "admin", other.id)), 403),
                             (other.auth(other.sso_token(sub="boss", role="admin")), 401)):
        # their own list never shows it; asking for this site's is refused
        listed = await client.get(API, params=other.q(), headers=headers)
        assert listed.status_code == 200 and listed.json() == []
        assert (await client.get(API, params=site.q(), headers=headers)).status_code == refused
        for method, path, body in [("PATCH", f"{API}/{endpoint_id}", {"enabled": False}),
                                   ("DELETE", f"{API}/{endpoint_id}", None),
                                   ("POST", f"{API}/{endpoint_id}/rotate-secret", None),
                                   ("POST", f"{API}/{endpoint_id}/test", None),
                                   ("GET", f"{API}/{endpoint_id}/attempts", None)]:
            r = await client.request(method, path, params=other.q(), headers=headers, json=body)
            assert (r.status_code, r.json()["code"]) == (404, "webhook_not_found"), (method, path, r.text)
    shown = await endpoint_of(client, site, admin, endpoint_id)
    assert shown["enabled"] is True
    assert await db.fetchval("SELECT count(*) FROM notification_deliveries WHERE recipient = $1 "
                             "AND channel = 'webhook'", str(endpoint_id)) == 0

    # the site's own SSO admin manages it, and deleting it takes its waiting deliveries
    sso_admin = site.auth(site.sso_token(sub="chief", role="admin"))
    assert (await client.post(f"{API}/{endpoint_id}/test", params=site.q(), headers=sso_admin)).status_code == 202
    r = await client.delete(f"{API}/{endpoint_id}", params=site.q(), headers=sso_admin)
    assert r.status_code == 204, r.text
    assert await db.fetchval("SELECT count(*) FROM notification_deliveries WHERE recipient = $1 "
                             "AND channel = 'webhook'", str(endpoint_id)) == 0
    r = await client.get(f"{API}/{endpoint_id}/attempts", params=site.q(), headers=sso_admin)
    assert (r.status_code, r.json()["code"]) == (404, "webhook_not_found")
