"""The SQL of notifications: the outbox the triggers of migrations/0014 fill, readers'
subscriptions, and deliveries (one message to one recipient on one channel)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from .connection import Connection

# ------------------------------------------------------------------ outbox

_CLAIM_EVENTS = """
SELECT id, site_id, kind, subject_id, payload, created_at FROM outbox
WHERE fanned_out_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED"""


async def claim_events(conn: Connection, limit: int) -> list[asyncpg.Record]:
    """Events not fanned out yet, locked until the caller's transaction ends (another notifier
    skips them meanwhile)."""
    return await conn.fetch(_CLAIM_EVENTS, limit)


async def mark_fanned_out(conn: Connection, ids: Sequence[int]) -> None:
    await conn.execute("UPDATE outbox SET fanned_out_at = now() WHERE id = ANY($1::bigint[])", list(ids))


async def sweep(conn: Connection, *, events_days: int, deliveries_days: int) -> tuple[int, int]:
    """Forgets events fanned out and deliveries ended (sent or dead) longer ago than these many
    days: (events, deliveries) removed."""
    events = await conn.fetchval(
        "WITH gone AS (DELETE FROM outbox WHERE fanned_out_at < now() - make_interval(days => $1) RETURNING 1) "
        "SELECT count(*) FROM gone", events_days)
    deliveries = await conn.fetchval(
        "WITH gone AS (DELETE FROM notification_deliveries WHERE state IN ('sent', 'dead') "
        "AND created_at < now() - make_interval(days => $1) RETURNING 1) SELECT count(*) FROM gone",
        deliveries_days)
    return int(events), int(deliveries)


async def outbox_depth(conn: Connection) -> tuple[int, float | None]:
    """Events waiting to be fanned out, and the age in seconds of the oldest."""
    row = await conn.fetchrow("SELECT count(*) AS n, extract(epoch FROM now() - min(created_at)) AS age "
                              "FROM outbox WHERE fanned_out_at IS NULL")
    assert row is not None
    return int(row["n"]), float(row["age"]) if row["age"] is not None else None


# ------------------------------------------------------------------ subscriptions

_SUBSCRIPTION_COLUMNS = """s.id, s.site_id, s.user_id, s.scope, s.article_id, a.external_id AS article, a.title,
    a.url, s.comment_id, s.email, s.confirmed_at, s.created_at, s.last_sent_at, s.follows_sso, s.locale"""
_SUBSCRIPTION_FROM = "notification_subscriptions s JOIN articles a ON a.id = s.article_id"

_SUBSCRIBE = """
INSERT INTO notification_subscriptions (site_id, user_id, scope, article_id, comment_id, email, confirmed_at,
                                        follows_sso, locale)
VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $7 THEN now() END, $8, $9)
ON CONFLICT (user_id, {target}) WHERE scope = '{scope}'
DO UPDATE SET email = EXCLUDED.email, follows_sso = EXCLUDED.follows_sso,
              locale = coalesce(EXCLUDED.locale, notification_subscriptions.locale),
              confirmed_at = CASE WHEN EXCLUDED.email = notification_subscriptions.email
                                  THEN coalesce(notification_subscriptions.confirmed_at, EXCLUDED.confirmed_at)
                                  ELSE EXCLUDED.confirmed_at END
