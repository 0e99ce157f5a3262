"""The SQL of webhooks (migrations/0015): sites' endpoints, and the log of delivery attempts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import asyncpg

from .connection import Connection

# at most this many attempts are kept per endpoint: the oldest go as new ones come
ATTEMPTS_KEPT = 1000
TRIM_EVERY = 100

_COLUMNS = """id, site_id, url, secret_sealed, event_types, description, enabled, created_at, created_by,
    last_success_at, failing_since, disabled_at, disabled_reason"""


async def lock_site(conn: Connection, site_id: str) -> bool:
    """Holds the site's row until the transaction ends, so that two admins adding endpoints at once
    cannot pass the per-site limit together; False when there is no such site."""
    return await conn.fetchval("SELECT true FROM sites WHERE id = $1 FOR NO KEY UPDATE", site_id) is not None


async def count_of_site(conn: Connection, site_id: str) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM webhook_endpoints WHERE site_id = $1", site_id))


async def of_site(conn: Connection, site_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(f"SELECT {_COLUMNS} FROM webhook_endpoints WHERE site_id = $1 ORDER BY id", site_id)


async def get(conn: Connection, endpoint_id: int, *, for_update: bool = False) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(f"SELECT {_COLUMNS} FROM webhook_endpoints WHERE id = $1{lock}", endpoint_id)


async def get_many(conn: Connection, endpoint_ids: Sequence[int]) -> list[asyncpg.Record]:
    return await conn.fetch(f"SELECT {_COLUMNS} FROM webhook_endpoints WHERE id = ANY($1::bigint[])",
                            list(endpoint_ids))


async def create(conn: Connection, *, site_id: str, url: str, secret_sealed: bytes, event_types: Sequence[str],
                 description: str | None, created_by: str) -> asyncpg.Record:
    row = await conn.fetchrow(
        f"INSERT INTO webhook_endpoints (site_id, url, secret_sealed, event_types, description, created_by) "
        f"VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_COLUMNS}",
        site_id, url, secret_sealed, list(event_types), description, created_by)
    assert row is not None
    return row


_UPDATE = f"""
UPDATE webhook_endpoints SET
    url = coalesce($2, url),
    event_types = coalesce($3, event_types),
    description = CASE WHEN $4::text IS NULL THEN description ELSE nullif($4, '') END,
    enabled = coalesce($5, enabled),
    -- enabling again starts afresh: the day of failures that disabled it is forgotten
    failing_since = CASE WHEN $5 AND NOT enabled THEN NULL ELSE failing_since END,
    disabled_at = CASE WHEN $5 AND NOT enabled THEN NULL ELSE disabled_at END,
    disabled_reason = CASE WHEN $5 AND NOT enabled THEN NULL ELSE disabled_reason END
WHERE id = $1 RETURNING {_COLUMNS}"""


async def update(conn: Connection, endpoint_id: int, *, url: str | None, event_types: Sequence[str] | None,
                 description: str | None, enabled: bool | None) -> asyncpg.Record | None:
    """Changes what is not None (``description`` "" clears it)."""
    return await conn.fetchrow(_UPDATE, endpoint_id, url, list(event_types) if event_types is not None else None,
                               description, enabled)


async def set_secret(conn: Connection, endpoint_id: int, secret_sealed: bytes) -> asyncpg.Record | None:
    return await conn.fetchrow(f"UPDATE webhook_endpoints SET secret_sealed = $2 WHERE id = $1 RETURNING {_COLUMNS}",
                               endpoint_id, secret_sealed)


async def delete(conn: Connection, endpoint_id: int) -> None:
    """The endpoint, its log, and its deliveries still waiting (they would only fail)."""
    await conn.execute("DELETE FROM notification_deliveries WHERE channel = 'webhook' AND recipient = $1 "
                       "AND state = 'queued'", str(endpoint_id))
    await conn.execute("DELETE FROM webhook_endpoints WHERE id = $1", endpoint_id)


async def subscribed(conn: Connection, site_id: str, event_type: str) -> list[int]:
    """The site's enabled endpoints that take ``event_type``."""
    rows = await conn.fetch("SELECT id FROM webhook_endpoints WHERE site_id = $1 AND enabled "
                            "AND $2 = ANY(event_types) ORDER BY id", site_id, event_type)
    return [r["id"] for r in rows]


async def comment_for_event(conn: Connection, comment_id: int) -> asyncpg.Record | None:
    """What a comment event's payload shows of the comment."""
    return await conn.fetchrow(
        "SELECT c.id, c.parent_id, c.body_html, u.display_name AS author_name, a.external_id AS article, "
        "a.url AS article_url FROM comments c JOIN users u ON u.id = c.author_id "
        "JOIN articles a ON a.id = c.article_id WHERE c.id = $1", comment_id)


