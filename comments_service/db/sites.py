"""Sites: who may embed comments, with which SSO secret and options."""

from __future__ import annotations

from typing import Any

import asyncpg

from ..domain.models import Site
from .connection import Connection

SITE_COLUMNS = "id, name, allowed_origins, sso_secret_enc, guest_commenting, allow_images, settings"
SELECT_SITE = f"SELECT {SITE_COLUMNS} FROM sites WHERE id = $1"
SELECT_SITE_FOR_UPDATE = f"SELECT {SITE_COLUMNS} FROM sites WHERE id = $1 FOR UPDATE"
UPSERT_SITE = """
INSERT INTO sites (id, name, allowed_origins, sso_secret_enc, guest_commenting, allow_images, settings)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, allowed_origins = EXCLUDED.allowed_origins,
    sso_secret_enc = coalesce(EXCLUDED.sso_secret_enc, sites.sso_secret_enc),
    guest_commenting = EXCLUDED.guest_commenting, allow_images = EXCLUDED.allow_images,
    settings = sites.settings || EXCLUDED.settings"""
# a new site only: an existing id is left exactly as it is (None comes back)
INSERT_SITE = """
INSERT INTO sites (id, name, allowed_origins, sso_secret_enc, guest_commenting, allow_images, settings)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (id) DO NOTHING
RETURNING id"""
UPDATE_SITE = """
UPDATE sites SET name = $2, allowed_origins = $3, sso_secret_enc = $4, guest_commenting = $5,
    allow_images = $6, settings = $7
WHERE id = $1"""
# what a site holds, for listing and for refusing to delete a site that still has comments
SITE_SUMMARIES = f"""
SELECT {SITE_COLUMNS}, created_at,
    (SELECT count(*) FROM articles a WHERE a.site_id = s.id) AS articles,
    (SELECT count(*) FROM comments c JOIN articles a ON a.id = c.article_id WHERE a.site_id = s.id) AS comments,
    (SELECT count(*) FROM users u WHERE u.site_id = s.id) AS users
FROM sites s WHERE $1::text IS NULL OR s.id = $1
ORDER BY s.id"""
SITE_SETTINGS = "SELECT id, settings FROM sites WHERE $1::text IS NULL OR id = $1 ORDER BY id"
# articles, users, comments, votes, reports, bans, scoring jobs, problem reports and the site's
# API tokens go with the site (ON DELETE CASCADE); the audit log is append-only and keeps its rows
DELETE_SITE = "DELETE FROM sites WHERE id = $1 RETURNING id"
LOCK_ARTICLES = "SELECT external_id FROM articles WHERE site_id = $1 ORDER BY id FOR UPDATE"


def _site(row: asyncpg.Record) -> Site:
    return Site(id=row["id"], name=row["name"], allowed_origins=list(row["allowed_origins"]),
                guest_commenting=row["guest_commenting"], allow_images=row["allow_images"],
                has_sso=row["sso_secret_enc"] is not None, settings=row["settings"] or {})


async def get(conn: Connection, site_id: str) -> tuple[Site, bytes | None] | None:
    row = await conn.fetchrow(SELECT_SITE, site_id)
    if row is None:
        return None
    return _site(row), row["sso_secret_enc"]


async def get_for_update(conn: Connection, site_id: str) -> tuple[Site, bytes | None] | None:
    """The site, locked until the transaction ends: a change read-modified-written under this lock
    never loses another's concurrent change."""
    row = await conn.fetchrow(SELECT_SITE_FOR_UPDATE, site_id)
    if row is None:
        return None
    return _site(row), row["sso_secret_enc"]


async def upsert(conn: Connection, *, site_id: str, name: str, origins: list[str],
                 sso_secret_enc: bytes | None, guests: bool, allow_images: bool = False,
                 settings: dict | None = None) -> None:
    await conn.execute(UPSERT_SITE, site_id, name, origins, sso_secret_enc, guests, allow_images, settings or {})


async def insert(conn: Connection, *, site_id: str, name: str, origins: list[str], sso_secret_enc: bytes | None,
                 guests: bool, allow_images: bool, settings: dict[str, Any]) -> bool:
    """False when the id is taken (the existing site is left untouched)."""
    return await conn.fetchval(INSERT_SITE, site_id, name, origins, sso_secret_enc, guests, allow_images,
                               settings) is not None


async def update(conn: Connection, site: Site, sso_secret_enc: bytes | None) -> None:
    await conn.execute(UPDATE_SITE, site.id, site.name, site.allowed_origins, sso_secret_enc,
                       site.guest_commenting, site.allow_images, site.settings)


async def summaries(conn: Connection, site_id: str | None = None) -> list[asyncpg.Record]:
    """Every site (or one) with its columns, created_at and its counts of articles, comments and users."""
    return list(await conn.fetch(SITE_SUMMARIES, site_id))


def site_of(row: asyncpg.Record) -> Site:
    return _site(row)


async def settings_of(conn: Connection, site_id: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    """(id, settings) of every site, or of one."""
    return [(r["id"], r["settings"] or {}) for r in await conn.fetch(SITE_SETTINGS, site_id)]


async def delete(conn: Connection, site_id: str) -> bool:
    return await conn.fetchval(DELETE_SITE, site_id) is not None


async def lock_articles(conn: Connection, site_id: str) -> list[str]:
    """The site's articles' own ids, each row locked until the transaction ends (no comment can be
    added to them meanwhile)."""
    return [r["external_id"] for r in await conn.fetch(LOCK_ARTICLES, site_id)]


# A key rotation reads and replaces sites' sealed SSO secrets as a whole; locked, so that a site
# saved during the rotation is not overwritten with its older secret.
SEALED_SECRETS = "SELECT id, sso_secret_enc FROM sites WHERE sso_secret_enc IS NOT NULL ORDER BY id FOR UPDATE"
REPLACE_SECRET = "UPDATE sites SET sso_secret_enc = $2 WHERE id = $1"


async def sealed_secrets_for_update(conn: Connection) -> list[tuple[str, bytes]]:
    """(site id, sealed secret) of every site with an SSO secret, locked until the transaction ends."""
    return [(r["id"], bytes(r["sso_secret_enc"])) for r in await conn.fetch(SEALED_SECRETS)]


async def replace_secret(conn: Connection, site_id: str, sealed: bytes) -> None:
    await conn.execute(REPLACE_SECRET, site_id, sealed)