RETURNING id"""


async def subscribe(conn: Connection, *, site_id: str, user_id: int, scope: str, article_id: int,
                    comment_id: int | None, email: str, confirmed: bool, follows_sso: bool = False,
                    locale: str | None = None) -> int:
    """The reader's subscription (made, or its address changed); ``confirmed``: the address is
    theirs already (an SSO reader's). A changed address is unconfirmed again. ``follows_sso``: the
    address is the SSO reader's own, and changes when theirs does (migrations/0018). ``locale``: the
    language they asked in (migrations/0023); None keeps the one stored."""
    sql = _SUBSCRIBE.format(target="comment_id" if scope == "comment" else "article_id", scope=scope)
    return int(await conn.fetchval(sql, site_id, user_id, scope, article_id, comment_id, email, confirmed,
                                   follows_sso, locale))


async def follow_sso_address(conn: Connection, site_id: str, user_id: int, email: str) -> int:
    """Moves the SSO reader's subscriptions that follow their address to ``email`` (their
    token's now): how many moved. Their own address needs no confirming."""
    done = await conn.execute(
        "UPDATE notification_subscriptions SET email = $3, confirmed_at = coalesce(confirmed_at, now()) "
        "WHERE site_id = $1 AND user_id = $2 AND follows_sso AND email <> $3", site_id, user_id, email)
    return int(done.rpartition(" ")[2])


async def move_addresses(conn: Connection, moved: dict[int, str]) -> None:
    """Subscriptions (that follow their SSO reader's address) given their reader's address now."""
    await conn.execute(
        "UPDATE notification_subscriptions s SET email = m.email FROM unnest($1::bigint[], $2::text[]) AS m(id, email) "
        "WHERE s.id = m.id AND s.follows_sso", list(moved), list(moved.values()))


async def subscription(conn: Connection, subscription_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {_SUBSCRIPTION_COLUMNS} FROM {_SUBSCRIPTION_FROM} WHERE s.id = $1",
                               subscription_id)


async def subscriptions_by_ids(conn: Connection, ids: Sequence[int]) -> list[asyncpg.Record]:
    """The subscriptions with these ids, each with its reader's address as stored now (user_email:
    an SSO reader's is their latest token's, written when they last posted or subscribed)."""
    return await conn.fetch(f"SELECT {_SUBSCRIPTION_COLUMNS}, u.email AS user_email FROM {_SUBSCRIPTION_FROM} "
                            "JOIN users u ON u.id = s.user_id WHERE s.id = ANY($1::bigint[])", list(ids))


async def sites_for_mail(conn: Connection, ids: Sequence[str]) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT id, name, settings, allowed_origins FROM sites WHERE id = ANY($1::text[])",
                            list(ids))


