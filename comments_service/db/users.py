"""Users: readers known by SSO subject or as guests, per site."""

from __future__ import annotations

import asyncpg

UPSERT_SSO = """
INSERT INTO users (site_id, kind, external_id, display_name, email, role) VALUES ($1, 'sso', $2, $3, $4, $5)
ON CONFLICT (site_id, kind, external_id) DO UPDATE
    SET display_name = EXCLUDED.display_name, email = EXCLUDED.email, role = EXCLUDED.role
    WHERE (users.display_name, users.email, users.role) IS DISTINCT FROM
          (EXCLUDED.display_name, EXCLUDED.email, EXCLUDED.role)
RETURNING id"""
SELECT_SSO = "SELECT id FROM users WHERE site_id = $1 AND kind = 'sso' AND external_id = $2"
INSERT_GUEST = """
INSERT INTO users (site_id, kind, external_id, display_name) VALUES ($1, 'guest', gen_random_uuid()::text, $2)
RETURNING id"""
GUEST_EXISTS = "SELECT display_name FROM users WHERE id = $1 AND site_id = $2 AND kind = 'guest'"


async def ensure_sso_user(conn: asyncpg.Connection, site_id: str, sub: str, name: str, email: str | None, role: str) -> int:
    user_id = await conn.fetchval(UPSERT_SSO, site_id, sub, name, email, role)
    if user_id is None:  # unchanged row: the upsert's WHERE skipped the update
        user_id = await conn.fetchval(SELECT_SSO, site_id, sub)
    return user_id


async def create_guest(conn: asyncpg.Connection, site_id: str, name: str) -> int:
    return await conn.fetchval(INSERT_GUEST, site_id, name)


async def guest_exists(conn: asyncpg.Connection, user_id: int, site_id: str) -> bool:
    return await conn.fetchval(GUEST_EXISTS, user_id, site_id) is not None


async def sso_user_id(conn: asyncpg.Connection, site_id: str, sub: str) -> int | None:
    return await conn.fetchval(SELECT_SSO, site_id, sub)
