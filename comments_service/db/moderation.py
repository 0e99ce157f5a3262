"""Moderation queues and decisions, user standing (bans, trust, premoderation), article settings."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

import asyncpg

from .connection import Connection, one_row

# A ban of the ``bans`` row aliased b is in force: permanent, or not yet over. One predicate for
# every statement that asks (posting, scoring, the write guard, the queue's author facts).
BAN_IN_FORCE = "(b.until IS NULL OR b.until > now())"

# ------------------------------------------------------------------ queues
_QUEUE_COLUMNS = """c.id, c.site_id, c.article_id, c.parent_id, c.depth, c.author_id, c.body_markdown, c.body_html,
    c.status, c.status_reason, c.toxicity, c.toxicity_model, comment_max_score(c.toxicity) AS max_score,
    c.open_reports, c.created_at, c.edited_at, c.moderated_at, c.moderated_by, c.campaign_id,
    c.decision_detail->>'language' AS language,
    (c.decision_detail->>'language_confidence')::float8 AS language_confidence"""
# each predicate repeats its partial index's WHERE clause so that the planner can use the index
_STATE = {
    "held": "c.status = 'held'",
    "reported": "c.status = 'published' AND c.open_reports > 0 AND c.open_reports >= {threshold}",
    "approved": "c.status = 'published' AND c.moderated_at IS NOT NULL",
    "rejected": "c.status = 'rejected'",
}
_SCORE = "comment_max_score(c.toxicity)"


@lru_cache(maxsize=64)
def queue_sql(state: str, sort: str, by_site: bool, by_article: bool) -> tuple[str, tuple[str, ...]]:
    """The keyset page query for one queue view, and the names of its parameters in order."""
    names: list[str] = []

    def param(name: str, cast: str = "") -> str:
        names.append(name)
        return f"${len(names)}{cast}"

    where = []
    if by_site:
        where.append(f"c.site_id = {param('site_id')}")
    if by_article:
        where.append(f"c.article_id = {param('article_id')}")
    where.append(_STATE[state].format(threshold=param("threshold") if state == "reported" else ""))
    if sort == "oldest":
        where.append(f"(c.created_at, c.id) > ({param('after_time')}, {param('after_id')})")
        order = "c.created_at, c.id"
    else:
        where.append(f"({_SCORE}, c.id) < ({param('after_score', '::real')}, {param('after_id')})")
        order = f"{_SCORE} DESC, c.id DESC"
    sql = f"SELECT {_QUEUE_COLUMNS} FROM comments c WHERE {' AND '.join(where)} ORDER BY {order} LIMIT {param('limit')}"
    return sql, tuple(names)


# Counts stop at COUNT_CAP: a moderator needs "how many" while it is small and "a lot" after
# that, and counting every one of 100k index entries on each poll would cost ~100 ms.
COUNT_CAP = 1000
COUNT_WAITING = f"""
SELECT (SELECT count(*) FROM (SELECT 1 FROM comments c WHERE c.site_id = $1 AND c.status = 'held'
            LIMIT {COUNT_CAP}) h) AS held,
       (SELECT count(*) FROM (SELECT 1 FROM comments c WHERE c.site_id = $1 AND c.status = 'published'
            AND c.open_reports > 0 AND c.open_reports >= $2 LIMIT {COUNT_CAP}) r) AS reported"""
COUNT_WAITING_ALL = f"""
SELECT (SELECT count(*) FROM (SELECT 1 FROM comments c WHERE c.status = 'held' LIMIT {COUNT_CAP}) h) AS held,
       (SELECT count(*) FROM (SELECT 1 FROM comments c WHERE c.status = 'published' AND c.open_reports > 0
            AND c.open_reports >= $1 LIMIT {COUNT_CAP}) r) AS reported"""
ARTICLES_BY_ID = """SELECT id, site_id, external_id, title, url, comments_open, premoderation, auto_close, created_at,
    close_at FROM articles WHERE id = ANY($1::bigint[])"""
PARENTS_BY_ID = """SELECT c.id, c.status, c.body_html, u.display_name AS author_name
FROM comments c JOIN users u ON u.id = c.author_id WHERE c.id = ANY($1::bigint[])"""
AUTHORS_BY_ID = f"""
SELECT u.id, u.display_name, u.kind, u.trusted, u.premoderate, b.until AS banned_until,
       (b.user_id IS NOT NULL AND {BAN_IN_FORCE}) AS banned,
       h.published, h.held, h.rejected
FROM users u
LEFT JOIN bans b ON b.site_id = u.site_id AND b.user_id = u.id
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE status = 'published') AS published,
           count(*) FILTER (WHERE status = 'held') AS held,
           count(*) FILTER (WHERE status = 'rejected') AS rejected
    FROM comments WHERE author_id = u.id) h