async def subscriptions_of(conn: Connection, site_id: str, user_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(f"SELECT {_SUBSCRIPTION_COLUMNS} FROM {_SUBSCRIPTION_FROM} "
                            "WHERE s.site_id = $1 AND s.user_id = $2 ORDER BY s.id", site_id, user_id)


async def confirm(conn: Connection, subscription_id: int, email: str, locale: str | None = None) -> bool:
    """Confirms the subscription's address, if it is still this one; ``locale``: the language of the
    browser that confirmed, kept where none was stored."""
    done = await conn.execute("UPDATE notification_subscriptions SET confirmed_at = coalesce(confirmed_at, now()), "
                              "locale = coalesce(locale, $3) WHERE id = $1 AND email = $2",
                              subscription_id, email, locale)
    return done != "UPDATE 0"


# The language of a statement's author (migrations/0023): their latest, on the statement's site,
# from their subscriptions and their appeals
_STATEMENT_LOCALES = """
SELECT s.id, (SELECT k.locale FROM (
        SELECT n.locale, n.created_at FROM notification_subscriptions n
        WHERE n.user_id = s.user_id AND n.site_id = s.site_id AND n.locale IS NOT NULL
        UNION ALL
        SELECT a.locale, a.created_at FROM dsa_appeals a JOIN statements_of_reasons t ON t.id = a.statement_id
        WHERE t.user_id = s.user_id AND a.site_id = s.site_id AND a.locale IS NOT NULL
    ) k ORDER BY k.created_at DESC LIMIT 1) AS locale
FROM statements_of_reasons s WHERE s.id = ANY($1::bigint[])"""


async def statement_locales(conn: Connection, statement_ids: Sequence[int]) -> dict[int, str | None]:
    """statement id -> the language its author last asked us in on its site (None: none known)."""
    return {r["id"]: r["locale"] for r in await conn.fetch(_STATEMENT_LOCALES, list(statement_ids))}


async def unsubscribe(conn: Connection, subscription_id: int, *, user_id: int | None = None,
                      email: str | None = None) -> bool:
    """Ends a subscription: the reader's own (``user_id``) or the one an unsubscribe link names
    (``email``: the address the link was sent to)."""
    done = await conn.execute(
        "DELETE FROM notification_subscriptions WHERE id = $1 AND ($2::bigint IS NULL OR user_id = $2) "
        "AND ($3::text IS NULL OR email = $3)", subscription_id, user_id, email)
    return done != "DELETE 0"


# who hears of a newly published comment: confirmed subscribers to its parent, and to its article,
# never its own author, one subscription per address (the comment's own outranks the article's)
_REPLY_RECIPIENTS = """
SELECT DISTINCT ON (s.email) s.id, s.email, s.scope, s.last_sent_at
FROM notification_subscriptions s
WHERE s.confirmed_at IS NOT NULL AND s.user_id <> $3
  AND ((s.scope = 'comment' AND s.comment_id = $1) OR (s.scope = 'article' AND s.article_id = $2))
ORDER BY s.email, (s.scope = 'comment') DESC, s.id"""


async def reply_recipients(conn: Connection, parent_id: int | None, article_id: int,
                           author_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(_REPLY_RECIPIENTS, parent_id, article_id, author_id)


async def comment_for_mail(conn: Connection, comment_id: int) -> asyncpg.Record | None:
    """A comment as a notification shows it: its text, author, article and site."""
    return await conn.fetchrow(
        "SELECT c.id, c.status, c.body_html, c.parent_id, c.created_at, u.display_name AS author, "
        "a.external_id AS article, a.title, a.url, s.id AS site_id, s.name AS site_name "
        "FROM comments c JOIN users u ON u.id = c.author_id JOIN articles a ON a.id = c.article_id "
        "JOIN sites s ON s.id = c.site_id WHERE c.id = $1", comment_id)


async def comments_for_mail(conn: Connection, comment_ids: Sequence[int]) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT c.id, c.status, c.body_html, c.created_at, u.display_name AS author "
        "FROM comments c JOIN users u ON u.id = c.author_id WHERE c.id = ANY($1::bigint[]) ORDER BY c.id",
        list(comment_ids))


# ------------------------------------------------------------------ deliveries

_ENQUEUE = """
INSERT INTO notification_deliveries (site_id, channel, kind, recipient, subscription_id, idempotency_key, payload,
                                     next_attempt_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, coalesce($8, now()))
ON CONFLICT (idempotency_key) DO NOTHING"""


async def enqueue(conn: Connection, *, site_id: str, channel: str, kind: str, recipient: str,
                  subscription_id: int | None, key: str, payload: dict[str, Any],
                  not_before: datetime | None = None) -> None:
    """A delivery, unless one with this key exists (a fan-out run twice makes none twice)."""
    await conn.execute(_ENQUEUE, site_id, channel, kind, recipient, subscription_id, key, payload, not_before)


# The last confirmation of a subscription's address: whether its link can no longer be used (it
# died unsent, or it went longer ago than a link lasts: links are signed when the email is built),
# and whether the subscription had a confirmation sent again within the hour.
_LAST_CONFIRMATION = """
SELECT d.id, d.state = 'dead' OR coalesce(d.sent_at, d.created_at) < now() - make_interval(days => $3) AS spent,
       EXISTS (SELECT 1 FROM notification_deliveries r
               WHERE r.subscription_id = $1 AND r.kind = 'confirm_email' AND r.payload ? 'again'
                 AND r.created_at > now() - interval '1 hour') AS again_lately
FROM notification_deliveries d
WHERE d.subscription_id = $1 AND d.kind = 'confirm_email' AND d.recipient = $2
ORDER BY d.id DESC LIMIT 1"""


async def last_confirmation(conn: Connection, subscription_id: int, address: str,
                            link_days: int) -> asyncpg.Record | None:
    """The subscription's last confirmation email to ``address`` (None: none was ever queued, or
    it was swept away): its id, spent, and again_lately (the comment above the query)."""
    return await conn.fetchrow(_LAST_CONFIRMATION, subscription_id, address, link_days)


_ADD_TO_DIGEST = """
UPDATE notification_deliveries
SET payload = jsonb_set(payload, '{comment_ids}', (payload->'comment_ids') || to_jsonb($2::bigint))
WHERE id = (SELECT id FROM notification_deliveries
            WHERE subscription_id = $1 AND state = 'queued' AND kind = 'reply_digest' AND attempts = 0
              AND (lease_until IS NULL OR lease_until < now())
            ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
  AND NOT (payload->'comment_ids') @> to_jsonb($2::bigint)
RETURNING id"""


async def add_to_open_digest(conn: Connection, subscription_id: int, comment_id: int) -> bool:
    """Adds a reply to the subscription's reply email still waiting to go (not yet tried): True
    when there was one to add it to."""
    return await conn.fetchval(_ADD_TO_DIGEST, subscription_id, comment_id) is not None


_CLAIM = """
UPDATE notification_deliveries d SET lease_until = now() + make_interval(secs => $2), attempts = d.attempts + 1
WHERE d.id IN (SELECT id FROM notification_deliveries
               WHERE state = 'queued' AND next_attempt_at <= now() AND (lease_until IS NULL OR lease_until < now())
                 AND ($3::text[] IS NULL OR channel = ANY($3::text[]))
               ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING d.id, d.site_id, d.channel, d.kind, d.recipient, d.subscription_id, d.idempotency_key, d.payload,
          d.attempts"""


async def claim_deliveries(conn: Connection, limit: int, lease_s: float,
                           channels: Sequence[str] | None = None) -> list[asyncpg.Record]:
    """Due deliveries (of these channels, or any), leased to the caller for ``lease_s`` (a notifier
    that dies mid-send leaves them to the next once the lease ends: at least once, under the same
    idempotency key)."""
    return await conn.fetch(_CLAIM, limit, lease_s, list(channels) if channels is not None else None)


async def mark_sent(conn: Connection, ids: Sequence[int]) -> None:
    await conn.execute(
        "WITH sent AS (UPDATE notification_deliveries SET state = 'sent', sent_at = now(), lease_until = NULL, "
        "last_error = NULL WHERE id = ANY($1::bigint[]) RETURNING subscription_id, kind) "
        "UPDATE notification_subscriptions s SET last_sent_at = now() FROM sent "
        "WHERE s.id = sent.subscription_id AND sent.kind = 'reply_digest'", list(ids))


async def mark_retry(conn: Connection, delivery_id: int, error: str, retry_in_s: float) -> None:
    await conn.execute(
        "UPDATE notification_deliveries SET lease_until = NULL, last_error = $2, "
        "next_attempt_at = now() + make_interval(secs => $3) WHERE id = $1", delivery_id, error[:500], retry_in_s)


async def mark_dead(conn: Connection, delivery_id: int, error: str) -> None:
    await conn.execute("UPDATE notification_deliveries SET state = 'dead', lease_until = NULL, last_error = $2 "
                       "WHERE id = $1", delivery_id, error[:500])


async def delivery_counts(conn: Connection) -> dict[tuple[str, str], int]:
    """(channel, state) -> deliveries; "retrying": queued again after a failed attempt."""
    rows = await conn.fetch(
        "SELECT channel, CASE WHEN state = 'queued' AND attempts > 0 THEN 'retrying' ELSE state END AS state, "
        "count(*) AS n FROM notification_deliveries GROUP BY 1, 2")
    return {(r["channel"], r["state"]): int(r["n"]) for r in rows}


async def oldest_queued_age(conn: Connection) -> float | None:
    age = await conn.fetchval("SELECT extract(epoch FROM now() - min(next_attempt_at))::float8 "
                              "FROM notification_deliveries WHERE state = 'queued' AND next_attempt_at <= now()")
    return float(age) if age is not None else None


# ------------------------------------------------------------------ moderators' alerts

_ALERT_COLUMNS = ("id, site_id, staff_id, staff_name, email, problem_reports, report_threshold, held_digest_minutes, "
                  "last_digest_at, updated_at")

# An alert of a staff member whose API token (or the console session made from it: the same
# "token:<id>") was revoked, or is gone, is kept but never sent: checked when an alert is queued and
# again when it is sent, so whatever revokes the token (the console, the CLI) stops what was already
# queued too. An SSO moderator's role lives in the tokens their site signs, and the service keeps no
# record of its withdrawal; their alerts stop by the link in each one, or with the site.
_STAFF_ACTIVE = """(a.staff_id NOT LIKE 'token:%' OR EXISTS (
    SELECT 1 FROM api_tokens t WHERE t.revoked_at IS NULL
      AND t.id = CASE WHEN a.staff_id ~ '^token:[0-9]{1,18}$' THEN substr(a.staff_id, 7)::bigint END))"""


async def alert_of(conn: Connection, site_id: str, staff_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {_ALERT_COLUMNS} FROM moderator_alerts WHERE site_id = $1 AND staff_id = $2",
                               site_id, staff_id)


async def alerts_by_ids(conn: Connection, ids: Sequence[int]) -> list[asyncpg.Record]:
    """The alerts with these ids that may still be sent (an alert of revoked staff is left out)."""
    return await conn.fetch(f"SELECT {_ALERT_COLUMNS} FROM moderator_alerts a WHERE id = ANY($1::bigint[]) "
                            f"AND {_STAFF_ACTIVE}", list(ids))


async def alert(conn: Connection, alert_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {_ALERT_COLUMNS} FROM moderator_alerts WHERE id = $1", alert_id)


async def save_alert(conn: Connection, *, site_id: str, staff_id: str, staff_name: str, email: str,
                     problem_reports: bool, report_threshold: int | None,
                     held_digest_minutes: int | None) -> asyncpg.Record:
    row = await conn.fetchrow(
        "INSERT INTO moderator_alerts (site_id, staff_id, staff_name, email, problem_reports, report_threshold, "
        "held_digest_minutes) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (site_id, staff_id) DO UPDATE SET "
        "staff_name = EXCLUDED.staff_name, email = EXCLUDED.email, problem_reports = EXCLUDED.problem_reports, "
        "report_threshold = EXCLUDED.report_threshold, held_digest_minutes = EXCLUDED.held_digest_minutes, "
        f"updated_at = now() RETURNING {_ALERT_COLUMNS}",
        site_id, staff_id, staff_name, email, problem_reports, report_threshold, held_digest_minutes)
    assert row is not None
    return row


async def delete_alert(conn: Connection, alert_id: int, email: str | None = None) -> bool:
    done = await conn.execute("DELETE FROM moderator_alerts WHERE id = $1 AND ($2::text IS NULL OR email = $2)",
                              alert_id, email)
    return done != "DELETE 0"


async def problem_report_alerts(conn: Connection, site_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(f"SELECT id, email FROM moderator_alerts a WHERE site_id = $1 AND problem_reports "
                            f"AND {_STAFF_ACTIVE}", site_id)


async def every_alert(conn: Connection, site_id: str) -> list[asyncpg.Record]:
    """Every alert of the site, whatever it asks for: what every moderator must hear of (a surge)."""
    return await conn.fetch(f"SELECT id, email FROM moderator_alerts a WHERE site_id = $1 AND {_STAFF_ACTIVE}",
                            site_id)


async def report_alerts(conn: Connection, site_id: str, open_reports: int) -> list[asyncpg.Record]:
    """The alerts of the site whose threshold this many open reports reach."""
    return await conn.fetch("SELECT id, email FROM moderator_alerts a WHERE site_id = $1 "
                            f"AND report_threshold IS NOT NULL AND report_threshold <= $2 AND {_STAFF_ACTIVE}",
                            site_id, open_reports)


async def open_reports(conn: Connection, comment_id: int) -> int:
    return int(await conn.fetchval("SELECT coalesce((SELECT open_reports FROM comments WHERE id = $1), 0)",
                                   comment_id))


_DUE_DIGESTS = f"""
UPDATE moderator_alerts a SET last_digest_at = now()
WHERE a.held_digest_minutes IS NOT NULL
  AND (a.last_digest_at IS NULL OR a.last_digest_at + make_interval(mins => a.held_digest_minutes) <= now())
  AND {_STAFF_ACTIVE}
RETURNING a.id, a.site_id, a.email, a.held_digest_minutes,
          (SELECT count(*) FROM comments c WHERE c.site_id = a.site_id AND c.status = 'held') AS held,
          (SELECT extract(epoch FROM now() - min(c.created_at)) / 60 FROM comments c
            WHERE c.site_id = a.site_id AND c.status = 'held') AS oldest_minutes"""


async def due_digests(conn: Connection) -> list[asyncpg.Record]:
    """The held-queue digests whose interval has come round (marked as looked at now), with what
    waits in each one's site."""
    return await conn.fetch(_DUE_DIGESTS)
