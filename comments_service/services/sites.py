"""Site lookup with a short in-process cache: every public request names its site."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import msgspec

from ..db import sites as site_repo
from ..db.connection import Connection
from ..domain.models import Site
from ..domain.moderation_models import SiteModerationSettings
from ..domain.policy import POLICY_KEYS, PolicyConfig
from ..domain.structs import Struct
from ..errors import DomainError
from ..identity import Keyring, SecretSealedElsewhere, SsoRules

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


# ------------------------------------------------------------------ site settings
SETTING_KEYS = frozenset(SiteModerationSettings.__struct_fields__) | {"moderation"}


def merged_settings(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``changes`` over ``current``: a key given replaces that key (the ``moderation`` object's keys
    one by one), a key given as None goes back to its default, a key not given stays as it is."""
    merged = dict(current)
    for key, value in changes.items():
        if key == "moderation" and isinstance(value, Mapping):
            inner = dict(merged[key]) if isinstance(merged.get(key), Mapping) else {}
            for name, setting in value.items():
                if setting is None:
                    inner.pop(name, None)
                else:
                    inner[name] = setting
            value = inner
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def settings_problem(settings: Any) -> str | None:
    """Why a site's settings are not valid, naming the key, or None. One set of rules wherever
    settings come from (the API, the CLI, rows stored before these rules): the moderation settings
    route's schema for its keys, the moderation policy for the ``moderation`` object, and no key
    that nothing reads (a typo would otherwise be ignored without a word)."""
    if not isinstance(settings, Mapping):
        return "settings: expected an object"
    unknown = sorted(k for k in settings if k not in SETTING_KEYS)
    if unknown:
        return f"{unknown[0]}: not a site setting (known: {', '.join(sorted(SETTING_KEYS))})"
    known = {k: v for k, v in settings.items() if k != "moderation"}
    try:
        msgspec.convert(known, SiteModerationSettings)
    except msgspec.ValidationError as exc:
        return str(exc).replace("$.", "")
    if "moderation" in settings:
        policy = settings["moderation"]
        if not isinstance(policy, Mapping):
            return "moderation: expected an object"
        unknown = sorted(k for k in policy if k not in POLICY_KEYS)
        if unknown:
            return f"moderation.{unknown[0]}: not a moderation setting (known: {', '.join(sorted(POLICY_KEYS))})"
        try:
            PolicyConfig.from_site_settings(settings)
        except ValueError as exc:
            return str(exc)
    return None


def check_settings(settings: Mapping[str, Any]) -> None:
    """DomainError ``invalid_site_settings`` naming what is wrong, unless ``settings`` are valid."""
    problem = settings_problem(settings)
    if problem is not None:
        raise DomainError("invalid_site_settings", f"Invalid site setting {problem}.")


class SiteDirectory:
    def __init__(self, pool: asyncpg.Pool, keyring: Keyring, ttl_seconds: float = 10.0) -> None:
        self.pool = pool
        self.keyring = keyring
        self.ttl = ttl_seconds
        self._entries: dict[str, SiteEntry] = {}

    def cached(self, site_id: str) -> SiteEntry | None:
        """The site's entry when this process holds a fresh one, without waiting (api/fast_reads.py)."""
        entry = self._entries.get(site_id)
        if entry is not None and time.monotonic() - entry.loaded_at < self.ttl:
            return entry
        return None

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
        secret, sealed_elsewhere = self._open_secret(site.id, secret_enc)
        entry = SiteEntry(site=site, sso_secret=secret, loaded_at=time.monotonic(),
                          sso=SsoRules.from_site_settings(site.settings, secret_sealed_elsewhere=sealed_elsewhere))
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[site_id] = entry
        return entry

    def _open_secret(self, site_id: str, secret_enc: bytes | None) -> tuple[str | None, bool]:
        """The site's SSO secret, and whether it is sealed under a key this service lacks. Such a
        site still serves readers and guests; its sign-in tokens are refused with sso_unavailable,
        and this log line (once per load, at most every ``ttl`` seconds) tells the operator why."""
        if secret_enc is None:
            return None, False
        try:
            return self.keyring.decrypt(secret_enc), False
        except SecretSealedElsewhere:
            log.error("site %s: its SSO secret does not open with COMMENTS_SECRET_KEY (nor "
                      "COMMENTS_SECRET_KEY_PREVIOUS); its sign-in tokens are refused (sso_unavailable) until the "
                      "key that sealed it is configured or the secret is set again", site_id,
                      extra={"site_id": site_id, "code": "sso_unavailable"})
            return None, True

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
