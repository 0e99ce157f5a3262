"""Site lookup with a short in-process cache: every public request names its site."""

from __future__ import annotations

import logging
import re
import time
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from ..db import sites as site_repo
from ..db.connection import Connection
from ..domain.models import Site
from ..domain.structs import Struct
from ..errors import DomainError
from ..identity import Keyring, SsoRules

log = logging.getLogger("comments_service.sites")
IMAGES_WARNING = ("images in comments load from their authors' hosts (there is no image proxy): each reader's "
                  "IP address and browser reach those third parties")


class SiteEntry(Struct, frozen=True):
    site: Site
    sso_secret: str | None
    loaded_at: float
    sso: SsoRules = SsoRules()


def normalise_origin(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) origin")
    default_port = {"http": 80, "https": 443}[parts.scheme]
    port = f":{parts.port}" if parts.port and parts.port != default_port else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{port}"


class OffSite(ValueError):
    """A well-formed URL on another origin than the site's."""


# Browsers and Python's parser disagree about where such a URL goes ("https://evil.example\@site/"
# is the site's to urlsplit and evil.example's to a browser), so none of it is accepted
_URL_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")


def page_url(url: str, origins: list[str]) -> str:
    """``url`` rebuilt from its parts when it is an http(s) page on one of ``origins`` (normalised);
    ValueError saying why not (OffSite when only the origin is wrong). No user info, whitespace,
    control characters or backslashes."""
    if _URL_UNSAFE.search(url):
        raise ValueError("holds whitespace, control characters or backslashes")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("is not an http(s) URL")
    if "@" in parts.netloc:
        raise ValueError("holds user info")
    origin = normalise_origin(url)  # ValueError for a bad port too
    if origin not in origins:
        raise OffSite(f"is not on one of the site's origins ({origin})")
    return origin + (parts.path or "/") + (f"?{parts.query}" if parts.query else "") + (
        f"#{parts.fragment}" if parts.fragment else "")


def article_url(site: Site, url: str) -> str:
    """The article's url as stored: the article a thread belongs to is the site's own page, never
    one a commenter names elsewhere (page_url)."""
    try:
        return page_url(url, site.allowed_origins)
    except OffSite as exc:
        raise DomainError("article_url_not_allowed", f"The article url {exc}.") from None
    except ValueError as exc:
        raise DomainError("article_details_required", f"The article url {exc}.") from None


class SiteDirectory:
    def __init__(self, pool: asyncpg.Pool, keyring: Keyring, ttl_seconds: float = 10.0) -> None:
        self.pool = pool
        self.keyring = keyring
        self.ttl = ttl_seconds
        self._entries: dict[str, SiteEntry] = {}

    async def get(self, site_id: str | None) -> SiteEntry:
        if not site_id:
            raise DomainError("site_required")
        entry = self._entries.get(site_id)
        if entry is not None and time.monotonic() - entry.loaded_at < self.ttl:
            return entry
        if len(site_id) > 64:
            raise DomainError("unknown_site")
        async with self.pool.acquire() as conn:
            found = await site_repo.get(conn, site_id)
        if found is None:
            raise DomainError("unknown_site")
        site, secret_enc = found
        secret = self.keyring.decrypt(secret_enc) if secret_enc is not None else None
        entry = SiteEntry(site=site, sso_secret=secret, loaded_at=time.monotonic(),
                          sso=SsoRules.from_site_settings(site.settings))
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[site_id] = entry
        return entry

    def forget(self, site_id: str) -> None:
        self._entries.pop(site_id, None)

    @staticmethod
    def origin_allowed(site: Site, origin: str | None) -> bool:
        """Requests without an Origin (same-origin GETs, servers, curl) are allowed; browsers send one."""
        if origin is None:
            return True
        try:
            return normalise_origin(origin) in site.allowed_origins
        except ValueError:
            return False

    async def save(self, conn: Connection, *, site_id: str, name: str, origins: list[str],
                   sso_secret: str | None, guests: bool, allow_images: bool = False,
                   settings: dict[str, Any] | None = None) -> None:
        await site_repo.upsert(
            conn, site_id=site_id, name=name, origins=[normalise_origin(o) for o in origins],
            sso_secret_enc=self.keyring.encrypt(sso_secret) if sso_secret else None, guests=guests,
            allow_images=allow_images, settings=settings,
        )
        self.forget(site_id)
        if allow_images:
            log.warning("site %s allows images: %s", site_id, IMAGES_WARNING, extra={"site_id": site_id})
