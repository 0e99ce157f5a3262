"""Webhooks per site: what admins manage (endpoints, their signing secrets, a test event, the
delivery log) and the notifier's channel that delivers the outbox's events to them.

An endpoint is an HTTPS URL (checked by domain/webhook_urls.check_endpoint_url with the same
options as the sender, so what is saved is what will be sent to) with the event types it wants,
and a Standard Webhooks signing secret (``whsec_…``) shown once, when made or rotated, and stored
sealed with the service's key. At most MAX_ENDPOINTS_PER_SITE per site.

As the notifier's channel ``webhook`` (services/notifications.EventChannel):

- ``fan_out`` makes, in the fan-out's transaction, one delivery per event and subscribed enabled
  endpoint, whose payload is the event's body (domain/webhook_events.WebhookEvent) as it stands
  then and whose idempotency key ``webhook:<endpoint>:<event>`` is the webhook-id header: stable
  across retries, so a receiver dedupes a resend by it;
- ``batch`` takes a claim's webhook deliveries: it reads their endpoints once, signs and POSTs
  each (services/webhook_sender.py), and when the claim is done logs the attempts
  (webhook_attempts, the last ATTEMPTS_KEPT per endpoint) and keeps each endpoint's health: a
  success clears ``failing_since``; a failure sets it if unset, and a failure more than
  DISABLE_AFTER_S after it disables the endpoint (logged as a WARNING, and an audit entry
  ``webhook_disabled``). The notifier retries what failed with backoff, and a delivery to a
  disabled or deleted endpoint dies (``endpoint_disabled``).

Admins' changes are audited (webhook_created, webhook_updated, webhook_deleted,
webhook_secret_rotated), naming the URL by its scheme and host only: moderators read the audit
log, and a receiver's path or query often holds a secret of its own.

"Send a test event" queues a ``webhook.test`` delivery, so that it takes the same path (signing,
retries, the log) as every other; it goes out on the notifier's next turn, which the queueing wakes.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import msgspec

from ..db import audit as audit_repo
from ..db import notifications as delivery_repo
from ..db import webhooks as repo
from ..db.connection import Connection, Row
from ..domain import webhook_events as events
from ..domain.labels import label_is_clean
from ..domain.structs import Struct
from ..domain.webhook_urls import InvalidEndpoint, check_endpoint_url
from ..errors import DomainError
from ..identity import Keyring, SecretSealedElsewhere
from .smtp_sender import DeliveryFailed
from .staff_scope import StaffLike, one_site
from .webhook_sender import WebhookResult, WebhookSender, new_secret

log = logging.getLogger("comments_service.webhooks")

MAX_ENDPOINTS_PER_SITE = 20
DISABLE_AFTER_S = 24 * 3600.0
DISABLED_REASON = "failing for a day"
MAX_DESCRIPTION_CHARS = 500
# who the audit log names for what the notifier does by itself
NOTIFIER_ACTOR = ("system:notifier", "notifier")


class WebhookEndpoint(Struct, frozen=True):
    """An endpoint as its admins see it (never its secret)."""

    id: int
    site_id: str
    url: str
    event_types: list[str]
    description: str | None
    enabled: bool
    created_at: datetime
    created_by: str | None
    last_success_at: datetime | None
    failing_since: datetime | None  # the first failure since the last success
    disabled_at: datetime | None  # set when the service disabled it for failing a day
    disabled_reason: str | None


class WebhookWithSecret(Struct, frozen=True):
    """An endpoint just made, or its secret just rotated: ``secret`` (whsec_…) is shown this once."""

    secret: str
    endpoint: WebhookEndpoint


class WebhookAttempt(Struct, frozen=True):
    """One try of one delivery."""

    id: int
    delivery_id: int
    event_type: str
    attempt: int  # 1 for the first try of the delivery
    status: int | None  # the HTTP status, when one came back
    latency_ms: int
    error: str | None  # null on success, else a short code (timeout, http_error, connect_error, ...)
    created_at: datetime


class TestEventQueued(Struct, frozen=True):
    """A test event queued for the endpoint: the notifier sends it on its next turn."""

    event_id: str  # the body's id
    webhook_id: str  # the webhook-id header it will carry


def _endpoint(row: Row) -> WebhookEndpoint:
    return WebhookEndpoint(id=row["id"], site_id=row["site_id"], url=row["url"], event_types=list(row["event_types"]),
                           description=row["description"], enabled=row["enabled"], created_at=row["created_at"],
                           created_by=row["created_by"], last_success_at=row["last_success_at"],
                           failing_since=row["failing_since"], disabled_at=row["disabled_at"],
                           disabled_reason=row["disabled_reason"])


def _attempt(row: Row) -> WebhookAttempt:
    return WebhookAttempt(id=row["id"], delivery_id=row["delivery_id"], event_type=row["event_type"],
                          attempt=row["attempt"], status=row["status"], latency_ms=row["latency_ms"],
                          error=row["error"], created_at=row["created_at"])


def _where(url: str) -> str:
    """The scheme and host of an endpoint's URL: what the audit log (which moderators read) and the
    log show of it. Its path and query are left out, as many receivers put their own secret there."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _require_admin(staff: StaffLike) -> None:
    if staff.role != "admin":
        raise DomainError("forbidden", "Managing webhooks needs an admin role.")


