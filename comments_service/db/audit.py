"""The moderation audit log: insert and query only (the table refuses UPDATE and DELETE)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import asyncpg

from .connection import Connection

INSERT = """INSERT INTO moderation_actions (site_id, actor_id, actor_name, action, comment_id, user_id, article_id,
    before_status, after_status, reason, note, details)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id"""
LAST_FOR_COMMENT = """SELECT id, action, before_status, after_status, details, created_at FROM moderation_actions
WHERE comment_id = $1 ORDER BY id DESC LIMIT 1"""
_COLUMNS = """m.id, m.site_id, m.actor_id, m.actor_name, m.action, m.comment_id, m.user_id, m.article_id,
    m.before_status, m.after_status, m.reason, m.note, m.details, m.created_at,
    a.external_id AS article_external_id, u.display_name AS user_name"""
# what an entry is about, by name: the article's own id (the console links by it) and the reader's name
_JOINS = "LEFT JOIN articles a ON a.id = m.article_id LEFT JOIN users u ON u.id = m.user_id"
# optional filters of the audit query: name -> SQL predicate on parameter {}
_FILTERS = {
    "site_id": "m.site_id = {}",
    "comment_id": "m.comment_id = {}",
    "user_id": "m.user_id = {}",
    "actor_id": "m.actor_id = {}",
    "action": "m.action = {}",
    # the row ids of the articles with the external id the filter names (query() looks them up)
    "article": "m.article_id = ANY({}::bigint[])",
    "since": "m.created_at >= {}",
    "until": "m.created_at < {}",
    "before_id": "m.id < {}",
}
ARTICLES_NAMED = "SELECT id FROM articles WHERE external_id = $1 AND ($2::text IS NULL OR site_id = $2)"
# who acted: one index probe per distinct actor (a skip scan) that reads the actor's newest entry; on
# one site through (site_id, actor_id, id DESC), on every site through (actor_id, id DESC): the
# ORDER BY is the index's, so no other index can serve it
_ACTORS = """
WITH RECURSIVE actors AS (
    (SELECT m.actor_id, m.actor_name, m.created_at FROM moderation_actions m WHERE {site}
     ORDER BY m.actor_id, m.id DESC LIMIT 1)
    UNION ALL
    SELECT n.actor_id, n.actor_name, n.created_at FROM actors
    CROSS JOIN LATERAL (
        SELECT m.actor_id, m.actor_name, m.created_at FROM moderation_actions m
        WHERE {site} AND {after} ORDER BY m.actor_id, m.id DESC LIMIT 1) n)
SELECT actor_id, actor_name, created_at FROM actors ORDER BY created_at DESC LIMIT $1"""
# (the row comparison is a condition only the (site_id, actor_id) index can take)
ACTORS_OF_SITE = _ACTORS.format(site="m.site_id = $2", after="(m.site_id, m.actor_id) > ($2, actors.actor_id)")
ACTORS = _ACTORS.format(site="true", after="m.actor_id > actors.actor_id")


async def record(conn: Connection, *, site_id: str, actor_id: str, actor_name: str, action: str,
                 comment_id: int | None = None, user_id: int | None = None, article_id: int | None = None,
                 before_status: str | None = None, after_status: str | None = None, reason: str | None = None,
                 note: str | None = None, details: dict | None = None) -> int:
    return await conn.fetchval(INSERT, site_id, actor_id, actor_name, action, comment_id, user_id, article_id,
                               before_status, after_status, reason, note, details)


async def last_for_comment(conn: Connection, comment_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(LAST_FOR_COMMENT, comment_id)


async def query(conn: Connection, filters: Mapping[str, str | int | datetime | list[int] | None],
                limit: int) -> list[asyncpg.Record]:
    """Newest first; every filter that is not None narrows the result. ``article`` is the site's own
    id of an article (of the ``site_id`` filter's site, or of any site without one)."""
    if filters.get("article") is not None:
        ids = [r["id"] for r in await conn.fetch(ARTICLES_NAMED, filters["article"], filters.get("site_id"))]
        if not ids:
            return []
        filters = {**filters, "article": ids}
    where, values = [], []
    for name, value in filters.items():
        if value is not None:
            values.append(value)
            where.append(_FILTERS[name].format(f"${len(values)}"))
    values.append(limit)
    sql = (f"SELECT {_COLUMNS} FROM moderation_actions m {_JOINS} {'WHERE ' + ' AND '.join(where) if where else ''} "
           f"ORDER BY m.id DESC LIMIT ${len(values)}")
    return await conn.fetch(sql, *values)


async def actors(conn: Connection, site_id: str | None, limit: int) -> list[asyncpg.Record]:
    """The staff who acted (on the site, or anywhere), the most recently active first."""
    if site_id is None:
        return await conn.fetch(ACTORS, limit)
    return await conn.fetch(ACTORS_OF_SITE, limit, site_id)


# the name a moderator had when they decided a comment (their audit entry of that decision)
DECIDER_NAME = """SELECT actor_name FROM moderation_actions WHERE comment_id = $1 AND actor_id = $2
ORDER BY id DESC LIMIT 1"""


async def decider_name(conn: Connection, comment_id: int, actor_id: str) -> str | None:
    return await conn.fetchval(DECIDER_NAME, comment_id, actor_id)
