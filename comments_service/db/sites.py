"""Sites: who may embed comments, with which SSO secret and options."""

from __future__ import annotations

import asyncpg

from ..domain.models import Site
from .connection import Connection

SELECT_SITE = """
SELECT id, name, allowed_origins, sso_secret_enc, guest_commenting, allow_images, settings
FROM sites WHERE id = $1"""
UPSERT_SITE = """
INSERT INTO sites (id, name, allowed_origins, sso_secret_enc, guest_commenting, allow_images, settings)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, allowed_origins = EXCLUDED.allowed_origins,
    sso_secret_enc = coalesce(EXCLUDED.sso_secret_enc, sites.sso_secret_enc),
    guest_commenting = EXCLUDED.guest_commenting, allow_images = EXCLUDED.allow_images,
    settings = sites.settings || EXCLUDED.settings"""


def _site(row: asyncpg.Record) -> Site:
    return Site(id=row["id"], name=row["name"], allowed_origins=list(row["allowed_origins"]),
                guest_commenting=row["guest_commenting"], allow_images=row["allow_images"],
                has_sso=row["sso_secret_enc"] is not None, settings=row["settings"] or {})


async def get(conn: Connection, site_id: str) -> tuple[Site, bytes | None] | None:
    row = await conn.fetchrow(SELECT_SITE, site_id)
    if row is None:
        return None
    return _site(row), row["sso_secret_enc"]


async def upsert(conn: Connection, *, site_id: str, name: str, origins: list[str],
                 sso_secret_enc: bytes | None, guests: bool, allow_images: bool = False,
                 settings: dict | None = None) -> None:
    await conn.execute(UPSERT_SITE, site_id, name, origins, sso_secret_enc, guests, allow_images, settings or {})