async def wake_notifier(conn: Connection) -> None:
    """Wakes a notifier waiting between polls (it LISTENs on the outbox's channel)."""
    await conn.execute("SELECT pg_notify('outbox', '')")


# ------------------------------------------------------------------ delivery outcomes

# a success changes the endpoint's row only when its health changes (it was failing), or to move its
# last success on at most once a minute: every call to an endpoint writing its row would make them
# all wait on each other
_SUCCEEDED = """
WITH e AS (SELECT id, failing_since, last_success_at FROM webhook_endpoints WHERE id = $1),
     moved AS (UPDATE webhook_endpoints SET last_success_at = now(), failing_since = NULL
               WHERE id = (SELECT id FROM e WHERE failing_since IS NOT NULL OR last_success_at IS NULL
                                               OR last_success_at < now() - interval '1 minute')
               RETURNING 1)
SELECT EXISTS (SELECT 1 FROM e) AS found, (SELECT count(*) FROM moved) AS moved"""

# the first failure since the last success starts the clock; a failure once the clock has run
# ``$2`` seconds disables the endpoint (still enabled: disabling happens once)
_FAILED = """
UPDATE webhook_endpoints e SET
    failing_since = coalesce(e.failing_since, now()),
    enabled = e.enabled AND NOT o.overdue,
    disabled_at = CASE WHEN o.overdue THEN now() ELSE e.disabled_at END,
    disabled_reason = CASE WHEN o.overdue THEN $3 ELSE e.disabled_reason END
FROM (SELECT id, coalesce(enabled AND failing_since < now() - make_interval(secs => $2), false) AS overdue
      FROM webhook_endpoints WHERE id = $1 FOR UPDATE) o
WHERE e.id = o.id
RETURNING o.overdue AS disabled_now, e.site_id, e.url, e.failing_since"""


async def record_success(conn: Connection, endpoint_id: int) -> bool:
    """False when the endpoint is gone."""
    row = await conn.fetchrow(_SUCCEEDED, endpoint_id)
    return bool(row is not None and row["found"])


async def record_failure(conn: Connection, endpoint_id: int, *, disable_after_s: float,
                         reason: str) -> asyncpg.Record | None:
    """(disabled_now, site_id, url, failing_since); None when the endpoint is gone."""
    return await conn.fetchrow(_FAILED, endpoint_id, disable_after_s, reason)


class Attempt(NamedTuple):
    endpoint_id: int
    delivery_id: int
    event_type: str
    attempt: int
    status: int | None
    latency_ms: int
    error: str | None


_LOG_ATTEMPTS = """
INSERT INTO webhook_attempts (endpoint_id, delivery_id, event_type, attempt, status, latency_ms, error)
SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::int[], $5::int[], $6::int[], $7::text[])"""
_TRIM = """
DELETE FROM webhook_attempts WHERE endpoint_id = $1 AND id <= (
    SELECT id FROM webhook_attempts WHERE endpoint_id = $1 ORDER BY id DESC OFFSET $2 LIMIT 1)"""


async def log_attempts(conn: Connection, attempts: Sequence[Attempt]) -> None:
    """Tries, in one statement; an endpoint whose tries include a delivery id that is a multiple of
    TRIM_EVERY has its log trimmed to the last ATTEMPTS_KEPT, so that the log stays within
    ATTEMPTS_KEPT and a few hundred more however many calls go to it, without a trim for each."""
    if not attempts:
        return
    columns = list(zip(*attempts, strict=True))
    errors = [e[:500] if e else None for e in columns[6]]
    await conn.execute(_LOG_ATTEMPTS, *columns[:6], errors)
    for endpoint_id in sorted({a.endpoint_id for a in attempts if a.delivery_id % TRIM_EVERY == 0}):
        await conn.execute(_TRIM, endpoint_id, ATTEMPTS_KEPT)


async def attempts(conn: Connection, endpoint_id: int, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT id, delivery_id, event_type, attempt, status, latency_ms, error, created_at FROM webhook_attempts "
        "WHERE endpoint_id = $1 ORDER BY id DESC LIMIT $2", endpoint_id, limit)


# ------------------------------------------------------------------ key rotation

async def sealed_secrets(conn: Connection) -> list[asyncpg.Record]:
    """(id, site_id, secret_sealed) of every endpoint, locked, for sealing again under a new key."""
    return await conn.fetch("SELECT id, site_id, secret_sealed FROM webhook_endpoints ORDER BY id FOR UPDATE")


async def reseal(conn: Connection, endpoint_id: int, secret_sealed: bytes) -> None:
    await conn.execute("UPDATE webhook_endpoints SET secret_sealed = $2 WHERE id = $1", endpoint_id, secret_sealed)
