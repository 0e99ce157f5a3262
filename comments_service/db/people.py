"""The moderators' view of readers: finding one, and what the author drawer shows of them (their
comments, the reports against them, the audit log's entries about them). Reads only."""

from __future__ import annotations

import asyncpg

from .connection import Connection
from .moderation import BAN_IN_FORCE

# The three ways a moderator names a reader, within one site: the user id, the SSO subject (or a
# guest's generated id), the start of the display name in any case. The name part reads one range of
# users_name_prefix in its own order; the bounds are expressions of the parameter, so the range
# holds in a generic plan too (a LIKE on a parameter would scan the site's readers there).
SEARCH = f"""
WITH hits AS (
    (SELECT id, 'id' AS matched_by, 0 AS rank FROM users WHERE site_id = $1 AND id = $2)
    UNION ALL
    (SELECT id, 'subject', 1 FROM users WHERE site_id = $1 AND kind IN ('sso', 'guest') AND external_id = $3)
    UNION ALL
    (SELECT id, 'name', 2 FROM users
     WHERE site_id = $1 AND lower(display_name) COLLATE "C" >= lower($4) COLLATE "C"
       AND lower(display_name) COLLATE "C" < (lower($4) || chr(1114111)) COLLATE "C"
       AND starts_with(lower(display_name), lower($4))
     ORDER BY lower(display_name) COLLATE "C", id LIMIT $5)
)
SELECT h.matched_by, h.rank, u.id, u.site_id, u.display_name, u.kind, u.external_id, u.trusted, u.premoderate,
       u.created_at, b.until AS banned_until, (b.user_id IS NOT NULL AND {BAN_IN_FORCE}) AS banned
FROM hits h
JOIN users u ON u.id = h.id
LEFT JOIN bans b ON b.site_id = u.site_id AND b.user_id = u.id
ORDER BY h.rank, lower(u.display_name) COLLATE "C", u.id"""

PERSON = """SELECT id, site_id, kind, external_id, display_name, trusted, premoderate, shadow_restricted, created_at
FROM users WHERE id = $1"""
COUNTS = "SELECT status, count(*) AS n FROM comments WHERE author_id = $1 GROUP BY status"
RECENT_COMMENTS = """
SELECT c.id, c.status, c.status_reason, c.toxicity, comment_max_score(c.toxicity) AS max_score, c.body_html,
       c.open_reports, c.created_at, c.moderated_at, c.moderated_by, a.external_id, a.title, a.url
FROM comments c JOIN articles a ON a.id = c.article_id
WHERE c.author_id = $1 ORDER BY c.created_at DESC, c.id DESC LIMIT $2"""
REPORT_REASONS = """
SELECT r.reason, count(*) AS n, count(*) FILTER (WHERE r.resolved_action_id IS NULL) AS open
FROM reports r JOIN comments c ON c.id = r.comment_id WHERE c.author_id = $1 GROUP BY r.reason"""
RECENT_REPORTS = """
SELECT r.comment_id, r.reason, r.note, r.created_at, r.resolved_action_id IS NULL AS open
FROM reports r JOIN comments c ON c.id = r.comment_id WHERE c.author_id = $1
ORDER BY r.created_at DESC, r.id DESC LIMIT $2"""
_AUDIT_COLUMNS = """m.id, m.site_id, m.actor_id, m.actor_name, m.action, m.comment_id, m.user_id, m.article_id,
    m.before_status, m.after_status, m.reason, m.note, m.details, m.created_at,
    a.external_id AS article_external_id"""
# Decisions on a comment carry its author's user id, so one index range (moderation_actions_user)
# holds both what was done to the reader and to their comments.
AUDIT_ABOUT = f"""SELECT {_AUDIT_COLUMNS} FROM moderation_actions m LEFT JOIN articles a ON a.id = m.article_id
WHERE m.user_id = $1 AND m.site_id = $2 AND (m.action = ANY($3::text[])) = $4 ORDER BY m.id DESC LIMIT $5"""


async def search(conn: Connection, site_id: str, *, user_id: int | None, subject: str, name_prefix: str,
                 limit: int) -> list[asyncpg.Record]:
    """Best match first (id, then subject, then names in order); the name part returns up to ``limit``."""
    return await conn.fetch(SEARCH, site_id, user_id, subject, name_prefix, limit)


async def person(conn: Connection, user_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(PERSON, user_id)


async def comment_counts(conn: Connection, user_id: int) -> dict[str, int]:
    return {r["status"]: r["n"] for r in await conn.fetch(COUNTS, user_id)}


async def recent_comments(conn: Connection, user_id: int, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(RECENT_COMMENTS, user_id, limit)


async def report_reasons(conn: Connection, user_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(REPORT_REASONS, user_id)


async def recent_reports(conn: Connection, user_id: int, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(RECENT_REPORTS, user_id, limit)


async def audit_about(conn: Connection, site_id: str, user_id: int, *, actions: tuple[str, ...], among: bool,
                      limit: int) -> list[asyncpg.Record]:
    """The audit log's newest entries about a reader and their comments: those whose action is one
    of ``actions`` (``among``), or those whose action is none of them."""
    return await conn.fetch(AUDIT_ABOUT, user_id, site_id, list(actions), among, limit)

