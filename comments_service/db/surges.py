"""The SQL of surges (services/surge.py): an article's surge columns (migrations/0022), the audit
entries and the outbox events of its transitions."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from ..domain.structs import Struct
from . import audit as audit_repo
from .connection import Connection

# who the audit log names for what the automatic surge rule did
SURGE_ACTOR = ("system:surge", "automatic surge rule")
# the outbox's kind for a surge starting or ending (services/notifications.py alerts moderators)
SURGE_EVENT = "article.surge"

_LOCK = "SELECT site_id, external_id, title, surge_started_at FROM articles WHERE id = $1 FOR UPDATE"
# the surge goes on until cooldown after the last time it was seen going on, never earlier than set
_EXTEND = """
UPDATE articles SET surge_started_at = coalesce(surge_started_at, now()),
                    surge_until = greatest(surge_until, now() + make_interval(secs => $2))
WHERE id = $1 RETURNING surge_started_at, surge_until"""
# a batch of surges whose time is up, taken by one sweep at a time (SKIP LOCKED)
_END_DUE = """
WITH due AS (SELECT id, surge_started_at AS started FROM articles
             WHERE surge_until IS NOT NULL AND surge_until <= now()
             ORDER BY surge_until LIMIT $1 FOR UPDATE SKIP LOCKED)
UPDATE articles a SET surge_started_at = NULL, surge_until = NULL FROM due WHERE a.id = due.id
RETURNING a.id, a.site_id, a.external_id, a.title, due.started"""
_OUTBOX = """
INSERT INTO outbox (site_id, kind, subject_id, payload)
SELECT $1::text, $2::text, $3::bigint, $4::jsonb WHERE outbox_enabled()"""
_IN_SURGE = """
SELECT a.external_id, a.title, a.url, a.surge_started_at, a.surge_until,
       (SELECT count(*) FROM comments c WHERE c.article_id = a.id AND c.status = 'held'
        AND c.status_reason = 'surge_premoderation') AS held
FROM articles a WHERE a.site_id = $1 AND a.surge_until > now()
ORDER BY a.surge_started_at DESC, a.id LIMIT $2"""
_SINCE = "SELECT created_at FROM users WHERE id = $1"


class Transition(Struct, frozen=True):
    """A surge that started or ended."""

    article_id: int
    site_id: str
    external_id: str
    title: str
    started_at: datetime | None


async def account_since(conn: Connection, user_id: int) -> datetime | None:
    return await conn.fetchval(_SINCE, user_id)


async def start_or_extend(conn: Connection, article_id: int, cooldown_seconds: int, details: dict) -> Transition | None:
    """Moves the article's surge on to ``cooldown_seconds`` from now, starting it when none was on
    (audited, announced in the outbox); the start, or None when the surge went on already. In a
    transaction: the row lock makes one of two concurrent starters the one that starts."""
    before = await conn.fetchrow(_LOCK, article_id)
    if before is None:
        return None  # deleted meanwhile
    after = await conn.fetchrow(_EXTEND, article_id, float(cooldown_seconds))
    if before["surge_started_at"] is not None or after is None:
        return None
    started = Transition(article_id=article_id, site_id=before["site_id"], external_id=before["external_id"],
                         title=before["title"], started_at=after["surge_started_at"])
    await _record(conn, started, "surge_started", {**details, "until": after["surge_until"].isoformat()})
    return started


async def end_due(conn: Connection, limit: int) -> list[Transition]:
    """Ends up to ``limit`` surges whose time is up, each audited and announced. In a transaction."""
    ended = [Transition(article_id=r["id"], site_id=r["site_id"], external_id=r["external_id"], title=r["title"],
                        started_at=r["started"]) for r in await conn.fetch(_END_DUE, limit)]
    now = await conn.fetchval("SELECT now()") if ended else None
    for t in ended:
        lasted = int((now - t.started_at).total_seconds()) if now is not None and t.started_at is not None else None
        await _record(conn, t, "surge_ended", {"lasted_seconds": lasted})
    return ended


async def _record(conn: Connection, t: Transition, action: str, details: dict) -> None:
    actor_id, actor_name = SURGE_ACTOR
    await audit_repo.record(conn, site_id=t.site_id, actor_id=actor_id, actor_name=actor_name, action=action,
                            article_id=t.article_id, details=details)
    state = "started" if action == "surge_started" else "ended"
    await conn.execute(_OUTBOX, t.site_id, SURGE_EVENT, t.article_id,
                       {"state": state, "article_id": t.external_id, "title": t.title})
    await conn.execute("SELECT pg_notify('outbox', '')")


async def in_surge(conn: Connection, site_id: str, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(_IN_SURGE, site_id, limit)