WHERE u.id = ANY($1::bigint[])"""
OPEN_REPORTS_OF = """SELECT comment_id, reason, note FROM reports
WHERE comment_id = ANY($1::bigint[]) AND resolved_action_id IS NULL ORDER BY comment_id, id"""


async def queue_page(conn: Connection, state: str, sort: str, *, site_id: str | None,
                     article_id: int | None, threshold: int, after: tuple, limit: int) -> list[asyncpg.Record]:
    sql, names = queue_sql(state, sort, site_id is not None, article_id is not None)
    values = {"site_id": site_id, "article_id": article_id, "threshold": threshold, "after_time": after[0],
              "after_score": after[0], "after_id": after[1], "limit": limit}
    return await conn.fetch(sql, *(values[n] for n in names))


async def count_waiting(conn: Connection, site_id: str | None, threshold: int) -> asyncpg.Record:
    if site_id is None:
        return await one_row(conn, COUNT_WAITING_ALL, threshold)
    return await one_row(conn, COUNT_WAITING, site_id, threshold)


async def articles_by_id(conn: Connection, ids: list[int]) -> dict[int, asyncpg.Record]:
    return {r["id"]: r for r in await conn.fetch(ARTICLES_BY_ID, ids)} if ids else {}


async def parents_by_id(conn: Connection, ids: list[int]) -> dict[int, asyncpg.Record]:
    return {r["id"]: r for r in await conn.fetch(PARENTS_BY_ID, ids)} if ids else {}


async def authors_by_id(conn: Connection, ids: list[int]) -> dict[int, asyncpg.Record]:
    return {r["id"]: r for r in await conn.fetch(AUTHORS_BY_ID, ids)} if ids else {}


async def open_reports_of(conn: Connection, comment_ids: list[int]) -> list[asyncpg.Record]:
    return await conn.fetch(OPEN_REPORTS_OF, comment_ids) if comment_ids else []


# ------------------------------------------------------------------ decisions
MODERATION_STATE = """SELECT site_id, open_reports, moderated_at, moderated_by FROM comments WHERE id = $1"""
APPLY_DECISION = """UPDATE comments SET status = $2, status_reason = $3, moderated_at = now(), moderated_by = $4,
    open_reports = 0, reported_at = NULL WHERE id = $1 RETURNING moderated_at"""
RESTORE = """UPDATE comments SET status = $2, status_reason = $3, moderated_at = $4, moderated_by = $5,
    open_reports = $6, reported_at = $7 WHERE id = $1"""
RESOLVE_REPORTS = "UPDATE reports SET resolved_action_id = $2 WHERE comment_id = $1 AND resolved_action_id IS NULL"
REOPEN_REPORTS = """WITH reopened AS (UPDATE reports SET resolved_action_id = NULL WHERE resolved_action_id = $1
    RETURNING created_at) SELECT count(*) AS n, min(created_at) AS first FROM reopened"""
COMMENTS_OF_AUTHOR_TO_REJECT = """SELECT id FROM comments WHERE author_id = $1 AND site_id = $2
    AND status IN ('pending_scoring', 'held', 'published') ORDER BY id"""


async def moderation_state(conn: Connection, comment_id: int) -> asyncpg.Record:
    """Of a comment the caller holds locked."""
    return await one_row(conn, MODERATION_STATE, comment_id)


async def apply_decision(conn: Connection, comment_id: int, status: str, reason: str | None,
                         actor_id: str) -> datetime:
    return await conn.fetchval(APPLY_DECISION, comment_id, status, reason, actor_id)


async def restore(conn: Connection, comment_id: int, *, status: str, reason: str | None,
                  moderated_at: datetime | None, moderated_by: str | None, open_reports: int,
                  reported_at: datetime | None) -> None:
    await conn.execute(RESTORE, comment_id, status, reason, moderated_at, moderated_by, open_reports, reported_at)


async def resolve_reports(conn: Connection, comment_id: int, action_id: int) -> int:
    return int((await conn.execute(RESOLVE_REPORTS, comment_id, action_id)).split()[-1])


async def reopen_reports(conn: Connection, action_id: int) -> tuple[int, datetime | None]:
    row = await one_row(conn, REOPEN_REPORTS, action_id)
    return row["n"], row["first"]


async def comments_to_reject(conn: Connection, user_id: int, site_id: str) -> list[int]:
    return [r["id"] for r in await conn.fetch(COMMENTS_OF_AUTHOR_TO_REJECT, user_id, site_id)]


# ------------------------------------------------------------------ users
USER = "SELECT id, site_id, kind, display_name, trusted, premoderate, shadow_restricted FROM users WHERE id = $1"
USER_FOR_UPDATE = USER + " FOR UPDATE"
SET_USER_FLAGS = """UPDATE users SET trusted = coalesce($2, trusted), premoderate = coalesce($3, premoderate),
    shadow_restricted = coalesce($4, shadow_restricted)
