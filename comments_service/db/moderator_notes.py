"""Moderators' private notes on a reader (migrations/0008_moderator_notes.sql)."""

from __future__ import annotations

import asyncpg

from .connection import Connection, one_row

_COLUMNS = "id, user_id, body, author_id, author_name, created_at"
INSERT = f"""INSERT INTO moderator_notes (site_id, user_id, author_id, author_name, body)
VALUES ($1, $2, $3, $4, $5) RETURNING {_COLUMNS}"""
COUNT = "SELECT count(*) FROM moderator_notes WHERE user_id = $1"
OF_USER = f"SELECT {_COLUMNS} FROM moderator_notes WHERE user_id = $1 ORDER BY id DESC LIMIT $2"


async def add(conn: Connection, *, site_id: str, user_id: int, author_id: str, author_name: str,
              body: str) -> asyncpg.Record:
    return await one_row(conn, INSERT, site_id, user_id, author_id, author_name, body)


async def count(conn: Connection, user_id: int) -> int:
    return await conn.fetchval(COUNT, user_id)


async def of_user(conn: Connection, user_id: int, limit: int) -> list[asyncpg.Record]:
    """Newest first."""
    return await conn.fetch(OF_USER, user_id, limit)
