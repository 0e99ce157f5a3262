"""Users: readers known by SSO subject or as guests, per site."""

from __future__ import annotations

from .connection import Connection

# The SSO user's row as the token names it ($1 site, $2 subject, $3 name, $4 email, $5 role): its
# id, and whether the stored name, email and role still match the token's. A CTE, read alone by
# posting.CONTEXT and written after by SSO_USER_CTES.
KNOWN_SSO_CTE = """
known AS (SELECT id, created_at, (display_name, email, role) IS NOT DISTINCT FROM ($3::text, $4::text, $5::text) AS same
          FROM users WHERE site_id = $1 AND kind = 'sso' AND external_id = $2)"""
# An SSO user's id, the row inserted when missing and updated when the name, email or role in the
# token changed. The usual user is known and unchanged: then nothing is written, not even ON
# CONFLICT's speculative insert. CTEs ending in "sso_user(id)"; id is NULL only when a concurrent
# transaction inserted the row after this statement's snapshot (ask SELECT_SSO then).
SSO_USER_CTES = KNOWN_SSO_CTE + """,
up AS (INSERT INTO users (site_id, kind, external_id, display_name, email, role)
       SELECT $1, 'sso', $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM known WHERE same)
       ON CONFLICT (site_id, kind, external_id) DO UPDATE
           SET display_name = EXCLUDED.display_name, email = EXCLUDED.email, role = EXCLUDED.role
           WHERE (users.display_name, users.email, users.role) IS DISTINCT FROM
                 (EXCLUDED.display_name, EXCLUDED.email, EXCLUDED.role)
       RETURNING id),
sso_user AS (SELECT coalesce((SELECT id FROM up), (SELECT id FROM known)) AS id)"""
ENSURE_SSO = f"WITH {SSO_USER_CTES} SELECT id FROM sso_user"
SELECT_SSO = "SELECT id FROM users WHERE site_id = $1 AND kind = 'sso' AND external_id = $2"
INSERT_GUEST = """
INSERT INTO users (site_id, kind, external_id, display_name) VALUES ($1, 'guest', gen_random_uuid()::text, $2)
RETURNING id"""
GUEST_EXISTS = "SELECT display_name FROM users WHERE id = $1 AND site_id = $2 AND kind = 'guest'"


async def ensure_sso_user(conn: Connection, site_id: str, sub: str, name: str, email: str | None, role: str) -> int:
    user_id = await conn.fetchval(ENSURE_SSO, site_id, sub, name, email, role)
    if user_id is None:  # inserted by a concurrent transaction after the statement's snapshot
        user_id = await conn.fetchval(SELECT_SSO, site_id, sub)
    return user_id


async def create_guest(conn: Connection, site_id: str, name: str) -> int:
    return await conn.fetchval(INSERT_GUEST, site_id, name)


async def guest_exists(conn: Connection, user_id: int, site_id: str) -> bool:
    return await conn.fetchval(GUEST_EXISTS, user_id, site_id) is not None


async def sso_user_id(conn: Connection, site_id: str, sub: str) -> int | None:
    return await conn.fetchval(SELECT_SSO, site_id, sub)


HAS_STANDING_COMMENT = """SELECT EXISTS (SELECT 1 FROM comments WHERE author_id = $1 AND status = 'published'
    AND created_at <= now() - make_interval(mins => $2))"""


async def has_published_since(conn: Connection, user_id: int, minutes: int) -> bool:
    """Whether the user has a published comment posted at least ``minutes`` ago."""
    return await conn.fetchval(HAS_STANDING_COMMENT, user_id, minutes)
