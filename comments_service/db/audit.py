"""The moderation audit log: insert and query only (the table refuses UPDATE and DELETE)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from .connection import Connection

INSERT = """INSERT INTO moderation_actions (site_id, actor_id, actor_name, action, comment_id, user_id, article_id,
    before_status, after_status, reason, note, details)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id"""
LAST_FOR_COMMENT = """SELECT id, action, before_status, after_status, details, created_at FROM moderation_actions
WHERE comment_id = $1 ORDER BY id DESC LIMIT 1"""
_COLUMNS = """id, site_id, actor_id, actor_name, action, comment_id, user_id, article_id, before_status,
    after_status, reason, note, details, created_at"""
# optional filters of the audit query: name -> SQL predicate on parameter {}
_FILTERS = {
    "site_id": "site_id = {}",
    "comment_id": "comment_id = {}",
    "user_id": "user_id = {}",
    "actor_id": "actor_id = {}",
    "action": "action = {}",
    "since": "created_at >= {}",
    "until": "created_at < {}",
    "before_id": "id < {}",
}


async def record(conn: Connection, *, site_id: str, actor_id: str, actor_name: str, action: str,
                 comment_id: int | None = None, user_id: int | None = None, article_id: int | None = None,
                 before_status: str | None = None, after_status: str | None = None, reason: str | None = None,
                 note: str | None = None, details: dict | None = None) -> int:
    return await conn.fetchval(INSERT, site_id, actor_id, actor_name, action, comment_id, user_id, article_id,
                               before_status, after_status, reason, note, details)


async def last_for_comment(conn: Connection, comment_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(LAST_FOR_COMMENT, comment_id)


async def query(conn: Connection, filters: dict[str, str | int | datetime | None],
                limit: int) -> list[asyncpg.Record]:
    """Newest first; every filter that is not None narrows the result."""
    where, values = [], []
    for name, value in filters.items():
        if value is not None:
            values.append(value)
            where.append(_FILTERS[name].format(f"${len(values)}"))
    values.append(limit)
    sql = (f"SELECT {_COLUMNS} FROM moderation_actions {'WHERE ' + ' AND '.join(where) if where else ''} "
           f"ORDER BY id DESC LIMIT ${len(values)}")
    return await conn.fetch(sql, *values)
