"""Notifications: readers' subscriptions to replies, and the notifier that turns outbox events
into emails.

The triggers of migrations/0014 write an outbox event in the transaction of every change worth
telling (a comment published, held or rejected, a report, a problem report, a moderator's
decision). The notifier (``comments-service notifier``, one or more processes) then:

1. **fans out**: claims events (FOR UPDATE SKIP LOCKED, one fan-out at a time by an advisory lock
   so that a burst of replies joins one email), and makes a delivery per recipient: a published
   comment goes to the confirmed subscribers of its parent comment and of its article, never to
   its author, once per address. A subscriber's reply email waits ``reply_interval_seconds`` after
   their last one and collects every reply published meanwhile;
2. **delivers**: claims due deliveries with a lease, sends them (at most ``concurrency`` at once),
   and records each: sent; or retried after an exponentially growing delay with jitter; or, after
   ``max_attempts`` or a permanent refusal, dead. A notifier killed between sending and recording
   leaves the delivery to be sent again once its lease ends, under the same idempotency key, which
   is the message's Message-ID: at least once, recognisably the same message.

A reply is announced only once published (a held reply when a moderator approves it, a rejected
one never), and the email re-reads each reply when it is sent: one removed meanwhile is left out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from html import unescape
from typing import Any, Literal, NamedTuple, Protocol
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
import msgspec

from .. import i18n
from ..db import articles as article_repo
from ..db import notifications as repo
from ..db.connection import Connection, Row
from ..db.surges import SURGE_EVENT
from ..domain import notification_mail as mail
from ..domain.dsa_models import reason_label
from ..domain.email_addresses import normalise
from ..domain.structs import Struct
from ..errors import DomainError
from ..identity import Identity
from ..ratelimit import RateLimiter
from ..settings import NotificationSettings
from .comments import Actor
from .notification_links import NotificationLinks, address_digest
from .readers import Readers
from .sites import SiteEntry
from .smtp_sender import DeliveryFailed

log = logging.getLogger("comments_service.notifier")

_FAN_OUT_LOCK = 0x6E6F74696679  # one fan-out at a time: replies of a burst join one email
RETRY_CAP_S = 3600.0
SEND_TIMEOUT_S = 10.0  # the longest one send may take (the SMTP client's and the webhook sender's timeouts)
RECORD_EVERY = 20  # sent deliveries recorded together
_JITTER = random.Random()
_TAGS = re.compile(r"<[^>]{0,2000}>")


class SubscriptionView(Struct, frozen=True):
    id: int
    scope: Literal["comment", "article"]
    article_id: str
    article_title: str
    comment_id: int | None
    email: str
    confirmed: bool  # False: waiting for the reader to confirm the address from the email we sent
    created_at: datetime


def _view(row: Row) -> SubscriptionView:
    return SubscriptionView(id=row["id"], scope=row["scope"], article_id=row["article"], article_title=row["title"],
                            comment_id=row["comment_id"], email=row["email"],
                            confirmed=row["confirmed_at"] is not None, created_at=row["created_at"])


class LinkedSubscription(NamedTuple):
    """The subscription an email's link names, and the language its reader asked in (None: none
    stored; the page then follows the browser that opens it)."""

    view: SubscriptionView
    locale: str | None


class Subscriptions:
    """What readers ask for: replies to a comment, or everything new in an article, by email."""

    def __init__(self, pool: asyncpg.Pool, readers: Readers, limiter: RateLimiter, links: NotificationLinks,
                 settings: NotificationSettings) -> None:
        self.pool = pool
        self.readers = readers
        self.limiter = limiter
        self.links = links
        self.settings = settings

    async def subscribe(self, entry: SiteEntry, actor: Actor, external_id: str, *,
                        comment_id: int | None, email: str | None, locale: str | None = None) -> SubscriptionView:
        """``locale``: the language the reader's widget asked in (i18n.asked), kept for their emails."""
        identity = actor.identity
        if identity is None:
            raise DomainError("auth_required")
        address = normalise(email) if email else None
        if email and address is None:
            raise DomainError("invalid_email")
        own = normalise(identity.email) if identity.kind == "sso" and identity.email else None
        address = address or own
        if address is None:
            raise DomainError("email_required")
        confirmed = address == own  # an SSO reader's own address needs no confirming; any other does
        if not confirmed:
            await self.limiter.check("confirm_email", user=self.readers.subject(identity), ip=actor.ip)
            # and per recipient, whoever asks: many readers (or addresses) cannot flood one inbox
            await self.limiter.check("confirm_email", user="to:" + address.lower(), ip=None)
        site_id = entry.site.id
        async with self.pool.acquire() as conn, conn.transaction():
            article = await article_repo.get_by_external(conn, site_id, external_id)
            if article is None:
                raise DomainError("article_not_found")
            if comment_id is not None:
                row, _ = await self.readers.comment_of_site(conn, comment_id, site_id)
                if row.article_id != article["id"] or row.status != "published":
                    raise DomainError("comment_not_found")
            user_id = await self.readers.user_id(conn, identity)
            if own is not None:  # their subscriptions to their own address go to the token's now
                await repo.follow_sso_address(conn, site_id, user_id, own)
            # one to their own address follows it when their site's tokens name another
            sub_id = await repo.subscribe(conn, site_id=site_id, user_id=user_id,
                                          scope="comment" if comment_id is not None else "article",
                                          article_id=article["id"], comment_id=comment_id, email=address,
                                          confirmed=confirmed, follows_sso=confirmed,
                                          locale=i18n.supported(locale))
            found = await repo.subscription(conn, sub_id)
            assert found is not None
            if found["confirmed_at"] is None:
                await self._confirmation(conn, site_id, sub_id, address)
        return _view(found)

    async def _confirmation(self, conn: Connection, site_id: str, sub_id: int, address: str) -> None:
        """The confirmation email of an unconfirmed subscription, unless one that can still be
        used was sent to this address.

        The first one's key names the subscription and the address: asking again while it waits,
        or after it went and its link still works, sends none. Once it can no longer be used (it
        died, or went longer ago than a link lasts), asking again sends another, whose key also
        names the one it replaces: requests racing each other read the same last one and make one
        (ON CONFLICT DO NOTHING), and no clock decides. A confirmation sent again within the last
        hour stops more (a rolling hour, checked here), so a subscription gets at most one new
        confirmation an hour, on top of the limiter's per-reader and per-recipient counts."""
        first = f"confirm:{sub_id}:{address_digest(address)}"
        last = await repo.last_confirmation(conn, sub_id, address, self.settings.link_days)
        if last is None:
            key, payload = first, {}
        elif last["spent"] and not last["again_lately"]:
            key, payload = f"{first}:{last['id']}", {"again": True}
        else:
            return
        await repo.enqueue(conn, site_id=site_id, channel="email", kind="confirm_email", recipient=address,
                           subscription_id=sub_id, key=key, payload=payload)

    async def mine(self, entry: SiteEntry, identity: Identity | None) -> list[SubscriptionView]:
        if identity is None:
            raise DomainError("auth_required")
        user_id = await self.readers.user_id_of(identity)
        if user_id is None:
            return []
        own = normalise(identity.email) if identity.kind == "sso" and identity.email else None
        async with self.pool.acquire() as conn, conn.transaction():
            if own is not None:
                # the stored user is brought up to date with the token too: the notifier sends to
                # the user's stored address, and would otherwise move the subscriptions back
                user_id = await self.readers.user_id(conn, identity)
                await repo.follow_sso_address(conn, entry.site.id, user_id, own)
            return [_view(r) for r in await repo.subscriptions_of(conn, entry.site.id, user_id)]

    async def cancel(self, entry: SiteEntry, identity: Identity | None, subscription_id: int) -> None:
        if identity is None:
            raise DomainError("auth_required")
        user_id = await self.readers.user_id_of(identity)
        async with self.pool.acquire() as conn:
            found = await repo.subscription(conn, subscription_id)
            if (user_id is None or found is None or found["site_id"] != entry.site.id
                    or not await repo.unsubscribe(conn, subscription_id, user_id=user_id)):
                raise DomainError("subscription_not_found")

    async def by_link(self, purpose: Literal["unsubscribe", "confirm"], token: str) -> LinkedSubscription:
        """The subscription a link names (to show before acting on it), with its reader's language."""
        claims = self.links.open(purpose, token)
        async with self.pool.acquire() as conn:
            found = await repo.subscription(conn, claims.subscription_id)
        if found is None or address_digest(found["email"]) != claims.address:
            raise DomainError("subscription_not_found")
        return LinkedSubscription(_view(found), found["locale"])

    async def unsubscribe(self, token: str) -> LinkedSubscription:
        linked = await self.by_link("unsubscribe", token)
        async with self.pool.acquire() as conn:
            await repo.unsubscribe(conn, linked.view.id, email=linked.view.email)
        return linked

    async def confirm(self, token: str, locale: str | None = None) -> LinkedSubscription:
        """``locale``: the language of the browser that confirms, kept where the subscription had none."""
        view, stored = await self.by_link("confirm", token)
        locale = i18n.supported(locale)
        async with self.pool.acquire() as conn:
            if not await repo.confirm(conn, view.id, view.email, locale):
                raise DomainError("subscription_not_found")
        return LinkedSubscription(msgspec.structs.replace(view, confirmed=True), stored or locale)