WHERE id = $1"""
ACTIVE_BAN = f"SELECT until, reason FROM bans b WHERE site_id = $1 AND user_id = $2 AND {BAN_IN_FORCE}"
UPSERT_BAN = """INSERT INTO bans (site_id, user_id, until, reason, note, created_by) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (site_id, user_id) DO UPDATE SET until = EXCLUDED.until, reason = EXCLUDED.reason, note = EXCLUDED.note,
    created_by = EXCLUDED.created_by, created_at = now()"""
DELETE_BAN = "DELETE FROM bans WHERE site_id = $1 AND user_id = $2 RETURNING until"


async def user(conn: Connection, user_id: int, *, for_update: bool = False) -> asyncpg.Record | None:
    return await conn.fetchrow(USER_FOR_UPDATE if for_update else USER, user_id)


async def set_user_flags(conn: Connection, user_id: int, trusted: bool | None,
                         premoderate: bool | None, shadow_restricted: bool | None = None) -> None:
    await conn.execute(SET_USER_FLAGS, user_id, trusted, premoderate, shadow_restricted)


async def active_ban(conn: Connection, site_id: str, user_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(ACTIVE_BAN, site_id, user_id)


# A guest costs one post to make, so a banned guest's ban reaches the network they wrote from
# lately: a comment of the last GUEST_BAN_REACH_DAYS from that address group by a guest under an
# active ban. Addresses change hands; older ones are let go (comments_author serves the range).
GUEST_BAN_REACH_DAYS = 30
ADDRESS_BANNED = f"""
SELECT EXISTS (
    SELECT 1 FROM bans b
    JOIN users u ON u.id = b.user_id AND u.kind = 'guest'
    JOIN comments c ON c.author_id = b.user_id AND c.created_at > now() - interval '{GUEST_BAN_REACH_DAYS} days'
    WHERE b.site_id = $1 AND {BAN_IN_FORCE} AND c.author_ip <<= $2::inet)"""


async def address_banned(conn: Connection, site_id: str, network: str) -> bool:
    """Whether a banned guest of the site wrote from ``network`` (CIDR)."""
    return await conn.fetchval(ADDRESS_BANNED, site_id, network)


async def upsert_ban(conn: Connection, site_id: str, user_id: int, until: datetime | None,
                     reason: str | None, note: str | None, created_by: str) -> None:
    await conn.execute(UPSERT_BAN, site_id, user_id, until, reason, note, created_by)


async def delete_ban(conn: Connection, site_id: str, user_id: int) -> bool:
    return await conn.fetchrow(DELETE_BAN, site_id, user_id) is not None


# ------------------------------------------------------------------ articles and sites
_ARTICLE_SETTINGS = ("id, site_id, external_id, title, url, comments_open, premoderation, auto_close, created_at, "
                     "close_at")
ARTICLE_FOR_UPDATE = f"""SELECT {_ARTICLE_SETTINGS}
FROM articles WHERE site_id = $1 AND external_id = $2 FOR UPDATE"""
UPDATE_ARTICLE = f"""UPDATE articles SET comments_open = coalesce($2, comments_open),
    premoderation = coalesce($3, premoderation), title = coalesce($4, title), url = coalesce($5, url),
    -- a moderator who opens an article explicitly overrides the site's auto-close age
    auto_close = CASE WHEN $2 IS TRUE THEN false ELSE auto_close END,
    -- $6: a closing date was sent ($7, NULL clears it); opening an article also lifts a date
    -- already passed (one still to come stays)
    close_at = CASE WHEN $6 THEN $7::timestamptz WHEN $2 IS TRUE AND close_at <= now() THEN NULL ELSE close_at END,
    version = version + 1
WHERE id = $1 RETURNING {_ARTICLE_SETTINGS}"""
ARTICLE_CLOSURE = "SELECT auto_close, created_at, close_at FROM articles WHERE id = $1"


async def article_for_update(conn: Connection, site_id: str, external_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(ARTICLE_FOR_UPDATE, site_id, external_id)


async def update_article(conn: Connection, article_id: int, comments_open: bool | None,
                         premoderation: bool | None, title: str | None = None,
                         url: str | None = None, *, set_close_at: bool = False,
                         close_at: datetime | None = None) -> asyncpg.Record:
    """Of an article the caller holds locked (article_for_update). ``set_close_at``: replace the
    closing date with ``close_at`` (None: no date)."""
    return await one_row(conn, UPDATE_ARTICLE, article_id, comments_open, premoderation, title, url,
                         set_close_at, close_at)


async def article_closure(conn: Connection, article_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(ARTICLE_CLOSURE, article_id)
