"""Moderator and admin API tokens, stored as hashes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from .connection import Connection

INSERT = "INSERT INTO api_tokens (name, role, site_id, token_hash) VALUES ($1, $2, $3, $4) RETURNING id"
LOOKUP = "SELECT id, name, role, site_id, last_used_at FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL"
# written at most once a minute: a write on every moderator request costs more than the request
TOUCH = """UPDATE api_tokens SET last_used_at = now()
WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')"""
REVOKE = "UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL"
LIST = "SELECT id, name, role, site_id, created_at, last_used_at, revoked_at FROM api_tokens ORDER BY id"
# one site's tokens, newest first; the console's list
LIST_FOR_SITE = """SELECT id, name, role, site_id, created_at, last_used_at, revoked_at FROM api_tokens
WHERE site_id = $1 ORDER BY id DESC"""
GET_FOR_UPDATE = """SELECT id, name, role, site_id, created_at, last_used_at, revoked_at FROM api_tokens
WHERE id = $1 FOR UPDATE"""
REVOKE_RETURNING = """UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL
RETURNING id, name, role, site_id, created_at, last_used_at, revoked_at"""


async def create(conn: Connection, name: str, role: str, site_id: str | None, token_hash: bytes) -> int:
    return await conn.fetchval(INSERT, name, role, site_id, token_hash)


async def lookup(conn: Connection, token_hash: bytes) -> asyncpg.Record | None:
    row = await conn.fetchrow(LOOKUP, token_hash)
    last = row["last_used_at"] if row is not None else None
    if row is not None and (last is None or datetime.now(UTC) - last > timedelta(minutes=1)):
        await conn.execute(TOUCH, row["id"])
    return row


async def revoke(conn: Connection, token_id: int) -> bool:
    return (await conn.execute(REVOKE, token_id)).endswith(" 1")


async def list_all(conn: Connection) -> list[asyncpg.Record]:
    return await conn.fetch(LIST)


async def list_for(conn: Connection, site_id: str | None) -> list[asyncpg.Record]:
    """Every token (``site_id`` None) or one site's, newest first."""
    if site_id is None:
        return list(reversed(await conn.fetch(LIST)))
    return await conn.fetch(LIST_FOR_SITE, site_id)


async def get_for_update(conn: Connection, token_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(GET_FOR_UPDATE, token_id)


async def revoke_returning(conn: Connection, token_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(REVOKE_RETURNING, token_id)