class MailSender(Protocol):
    """What the notifier needs of an SMTP client (services/smtp_sender.SmtpSender)."""

    async def send(self, message: EmailMessage) -> None: ...

    async def close(self) -> None: ...


class ChannelBatch(Protocol):
    """A channel's deliveries of one claim."""

    async def send(self, delivery: Row) -> None:
        """Send one delivery; DeliveryFailed (with retryable) when it did not go."""

    async def finish(self) -> None:
        """Record what the sends learned (called once, after the last send)."""


class EventChannel(Protocol):
    """A channel the notifier serves besides its own emails (services/webhooks.py): what it makes
    of each outbox event, in the fan-out's transaction, and how it sends its deliveries."""

    channel: str  # notification_deliveries.channel of its deliveries

    async def fan_out(self, conn: Connection, event: Row) -> None:
        """Enqueue this channel's deliveries for ``event`` (db/notifications.enqueue)."""

    async def batch(self, conn: Connection, deliveries: Sequence[Row]) -> ChannelBatch:
        """What sending ``deliveries`` (all of this channel, one claim) needs, read in the claim's
        connection."""


def retry_delay(attempts: int, base_s: float, *, rng: random.Random | None = None) -> float:
    """The delay before attempt ``attempts + 1``: doubling from ``base_s``, capped at an hour, with
    jitter (between half and all of it) so that deliveries failed together do not retry together."""
    ceiling = min(RETRY_CAP_S, base_s * (2 ** max(0, attempts - 1)))
    return float(ceiling * (0.5 + 0.5 * (rng or _JITTER).random()))