def _event_types(given: list[str]) -> list[str]:
    unknown = [t for t in given if t not in events.EVENT_TYPES]
    if unknown:
        raise DomainError("unknown_event_type", f"Unknown event type {unknown[0][:100]!r}; the known types are "
                                                f"{', '.join(events.EVENT_TYPES)}.")
    chosen = [t for t in events.EVENT_TYPES if t in given]  # the known order, each once
    if not chosen:
        raise DomainError("invalid_request", "An endpoint needs at least one event type.")
    return chosen


def _description(given: str) -> str:
    text = given.strip()
    if len(text) > MAX_DESCRIPTION_CHARS or not label_is_clean(text):
        raise DomainError("invalid_request", f"A description is at most {MAX_DESCRIPTION_CHARS} characters without "
                                             "control or text-direction characters.")
    return text


class Webhooks:
    """The admins' service and the notifier's ``webhook`` channel (module docstring)."""

    channel = "webhook"

    def __init__(self, pool: asyncpg.Pool, keyring: Keyring, sender: WebhookSender, allow_private: bool = False,
                 allow_http_loopback: bool = False) -> None:
        self.pool = pool
        self.keyring = keyring
        self.sender = sender
        self.allow_private = allow_private
        self.allow_http_loopback = allow_http_loopback

    def _url(self, url: str) -> str:
        try:
            checked = check_endpoint_url(url, allow_http_loopback=self.allow_http_loopback,
                                         allow_private=self.allow_private)
        except InvalidEndpoint as exc:
            raise DomainError("invalid_webhook_url", f"The webhook URL is refused: {exc.message}.",
                              extra={"errors": [{"key": "url", "message": exc.reason_code}]}) from None
        return checked.url

    # ------------------------------------------------------------ admins
    async def endpoints(self, staff: StaffLike, site_id: str | None) -> list[WebhookEndpoint]:
        _require_admin(staff)
        site = one_site(staff, site_id, "Name the site whose webhooks to list (?site=).")
        async with self.pool.acquire() as conn:
            return [_endpoint(r) for r in await repo.of_site(conn, site)]

    async def create(self, staff: StaffLike, site_id: str | None, *, url: str, event_types: list[str],
                     description: str | None = None) -> WebhookWithSecret:
        _require_admin(staff)
        site = one_site(staff, site_id, "Name the site the webhook is for (?site=).")
        checked = self._url(url)
        types = _event_types(event_types)
        text = (_description(description) or None) if description is not None else None
        secret = new_secret()
        async with self.pool.acquire() as conn, conn.transaction():
            if not await repo.lock_site(conn, site):
                raise DomainError("unknown_site")
            if await repo.count_of_site(conn, site) >= MAX_ENDPOINTS_PER_SITE:
                raise DomainError("too_many_webhooks", f"A site has at most {MAX_ENDPOINTS_PER_SITE} webhook "
                                                       "endpoints; delete one first.",
                                  extra={"limit": MAX_ENDPOINTS_PER_SITE})
            row = await repo.create(conn, site_id=site, url=checked, secret_sealed=self.keyring.encrypt(secret),
                                    event_types=types, description=text, created_by=staff.id)
            await self._audit(conn, staff, row, "webhook_created", {"url": _where(checked), "event_types": types})
        return WebhookWithSecret(secret=secret, endpoint=_endpoint(row))

    async def update(self, staff: StaffLike, endpoint_id: int, *, url: str | None = None,
                     event_types: list[str] | None = None, description: str | None = None,
                     enabled: bool | None = None) -> WebhookEndpoint:
        """Changes what is given (``description`` "" clears it); enabling a disabled endpoint starts
        its failure clock afresh."""
        _require_admin(staff)
        checked = self._url(url) if url is not None else None
        types = _event_types(event_types) if event_types is not None else None
        text = _description(description) if description is not None else None
        async with self.pool.acquire() as conn, conn.transaction():
            before = await self._own(conn, staff, endpoint_id, for_update=True)
            after = await repo.update(conn, endpoint_id, url=checked, event_types=types, description=text,
                                      enabled=enabled)
            assert after is not None  # locked above
            changes: dict[str, Any] = {k: [before[k], after[k]] for k in ("event_types", "description", "enabled")
                                       if before[k] != after[k]}
            if before["url"] != after["url"]:
                changes["url"] = [_where(before["url"]), _where(after["url"])]
            if changes:
                await self._audit(conn, staff, after, "webhook_updated", changes)
        return _endpoint(after)

    async def delete(self, staff: StaffLike, endpoint_id: int) -> None:
        _require_admin(staff)
        async with self.pool.acquire() as conn, conn.transaction():
            row = await self._own(conn, staff, endpoint_id, for_update=True)
            await repo.delete(conn, endpoint_id)
            await self._audit(conn, staff, row, "webhook_deleted", {"url": _where(row["url"])})

    async def rotate_secret(self, staff: StaffLike, endpoint_id: int) -> WebhookWithSecret:
        """A new secret, shown once; every delivery from now on (retries included) is signed with it."""
        _require_admin(staff)
        secret = new_secret()
        async with self.pool.acquire() as conn, conn.transaction():
            await self._own(conn, staff, endpoint_id, for_update=True)
            row = await repo.set_secret(conn, endpoint_id, self.keyring.encrypt(secret))
            assert row is not None  # locked above
            await self._audit(conn, staff, row, "webhook_secret_rotated", {"url": _where(row["url"])})
        return WebhookWithSecret(secret=secret, endpoint=_endpoint(row))

    async def send_test(self, staff: StaffLike, endpoint_id: int) -> TestEventQueued:
        """Queues a ``webhook.test`` event for the endpoint, delivered like any other."""
        _require_admin(staff)
        nonce = secrets.token_hex(8)
        key = f"webhook:{endpoint_id}:test-{nonce}"
        async with self.pool.acquire() as conn, conn.transaction():
            row = await self._own(conn, staff, endpoint_id)
            if not row["enabled"]:
                raise DomainError("webhook_disabled")
            event = events.make_event(id=f"evt_test_{nonce}", site_id=row["site_id"], created_at=datetime.now(UTC),
                                      data=events.WebhookTest(message=f"A test event sent by {staff.name}."))
            await delivery_repo.enqueue(conn, site_id=row["site_id"], channel=self.channel, kind=events.TEST_EVENT,
                                        recipient=str(endpoint_id), subscription_id=None, key=key,
                                        payload=msgspec.to_builtins(event))
            await repo.wake_notifier(conn)
        return TestEventQueued(event_id=event.id, webhook_id=key)

    async def attempts(self, staff: StaffLike, endpoint_id: int, limit: int = 50) -> list[WebhookAttempt]:
        """The endpoint's last ``limit`` delivery attempts, newest first."""
        _require_admin(staff)
        async with self.pool.acquire() as conn:
            await self._own(conn, staff, endpoint_id)
            return [_attempt(r) for r in await repo.attempts(conn, endpoint_id, limit)]

    async def _own(self, conn: Connection, staff: StaffLike, endpoint_id: int, *, for_update: bool = False) -> Row:
        """The endpoint, when this admin's; another site's answers as one that does not exist."""
        row = await repo.get(conn, endpoint_id, for_update=for_update)
        if row is None or not staff.can_act_on(row["site_id"]):
            raise DomainError("webhook_not_found")
        return row

    @staticmethod
    async def _audit(conn: Connection, staff: StaffLike, row: Row, action: str, details: dict[str, Any]) -> None:
        await audit_repo.record(conn, site_id=row["site_id"], actor_id=staff.id, actor_name=staff.name, action=action,
                                details={"webhook_id": row["id"], **details})

    # ------------------------------------------------------------ the notifier's channel
    async def fan_out(self, conn: Connection, event: Row) -> None:
        kind = event["kind"]
        if kind not in events.EVENT_TYPES:
            return
        site_id = event["site_id"]
        endpoints = await repo.subscribed(conn, site_id, kind)
        if not endpoints:
            return
        data = await self._data(conn, event)
        if data is None:
            return  # what it announces is gone
        body = events.make_event(id=events.event_id(event["id"]), site_id=site_id, created_at=event["created_at"],
                                 data=data)
        payload = msgspec.to_builtins(body)
        for endpoint_id in endpoints:
            await delivery_repo.enqueue(conn, site_id=site_id, channel=self.channel, kind=kind,
                                        recipient=str(endpoint_id), subscription_id=None,
                                        key=f"webhook:{endpoint_id}:{event['id']}", payload=payload)

    @staticmethod
    async def _data(conn: Connection, event: Row) -> events.EventData | None:
        kind = event["kind"]
        payload: dict[str, Any] = event["payload"] or {}
        if kind.startswith("comment."):
            row = await repo.comment_for_event(conn, event["subject_id"])
            if row is None:
                return None
            return events.comment_data(kind, comment_id=row["id"], article_id=row["article"],
                                       parent_id=row["parent_id"], author_name=row["author_name"],
                                       body_html=row["body_html"], article_url=row["article_url"])
        if kind == "report.created":
            return events.ReportCreated(report_id=event["subject_id"], comment_id=payload["comment_id"],
                                        reason=payload["reason"])
        if kind == "problem_report.created":
            return events.ProblemReportCreated(reference=payload["reference"], article_id=payload.get("article_id"))
        return events.ModerationDecision(action=payload["action"], comment_id=payload.get("comment_id"),
                                         user_id=payload.get("user_id"), before=payload.get("before"),
                                         after=payload.get("after"))

    async def batch(self, conn: Connection, deliveries: Sequence[Row]) -> WebhookBatch:
        """A claim's webhook deliveries, with the endpoints they go to read once (in the claim's
        connection)."""
        ids = {_endpoint_id(d) for d in deliveries}
        ids.discard(None)
        rows = await repo.get_many(conn, sorted(i for i in ids if i is not None))
        return WebhookBatch(self, {r["id"]: r for r in rows})

    async def record(self, outcomes: Sequence[tuple[int, Row, WebhookResult]]) -> None:
        """What a batch's calls learned: the attempts logged, and each endpoint's health kept as if
        its calls had been recorded one by one (a success clears the failure clock, and only a
        failure after the batch's last success can disable the endpoint)."""
        by_endpoint: dict[int, list[tuple[Row, WebhookResult]]] = {}
        for endpoint_id, delivery, result in outcomes:
            by_endpoint.setdefault(endpoint_id, []).append((delivery, result))
        for tries_left in (1, 0):
            try:
                await self._record(by_endpoint)
                return
            except asyncpg.ForeignKeyViolationError:
                if not tries_left:
                    raise  # an endpoint deleted between the check and the log, twice over

    async def _record(self, by_endpoint: dict[int, list[tuple[Row, WebhookResult]]]) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            # the log is a record, not a promise: its commit need not wait for the disk (whether the
            # delivery went is recorded by the notifier, durably)
            await conn.execute("SET LOCAL synchronous_commit = off")
            logged: list[tuple[int, Row, WebhookResult]] = []
            for endpoint_id in sorted(by_endpoint):  # one order for every notifier: no deadlocks
                calls = by_endpoint[endpoint_id]
                exists = False
                if any(result.error is None for _, result in calls):
                    exists = await repo.record_success(conn, endpoint_id)
                failed = None
                last = calls[-1][1]
                if last.error is not None:
                    failed = await repo.record_failure(conn, endpoint_id, disable_after_s=DISABLE_AFTER_S,
                                                       reason=DISABLED_REASON)
                    exists = failed is not None
                if not exists:
                    continue  # deleted meanwhile: its log went with it
                logged.extend((endpoint_id, delivery, result) for delivery, result in calls)
                if failed is not None and failed["disabled_now"]:
                    await self._disabled(conn, endpoint_id, failed, last)
            await repo.log_attempts(conn, [
                repo.Attempt(endpoint_id=endpoint_id, delivery_id=delivery["id"], event_type=delivery["kind"],
                             attempt=delivery["attempts"], status=result.status, latency_ms=result.latency_ms,
                             error=result.error)
                for endpoint_id, delivery, result in logged])

    @staticmethod
    async def _disabled(conn: Connection, endpoint_id: int, failed: Row, last: WebhookResult) -> None:
        log.warning("webhook endpoint %s (%s) of site %s disabled: failing since %s (last: %s)", endpoint_id,
                    _where(failed["url"]), failed["site_id"], failed["failing_since"].isoformat(), last.error,
                    extra={"site": failed["site_id"], "webhook_id": endpoint_id})
        actor_id, actor_name = NOTIFIER_ACTOR
        await audit_repo.record(conn, site_id=failed["site_id"], actor_id=actor_id, actor_name=actor_name,
                                action="webhook_disabled", reason=DISABLED_REASON, details={
                                    "webhook_id": endpoint_id, "url": _where(failed["url"]),
                                    "failing_since": failed["failing_since"].isoformat(),
                                    "last_error": last.error})


