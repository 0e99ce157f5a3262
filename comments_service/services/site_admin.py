"""Managing sites: list, show, create, update, delete. One set of rules for the operator's CLI
(``comments-service site …``) and the admin API: an id is created once (creating it again is
refused, never an update); an update changes only what it is given; settings are checked whole
before anything is written; a site that still has comments is deleted only when forced, and then
with everything it holds, in one transaction. The API reads sites through ``SiteDirectory``,
which also encrypts the SSO secret and normalises the origins on the way in."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from ..cache import Cache
from ..db import audit as audit_repo
from ..db import sites as site_repo
from ..db import staff_sessions as session_repo
from ..domain.structs import Struct
from ..errors import DomainError
from .cdn_purge import Cdn
from .sites import IMAGES_WARNING, SiteDirectory, check_settings, merged_settings, normalise_origin, settings_problem
from .staff_scope import StaffLike, require_site, scope_of

log = logging.getLogger("comments_service.sites")
# the sites table's own check: what may appear in ?site= and in a token's aud
SITE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class Operator(Struct, frozen=True):
    """Whoever runs the `comments-service` command on a machine holding the database credentials:
    every site is theirs."""

    id: str = "cli"
    name: str = "operator (comments-service CLI)"
    role: str = "admin"
    site_id: str | None = None

    def can_act_on(self, site_id: str) -> bool:
        return True


OPERATOR = Operator()


class SiteInfo(Struct):
    """A site as its administrators see it (never its SSO secret: only whether it has one)."""

    id: str
    name: str
    origins: list[str]
    guests: bool
    images: bool
    sso: bool
    settings: dict[str, Any]
    # why the stored settings are not valid (rows stored before settings were checked), or None
    settings_problem: str | None
    created_at: datetime
    articles: int
    comments: int
    users: int


class SiteDeleted(Struct):
    id: str
    articles: int
    comments: int
    users: int
    # whether the pages and counts cached of its articles were retired
    cache_retired: bool = False
    # where they were not (Redis not reached): the seconds within which they expire on their own
    # (None where they were, and where this process was given no Redis)
    cache_expires_within_s: int | None = None


def _info(row: asyncpg.Record) -> SiteInfo:
    site = site_repo.site_of(row)
    return SiteInfo(id=site.id, name=site.name, origins=site.allowed_origins, guests=site.guest_commenting,
                    images=site.allow_images, sso=site.has_sso, settings=site.settings,
                    settings_problem=settings_problem(site.settings), created_at=row["created_at"],
                    articles=row["articles"], comments=row["comments"], users=row["users"])


def _origins(origins: list[str]) -> list[str]:
    # a bad origin is a bad site setting like any other: 422, naming it (the console shows it by the field)
    try:
        return list(dict.fromkeys(normalise_origin(o) for o in origins))
    except ValueError as exc:
        raise DomainError("invalid_site_settings", f"Invalid site setting origins: {exc}.") from None


def _name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 200 or any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise DomainError("invalid_request", "The site name must be 1 to 200 characters without control characters.")
    return name


def _require_operator(staff: StaffLike) -> None:
    # creating or deleting a site is the operator's: a site's own admin (a site-scoped token, or an
    # SSO admin the host site vouches for) may not make sites or remove a whole site's comments
    if staff.site_id is not None or staff.role != "admin":
        raise DomainError("forbidden", "Creating and deleting sites needs an admin token for every site.")


# HS256 with a key shorter than its 256-bit hash: whoever holds one reader token can guess the key
# offline and then sign any reader, moderator or admin of the site
MIN_SSO_SECRET_CHARS = 32


def _check_sso_secret(secret: str | None) -> None:
    if secret is not None and len(secret) < MIN_SSO_SECRET_CHARS:
        raise DomainError("invalid_request", f"An SSO secret needs at least {MIN_SSO_SECRET_CHARS} characters "
                                             "(e.g. python -c \"import secrets; print(secrets.token_urlsafe(32))\").")


class RotatedSecret(Struct):
    """A site's new SSO secret: ``sso_secret`` is shown this once (only its sealed form is stored)."""

    site_id: str
    sso_secret: str