def _excerpt(body_html: str, limit: int = 300) -> str:
    text = " ".join(unescape(_TAGS.sub(" ", body_html)).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _link(url: str) -> str:
    """An article's URL as a link in an email: characters a URL may not carry percent-encoded (the
    first reader to post named it, so it may hold anything the widget sent), no fragment of its own."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, quote(parts.path, safe="/%:@!$&'()*+,;=~"),
                       quote(parts.query, safe="/%:@!$&'()*+,;=?~"), ""))


def _sends_for(address: str, origins: Sequence[str]) -> bool:
    domain = address.rpartition("@")[2].lower().rstrip(".")
    for origin in origins:
        host = (urlsplit(origin).hostname or "").lower()
        if host == domain or host.endswith("." + domain):
            return True
    return False


def words(locale: Any, site: Row | None = None) -> mail.Words:
    """A reader's stored language as a mail writes in it; without one (or one no longer offered),
    the site's ``default_language``, else English."""
    chosen = ((i18n.supported(locale) if isinstance(locale, str) else None)
              or _site_language(site) or i18n.DEFAULT)
    return mail.Words(tr=i18n.translator(chosen), number=lambda n: i18n.format_number(n, chosen),
                      when=lambda d: i18n.format_datetime(d, chosen), lang=chosen,
                      rtl=i18n.direction(chosen) == "rtl")


def _site_language(site: Row | None) -> str | None:
    language = ((site["settings"] or {}) if site is not None else {}).get("default_language")
    return i18n.supported(language) if isinstance(language, str) else None


def _mail_domain(address: str) -> str:
    return address.rpartition("@")[2] or "localhost"


_ALERT_KINDS = ("moderator_alert", "held_digest")


@dataclass(frozen=True)
class _Batch:
    """What a claimed batch's emails are made of, by id."""

    subscriptions: dict[int, Row]
    sites: dict[str, Row]
    comments: dict[int, Row]
    alerts: dict[int, Row]
    channels: dict[str, ChannelBatch]
    statement_locales: dict[int, str | None]


class Notifier:
    """Fans out outbox events and delivers what they made (module docstring)."""

    def __init__(self, pool: asyncpg.Pool, settings: NotificationSettings, links: NotificationLinks,
                 sender: MailSender | None, *, database_url: str | None = None,
                 channels: Sequence[EventChannel] = ()) -> None:
        self.pool = pool
        self.channels = {c.channel: c for c in channels}
        self.database_url = database_url  # a LISTEN session of its own (None: poll only)
        self.settings = settings
        self.links = links
        self.sender = sender
        self.wake = asyncio.Event()

    # ------------------------------------------------------------ fan-out
    async def fan_out_once(self, limit: int = 500) -> int:
        """Fans out up to ``limit`` events; how many (0 when none waited or another notifier holds
        the fan-out)."""
        async with self.pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", _FAN_OUT_LOCK):
                return 0
            events = await repo.claim_events(conn, limit)
            for event in events:
                if event["kind"] == "comment.published":
                    await self._published(conn, event)
                elif event["kind"] in ("problem_report.created", "report.created"):
                    await self._alerted(conn, event)
                elif event["kind"] == SURGE_EVENT:
                    await self._surge_alerted(conn, event)
                for channel in self.channels.values():
                    await channel.fan_out(conn, event)
            if events:
                await repo.mark_fanned_out(conn, [e["id"] for e in events])
            digests = await self._digests(conn)
            return len(events) + digests

    async def _published(self, conn: Connection, event: Row) -> None:
        payload = event["payload"]
        comment_id = event["subject_id"]
        recipients = await repo.reply_recipients(conn, payload.get("parent_id"), payload["article_id"],
                                                 payload["author_id"])
        interval = timedelta(seconds=self.settings.reply_interval_seconds)
        for sub in recipients:
            if await repo.add_to_open_digest(conn, sub["id"], comment_id):
                continue
            last = sub["last_sent_at"]
            await repo.enqueue(conn, site_id=event["site_id"], channel="email", kind="reply_digest",
                               recipient=sub["email"], subscription_id=sub["id"], key=f"reply:{sub['id']}:{comment_id}",
                               payload={"comment_ids": [comment_id]},
                               not_before=last + interval if last is not None else None)

    async def _alerted(self, conn: Connection, event: Row) -> None:
        """Moderators' immediate alerts: each new problem report, and a comment whose open reports
        reached a moderator's threshold (once per comment and moderator)."""
        site_id, payload = event["site_id"], event["payload"]
        if event["kind"] == "problem_report.created":
            for alert in await repo.problem_report_alerts(conn, site_id):
                await repo.enqueue(conn, site_id=site_id, channel="email", kind="moderator_alert",
                                   recipient=alert["email"], subscription_id=None,
                                   key=f"alert:{alert['id']}:{event['id']}",
                                   payload={"alert_id": alert["id"], "what": "problem_report",
                                            "reference": payload.get("reference")})
            return
        comment_id = payload["comment_id"]
        reports = await repo.open_reports(conn, comment_id)
        for alert in await repo.report_alerts(conn, site_id, reports):
            await repo.enqueue(conn, site_id=site_id, channel="email", kind="moderator_alert",
                               recipient=alert["email"], subscription_id=None,
                               key=f"alert:{alert['id']}:reports:{comment_id}",
                               payload={"alert_id": alert["id"], "what": "reports", "comment_id": comment_id,
                                        "open_reports": reports})

    @staticmethod
    async def _surge_alerted(conn: Connection, event: Row) -> None:
        """A surge of new accounts started or ended on an article (services/surge.py): every moderator
        with alerts on the site hears of it, whichever alerts they chose."""
        site_id, payload = event["site_id"], event["payload"]
        for alert in await repo.every_alert(conn, site_id):
            await repo.enqueue(conn, site_id=site_id, channel="email", kind="moderator_alert",
                               recipient=alert["email"], subscription_id=None,
                               key=f"alert:{alert['id']}:surge:{event['id']}",
                               payload={"alert_id": alert["id"], "what": "surge", "state": payload.get("state"),
                                        "article_id": payload.get("article_id"), "title": payload.get("title")})

    async def _digests(self, conn: Connection) -> int:
        """Held-queue digests whose time has come, for sites where something waits."""
        made = 0
        for due in await repo.due_digests(conn):
            if due["held"]:
                bucket = int(datetime.now(UTC).timestamp() // (due["held_digest_minutes"] * 60))
                await repo.enqueue(conn, site_id=due["site_id"], channel="email", kind="held_digest",
                                   recipient=due["email"], subscription_id=None, key=f"digest:{due['id']}:{bucket}",
                                   payload={"alert_id": due["id"], "held": due["held"],
                                            "oldest_minutes": int(due["oldest_minutes"] or 0)})
                made += 1
        return made

    # ------------------------------------------------------------ delivery
    async def deliver_once(self) -> int:
        """Sends what is due (one claim); how many deliveries were tried. What the batch's emails
        need is read in a few queries, and the sent ones are recorded in one statement."""
        cfg = self.settings
        # no more than can be sent within the lease even if every send took its whole timeout: what
        # waits past its lease would be claimed, and sent, by another notifier too
        limit = max(1, min(cfg.batch, int(cfg.concurrency * cfg.lease_seconds / SEND_TIMEOUT_S)))
        # without a mail server, emails wait unclaimed (no attempt counted) until one is configured
        channels = None if self.sender is not None else list(self.channels)
        async with self.pool.acquire() as conn:
            claimed = await repo.claim_deliveries(conn, limit, cfg.lease_seconds, channels)
            if not claimed:
                return 0
            batch = await self._context(conn, claimed)
        gate = asyncio.Semaphore(cfg.concurrency)
        done: list[int] = []

        async def record() -> None:
            ids = done[:]
            done.clear()
            async with self.pool.acquire() as conn:
                await repo.mark_sent(conn, ids)

        async def one(delivery: Row) -> None:
            async with gate:
                if await self._deliver(delivery, batch):
                    done.append(delivery["id"])
                    # recorded a few at a time as they go, not after the slowest of the batch
                    if len(done) >= RECORD_EVERY:
                        await record()

        async with asyncio.TaskGroup() as group:
            for delivery in claimed:
                group.create_task(one(delivery))
        if done:
            await record()
        for channel in batch.channels.values():
            try:
                await channel.finish()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                # what went is recorded above; only the channel's own log of it is lost
                log.warning("notifier: a channel's record of its sends failed: %s", exc)
        return len(claimed)

    async def _context(self, conn: Connection, claimed: Sequence[Row]) -> _Batch:
        channels: dict[str, ChannelBatch] = {}
        for name, channel in self.channels.items():
            mine = [d for d in claimed if d["channel"] == name]
            if mine:
                channels[name] = await channel.batch(conn, mine)
        alert_ids = [d["payload"].get("alert_id", 0) for d in claimed if d["kind"] in _ALERT_KINDS]
        comment_ids = {c for d in claimed if d["kind"] == "reply_digest" for c in d["payload"].get("comment_ids", [])}
        statement_ids = [d["payload"].get("statement_id") for d in claimed if d["kind"] == "statement"
                         and isinstance(d["payload"].get("statement_id"), int)]
        subscriptions: dict[int, Row] = {}
        moved: dict[int, str] = {}
        for r in await repo.subscriptions_by_ids(conn, list({d["subscription_id"] for d in claimed
                                                             if d["subscription_id"]})):
            subscriptions[r["id"]] = r
            # a subscription to an SSO reader's own address goes to their address now (their latest
            # token's, stored when they last posted or subscribed); one they can no longer be
            # written to at (none, or not one we send to) keeps the last good one
            current = normalise(r["user_email"]) if r["follows_sso"] and r["user_email"] else None
            if current is not None and current != r["email"]:
                moved[r["id"]] = current
                subscriptions[r["id"]] = {**dict(r), "email": current}
        if moved:
            await repo.move_addresses(conn, moved)
        return _Batch(
            subscriptions=subscriptions,
            sites={r["id"]: r for r in await repo.sites_for_mail(conn, list({d["site_id"] for d in claimed}))},
            comments={r["id"]: r for r in await repo.comments_for_mail(conn, list(comment_ids))} if comment_ids else {},
            alerts={r["id"]: r for r in await repo.alerts_by_ids(conn, alert_ids)} if alert_ids else {},
            channels=channels,
            statement_locales=await repo.statement_locales(conn, statement_ids) if statement_ids else {})

    async def _deliver(self, delivery: Row, batch: _Batch) -> bool:
        """True when it went (or, as things stand now, has nothing left to say: recorded as sent)."""
        try:
            other = batch.channels.get(delivery["channel"])
            if other is not None:
                await other.send(delivery)
            elif (message := self._message(delivery, batch)) is not None:
                if self.sender is None:
                    raise DeliveryFailed("no SMTP server is configured (COMMENTS_SMTP_URL)", retryable=True)
                await self.sender.send(message)
        except DeliveryFailed as failed:
            await self._failed(delivery, failed.reason, retryable=failed.retryable)
            return False
        except ValueError as exc:  # an address or link the message cannot carry: it never will
            await self._failed(delivery, f"cannot be sent: {exc}", retryable=False)
            return False
        except Exception as exc:  # a fault of ours: retried like a network fault, and logged
            log.exception("delivery %s failed", delivery["id"])
            await self._failed(delivery, f"{type(exc).__name__}: {exc}", retryable=True)
            return False
        return True

    async def _failed(self, delivery: Row, reason: str, *, retryable: bool) -> None:
        async with self.pool.acquire() as conn:
            limit = (self.settings.webhook_max_attempts if delivery["channel"] == "webhook"
                     else self.settings.max_attempts)
            if retryable and delivery["attempts"] < limit:
                await repo.mark_retry(conn, delivery["id"], reason,
                                      retry_delay(delivery["attempts"], self.settings.retry_base_seconds))
            else:
                log.warning("delivery %s given up after %s attempt(s): %s", delivery["id"], delivery["attempts"],
                            reason)
                await repo.mark_dead(conn, delivery["id"], reason)

    def _message(self, delivery: Row, batch: _Batch) -> EmailMessage | None:
        """The email a delivery sends, as things stand now; None when nothing is left to say."""
        site = batch.sites.get(delivery["site_id"])
        if site is None:
            return None
        if delivery["kind"] in _ALERT_KINDS:
            return self._alert_message(delivery, site, batch)
        if delivery["kind"] in mail.DSA_KINDS:
            return self._dsa_message(delivery, site, batch)
        sub = batch.subscriptions.get(delivery["subscription_id"])
        if sub is None or (sub["email"] != delivery["recipient"] and not sub["follows_sso"]):
            # unsubscribed, or the address changed, since it was queued; but one that follows an
            # SSO reader's own address was moved to their new one, and what was queued goes there
            return None
        if delivery["kind"] == "confirm_email":
            if sub["confirmed_at"] is not None:
                return None
            subject, text, html = mail.confirm_email(site["name"], self.links.url("confirm", sub["id"], sub["email"]),
                                                     words(sub["locale"], site))
            unsubscribe = None
        elif delivery["kind"] == "reply_digest":
            if sub["confirmed_at"] is None:
                return None
            rows = [batch.comments[c] for c in delivery["payload"].get("comment_ids", [])
                    if c in batch.comments and batch.comments[c]["status"] == "published"]
            if not rows:
                return None
            article_url = _link(sub["url"])
            lines = [mail.ReplyLine(author_name=r["author"], excerpt=_excerpt(r["body_html"]),
                                    url=f"{article_url}#comment-{r['id']}") for r in rows]
            unsubscribe = self.links.url("unsubscribe", sub["id"], sub["email"])
            subject, text, html = mail.reply_digest(site["name"], sub["title"], article_url, lines, unsubscribe,
                                                    words(sub["locale"], site))
        else:
            return None
        return self._build(site, sub["email"], subject, text, html, delivery["idempotency_key"], unsubscribe)

    def _dsa_message(self, delivery: Row, site: Row, batch: _Batch) -> EmailMessage:
        """A Digital Services Act email (services/dsa.py): everything it says was fixed when the
        decision was taken and travels in the payload, its reader's language too (a statement's,
        made by a trigger, is its author's latest: db/notifications.statement_locales); it goes to
        the one address it names."""
        p = delivery["payload"]
        if delivery["kind"] == "notice_decision":
            subject, text, html = mail.notice_decision(site["name"], str(p.get("reference", "")),
                                                       str(p.get("category", "")), str(p.get("decision", "")),
                                                       str(p.get("explanation", "")), p.get("appeal_key"),
                                                       words(p.get("locale"), site))
        elif delivery["kind"] == "statement":
            subject, text, html = mail.statement_of_reasons(
                site["name"], str(p.get("restriction", "")), p.get("until"),
                reason_label(p.get("reason_code")) or p.get("reason_code"),
                p.get("rules_text"), str(p.get("source", "")), bool(p.get("automated_detection")),
                bool(p.get("automated_decision")), p.get("out_of_court"),
                words(batch.statement_locales.get(p.get("statement_id")), site))
        else:
            subject, text, html = mail.appeal_decision(site["name"], str(p.get("outcome", "")),
                                                       str(p.get("explanation", "")), p.get("out_of_court"),
                                                       p.get("to") == "notifier",
                                                       authors_appeal=p.get("appellant") == "author",
                                                       words=words(p.get("locale"), site))
        return self._build(site, delivery["recipient"], subject, text, html, delivery["idempotency_key"], None)

    def _alert_message(self, delivery: Row, site: Row, batch: _Batch) -> EmailMessage | None:
        payload = delivery["payload"]
        alert = batch.alerts.get(payload.get("alert_id", 0))
        if alert is None or alert["email"] != delivery["recipient"]:
            return None  # turned off, or another address, since it was queued
        console = self.links.public_url + "/moderation"
        if delivery["kind"] == "held_digest":
            subject, text, html = mail.held_digest(site["name"], int(payload.get("held", 0)),
                                                   int(payload.get("oldest_minutes", 0)), console)
        elif payload.get("what") == "problem_report":
            subject, text, html = mail.moderator_alert(
                site["name"], "problem report", f"A reader reported a problem (reference {payload.get('reference')}).",
                console)
        elif payload.get("what") == "surge":
            started = payload.get("state") == "started"
            article = f"\u201c{payload.get('title')}\u201d ({payload.get('article_id')})"
            subject, text, html = mail.moderator_alert(
                site["name"], "surge of new accounts" if started else "surge over",
                f"Many new accounts are commenting on {article}: their comments there wait for a moderator "
                "until it passes." if started else
                f"The surge of new accounts on {article} has passed: new accounts' comments there are "
                "decided as usual again.", console)
        else:
            subject, text, html = mail.moderator_alert(
                site["name"], "reader reports",
                f"Comment {payload.get('comment_id')} has {payload.get('open_reports')} open reports.", console)
        return self._build(site, alert["email"], subject, text, html, delivery["idempotency_key"],
                           self.links.url("alerts", alert["id"], alert["email"]))

    def _build(self, site: Row, to: str, subject: str, text: str, html: str, key: str,
               unsubscribe: str | None) -> EmailMessage:
        own = (site["settings"] or {}).get("mail_from")
        # a site's own sender only on a domain of its own (one of its origins' hosts, or a parent of
        # one): a site admin cannot have us send as anyone else
        sender = own if own and _sends_for(own, site["allowed_origins"] or []) else self.settings.mail_from
        return mail.build(mail.Mail(to=to, from_address=sender, from_name=site["name"], subject=subject, text=text,
                                    html=html, message_id_key=key, unsubscribe_url=unsubscribe,
                                    site_name=site["name"]), domain=_mail_domain(sender))

    # ------------------------------------------------------------ the loop
    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop``: fan out, deliver, then wait for NOTIFY outbox or the poll interval."""
        listener: asyncpg.Connection | None = None
        try:
            while not stop.is_set():
                if listener is None or listener.is_closed():
                    listener = await self._listen()
                try:
                    fanned = await self.fan_out_once()
                    sent = await self.deliver_once()
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    log.warning("notifier: %s; trying again", exc)
                    fanned = sent = 0
                if fanned or sent:
                    continue
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.settings.poll_seconds):
                        stopped = asyncio.ensure_future(stop.wait())
                        woken = asyncio.ensure_future(self.wake.wait())
                        try:
                            await asyncio.wait({stopped, woken}, return_when=asyncio.FIRST_COMPLETED)
                        finally:
                            stopped.cancel()
                            woken.cancel()
        finally:
            if listener is not None:
                with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                    await listener.close()

    async def _listen(self) -> asyncpg.Connection | None:
        """A session of its own that hears NOTIFY outbox (a LISTEN must stay on one session); None
        when it cannot connect: the poll interval covers it."""
        if self.database_url is None:
            return None
        try:
            conn: asyncpg.Connection = await asyncpg.connect(
                self.database_url, server_settings={"application_name": "comments_service_notifier"})
            await conn.add_listener("outbox", lambda *_: self.wake.set())
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            log.warning("notifier cannot LISTEN; polling only", extra={"error": f"{type(exc).__name__}: {exc}"})
            return None
        return conn

    async def sweep(self, *, events_days: int = 7, deliveries_days: int = 30) -> tuple[int, int]:
        async with self.pool.acquire() as conn:
            return await repo.sweep(conn, events_days=events_days, deliveries_days=deliveries_days)

    async def counts(self) -> dict[str, Any]:
        """For health and metrics: events waiting, deliveries by channel and state, the oldest due."""
        async with self.pool.acquire() as conn:
            depth, age = await repo.outbox_depth(conn)
            by_state = await repo.delivery_counts(conn)
            oldest = await repo.oldest_queued_age(conn)
        return {"outbox": depth, "outbox_oldest_s": age, "deliveries": by_state, "oldest_due_s": oldest}