def _endpoint_id(delivery: Row) -> int | None:
    try:
        return int(delivery["recipient"])
    except ValueError:
        return None


class WebhookBatch:
    """The webhook deliveries of one claim (services/notifications.ChannelBatch): each endpoint's
    row as read at the claim and its secret opened once, and the outcomes kept until ``finish``
    records them together."""

    def __init__(self, webhooks: Webhooks, endpoints: dict[int, Row]) -> None:
        self.webhooks = webhooks
        self.endpoints = endpoints
        self.secrets: dict[int, str | None] = {}  # None: sealed under another key
        self.outcomes: list[tuple[int, Row, WebhookResult]] = []

    async def send(self, delivery: Row) -> None:
        endpoint_id = _endpoint_id(delivery)
        endpoint = self.endpoints.get(endpoint_id) if endpoint_id is not None else None
        if (endpoint_id is None or endpoint is None or not endpoint["enabled"]
                or endpoint["site_id"] != delivery["site_id"]):
            raise DeliveryFailed("endpoint_disabled", retryable=False)
        secret = self._secret(endpoint_id, endpoint)
        if secret is None:
            # another COMMENTS_SECRET_KEY sealed it: retried, in case the right key comes back
            raise DeliveryFailed("secret_unreadable", retryable=True)
        try:
            body = events.encode(events.from_stored(delivery["payload"]))
        except msgspec.ValidationError as exc:
            raise DeliveryFailed(f"invalid_payload: {exc}", retryable=False) from None
        try:
            result = await self.webhooks.sender.send(endpoint["url"], secret, delivery["idempotency_key"], body)
        except ValueError as exc:  # a fault of the delivery itself (its id, the secret): trying again cannot help
            raise DeliveryFailed(f"invalid_delivery: {exc}", retryable=False) from None
        self.outcomes.append((endpoint_id, delivery, result))
        if result.error is not None:
            raise DeliveryFailed(result.error, retryable=result.retryable)

    def _secret(self, endpoint_id: int, endpoint: Row) -> str | None:
        if endpoint_id not in self.secrets:
            try:
                self.secrets[endpoint_id] = self.webhooks.keyring.decrypt(endpoint["secret_sealed"])
            except SecretSealedElsewhere:
                self.secrets[endpoint_id] = None
        return self.secrets[endpoint_id]

    async def finish(self) -> None:
        outcomes, self.outcomes = self.outcomes, []
        self.secrets.clear()
        if outcomes:
            await self.webhooks.record(outcomes)
