"""Creating and updating a site from the operator's side (``comments-service site create``): the
API reads sites through ``SiteDirectory``, which also encrypts the SSO secret and normalises the
origins on the way in."""

from __future__ import annotations

import asyncpg

from .sites import SiteDirectory


class SiteAdmin:
    def __init__(self, pool: asyncpg.Pool, sites: SiteDirectory) -> None:
        self.pool = pool
        self.sites = sites

    async def save(self, *, site_id: str, name: str, origins: list[str], sso_secret: str | None, guests: bool,
                   allow_images: bool) -> None:
        """Create the site or update it; ValueError naming the origin that is not an http(s) one."""
        async with self.pool.acquire() as conn:
            await self.sites.save(conn, site_id=site_id, name=name, origins=origins, sso_secret=sso_secret,
                                  guests=guests, allow_images=allow_images)