class SiteAdmin:
    """Every method takes who acts (``staff``): the CLI passes ``OPERATOR``, the API the verified
    staff member, whose sites bound what they see and change."""

    def __init__(self, pool: asyncpg.Pool, sites: SiteDirectory, cache: Cache | None = None,
                 cdn: Cdn | None = None) -> None:
        self.pool = pool
        self.sites = sites
        # the cached pages of a deleted site's articles are retired through it: a site made again
        # under the same id must not be shown the old one's comments
        self.cache = cache
        self.cdn = cdn  # and a CDN's copies of them

    async def list_sites(self, staff: StaffLike) -> list[SiteInfo]:
        """Every site the staff member may manage (one, for a site's own admin)."""
        scope = scope_of(staff, None)
        async with self.pool.acquire() as conn:
            return [_info(row) for row in await site_repo.summaries(conn, scope)]

    async def show(self, site_id: str, staff: StaffLike) -> SiteInfo:
        require_site(staff, site_id)
        async with self.pool.acquire() as conn:
            rows = await site_repo.summaries(conn, site_id)
        if not rows:
            raise DomainError("unknown_site")
        return _info(rows[0])

    async def create(self, *, site_id: str, name: str | None, origins: list[str], sso_secret: str | None,
                     guests: bool = False, images: bool = False, settings: Mapping[str, Any] | None = None,
                     staff: StaffLike) -> SiteInfo:
        """A new site; ``site_exists`` when the id is taken (the existing site is left as it is)."""
        _require_operator(staff)
        if not SITE_ID.fullmatch(site_id):  # fullmatch: "$" would let a final newline through
            raise DomainError("invalid_request", "A site id is 1 to 63 lowercase letters, digits, '-' or '_', "
                                                 "starting with a letter or digit.")
        _check_sso_secret(sso_secret)
        stored = merged_settings({}, settings or {})
        check_settings(stored)
        clean_name, clean_origins = _name(name or site_id), _origins(origins)
        async with self.pool.acquire() as conn, conn.transaction():
            if not await site_repo.insert(
                    conn, site_id=site_id, name=clean_name, origins=clean_origins, guests=guests, allow_images=images,
                    sso_secret_enc=self.sites.keyring.encrypt(sso_secret) if sso_secret else None, settings=stored):
                raise DomainError("site_exists", f"A site with the id {site_id!r} already exists; "
                                                 "change it with `site update` (PATCH in the API).")
            await audit_repo.record(conn, site_id=site_id, actor_id=staff.id, actor_name=staff.name,
                                    action="site_created", details={
                                        "name": clean_name, "origins": clean_origins, "guests": guests,
                                        "images": images, "sso": sso_secret is not None, "settings": stored})
        self.sites.forget(site_id)
        if images:
            log.warning("site %s allows images: %s", site_id, IMAGES_WARNING, extra={"site_id": site_id})
        return await self.show(site_id, staff)

    async def update(self, site_id: str, *, name: str | None = None, origins: list[str] | None = None,
                     sso_secret: str | None = None, remove_sso: bool = False, guests: bool | None = None,
                     images: bool | None = None, settings: Mapping[str, Any] | None = None,
                     staff: StaffLike) -> SiteInfo:
        """Change only what is given (None: unchanged). ``settings`` merge over the stored ones
        (``sites.merged_settings``) and the result is checked whole before anything is written."""
        require_site(staff, site_id)
        if sso_secret is not None and remove_sso:
            raise DomainError("invalid_request", "Give a new SSO secret or remove it, not both.")
        _check_sso_secret(sso_secret)
        new_name = _name(name) if name is not None else None
        new_origins = _origins(origins) if origins is not None else None
        async with self.pool.acquire() as conn, conn.transaction():
            found = await site_repo.get_for_update(conn, site_id)
            if found is None:
                raise DomainError("unknown_site")
            before, secret_enc = found
            after = msgspec.structs.replace(
                before,
                name=before.name if new_name is None else new_name,
                allowed_origins=before.allowed_origins if new_origins is None else new_origins,
                guest_commenting=before.guest_commenting if guests is None else guests,
                allow_images=before.allow_images if images is None else images,
                settings=before.settings if settings is None else merged_settings(before.settings, settings))
            if settings is not None:
                check_settings(after.settings)
            if remove_sso:
                secret_enc = None
            elif sso_secret is not None:
                secret_enc = self.sites.keyring.encrypt(sso_secret)
            changes: dict[str, Any] = {
                field: [getattr(before, field), getattr(after, field)]
                for field in ("name", "allowed_origins", "guest_commenting", "allow_images", "settings")
                if getattr(before, field) != getattr(after, field)}
            if remove_sso or sso_secret is not None:
                changes["sso"] = "removed" if remove_sso else "replaced"
            if changes:
                await site_repo.update(conn, after, secret_enc)
                if "sso" in changes:
                    # console sessions signed in with the old secret's tokens end with it
                    await session_repo.end_sso_of_site(conn, site_id)
                await audit_repo.record(conn, site_id=site_id, actor_id=staff.id, actor_name=staff.name,
                                        action="site_updated", details=changes)
        self.sites.forget(site_id)
        if changes and self.cdn is not None:
            # what a CDN holds of the site (its widget settings, its threads' guest rule) goes with it
            self.cdn.purge_site(site_id)
        if images and not before.allow_images:
            log.warning("site %s allows images: %s", site_id, IMAGES_WARNING, extra={"site_id": site_id})
        return await self.show(site_id, staff)

    async def rotate_sso_secret(self, site_id: str, *, staff: StaffLike) -> RotatedSecret:
        """A new strong SSO secret for the site, replacing the old one at once (tokens signed with the
        old one are refused from then on, and console sessions made with them end). Audited without
        the secret."""
        require_site(staff, site_id)
        secret = secrets.token_urlsafe(MIN_SSO_SECRET_CHARS)  # 256 bits
        async with self.pool.acquire() as conn, conn.transaction():
            found = await site_repo.get_for_update(conn, site_id)
            if found is None:
                raise DomainError("unknown_site")
            site, old_secret = found
            await site_repo.update(conn, site, self.sites.keyring.encrypt(secret))
            # console sessions signed in with the old secret's tokens end with it (the caller's own too)
            await session_repo.end_sso_of_site(conn, site_id)
            await audit_repo.record(conn, site_id=site_id, actor_id=staff.id, actor_name=staff.name,
                                    action="sso_secret_rotated",
                                    details={"sso": ["set" if old_secret is not None else "none", "replaced"]})
        self.sites.forget(site_id)
        return RotatedSecret(site_id=site_id, sso_secret=secret)

    async def delete(self, site_id: str, *, force: bool = False, staff: StaffLike) -> SiteDeleted:
        """Delete the site and everything it holds (articles, comments, readers, votes, reports,
        bans, problem reports, its API tokens) in one transaction; ``site_has_comments`` while it
        has comments, unless ``force``. The audit log is append-only and keeps the site's entries,
        the deletion among them."""
        _require_operator(staff)
        async with self.pool.acquire() as conn, conn.transaction():
            if await site_repo.get_for_update(conn, site_id) is None:
                raise DomainError("unknown_site")
            # no comment may arrive between the count and the delete: a new comment needs its
            # article row (FOR KEY SHARE), a new article the site row, both locked here
            article_ids = await site_repo.lock_articles(conn, site_id)
            [row] = await site_repo.summaries(conn, site_id)
            if row["comments"] and not force:
                raise DomainError("site_has_comments", f"The site {site_id!r} has {row['comments']} comment(s) on "
                                                       f"{row['articles']} article(s); nothing was deleted.")
            await audit_repo.record(conn, site_id=site_id, actor_id=staff.id, actor_name=staff.name,
                                    action="site_deleted", details={
                                        "articles": row["articles"], "comments": row["comments"],
                                        "users": row["users"], "forced": force})
            await site_repo.delete(conn, site_id)
        self.sites.forget(site_id)
        if self.cdn is not None:
            self.cdn.purge_site(site_id)
        retired = False
        expires_within = None
        if self.cache is not None and self.cache.gate.client is not None:
            for external_id in article_ids:
                await self.cache.bump(site_id, external_id)
            # a lost bump marks the cache dirty: the whole cache is retired once Redis is back
            retired = not self.cache.gate.dirty
            expires_within = None if retired else self.cache.kept_s
        return SiteDeleted(id=site_id, articles=row["articles"], comments=row["comments"], users=row["users"],
                           cache_retired=retired, cache_expires_within_s=expires_within)
