"""Moderator console sessions, stored by the SHA-256 of their cookie value (migrations/0006)."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from .connection import Connection

INSERT = """INSERT INTO staff_sessions (id_hash, kind, api_token_id, staff_id, name, role, site_id, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING created_at"""
# A live session: not past its absolute end, seen within the idle lifetime, and (made from an API
# token) the token not revoked. The token's own name, role and site are read, not the copies: a
# token is never changed, only revoked, but the token is the authority.
LOOKUP = """SELECT s.kind, s.api_token_id, s.staff_id, coalesce(t.name, s.name) AS name,
    coalesce(t.role, s.role) AS role, CASE WHEN s.kind = 'api_token' THEN t.site_id ELSE s.site_id END AS site_id,
    s.created_at, s.last_seen_at, s.expires_at
FROM staff_sessions s LEFT JOIN api_tokens t ON t.id = s.api_token_id
WHERE s.id_hash = $1 AND s.expires_at > now() AND s.last_seen_at > now() - $2::interval
  AND (s.api_token_id IS NULL OR t.revoked_at IS NULL)"""
# written at most once a minute: a write on every console request costs more than the request
TOUCH = """UPDATE staff_sessions SET last_seen_at = now()
WHERE id_hash = $1 AND last_seen_at < now() - interval '1 minute'"""
DELETE = "DELETE FROM staff_sessions WHERE id_hash = $1"
# a member's sessions beyond the newest ``$2``
TRIM = """DELETE FROM staff_sessions WHERE id_hash IN (
    SELECT id_hash FROM staff_sessions WHERE staff_id = $1 ORDER BY created_at DESC, id_hash OFFSET $2)"""
# a site's SSO sessions: each was signed in with a token of the site's SSO secret, and ends with it
END_SSO_OF_SITE = "DELETE FROM staff_sessions WHERE kind = 'sso' AND site_id = $1"
# a bounded batch of sessions that can no longer be used: past either lifetime, or of a revoked token
PURGE = """DELETE FROM staff_sessions WHERE id_hash IN (
    SELECT s.id_hash FROM staff_sessions s LEFT JOIN api_tokens t ON t.id = s.api_token_id
    WHERE s.expires_at <= now() OR s.last_seen_at <= now() - $1::interval OR t.revoked_at IS NOT NULL
    LIMIT $2)"""


async def create(conn: Connection, *, id_hash: bytes, kind: str, api_token_id: int | None, staff_id: str,
                 name: str, role: str, site_id: str | None, expires_at: datetime) -> datetime:
    created: datetime = await conn.fetchval(INSERT, id_hash, kind, api_token_id, staff_id, name, role, site_id,
                                            expires_at)
    return created


async def lookup(conn: Connection, id_hash: bytes, idle: timedelta) -> asyncpg.Record | None:
    return await conn.fetchrow(LOOKUP, id_hash, idle)


async def touch(conn: Connection, id_hash: bytes) -> None:
    await conn.execute(TOUCH, id_hash)


async def delete(conn: Connection, id_hash: bytes) -> bool:
    return (await conn.execute(DELETE, id_hash)).endswith(" 1")


async def trim(conn: Connection, staff_id: str, keep: int) -> int:
    return int((await conn.execute(TRIM, staff_id, keep)).rsplit(" ", 1)[1])


async def purge(conn: Connection, idle: timedelta, batch: int) -> int:
    return int((await conn.execute(PURGE, idle, batch)).rsplit(" ", 1)[1])


async def end_sso_of_site(conn: Connection, site_id: str) -> int:
    return int((await conn.execute(END_SSO_OF_SITE, site_id)).rsplit(" ", 1)[1])
