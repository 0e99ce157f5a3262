"""Moderator console sessions: a moderator or admin signs in once, with an API token or (where the
site lets SSO tokens carry staff roles) the host site's SSO token, and the browser then holds only
the session's id, in an HttpOnly cookie the API layer sets. No token stays in the page.

- Only the SHA-256 of a session id is stored (migrations/0006_staff_sessions.sql).
- A session ends when unused for ``idle_minutes``, ``session_hours`` after sign-in, when its API
  token is revoked (the lookup joins the token), at the SSO token's own ``exp``, when its site stops
  letting SSO tokens carry staff roles, or at sign-out.
- Its CSRF token is an HMAC of the session id under the service's key (identity.Keyring.mac): the
  page can read it back after a reload, and nothing about it is stored.
- Sign-in attempts are rate-limited per client address; a refused attempt writes nothing. Each
  staff member keeps at most ``MAX_SESSIONS_PER_MEMBER`` sessions (the oldest go), and every
  sign-in purges a batch of ended ones, so sign-ins cannot grow the table without bound.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Literal, cast

import asyncpg

from .. import hs256
from ..db import staff_sessions as session_repo
from ..domain.structs import Struct
from ..errors import DomainError
from ..identity import API_TOKEN_PREFIX, Keyring, verify_bearer_token
from ..ratelimit import RateLimiter
from ..settings import ConsoleSettings
from .api_tokens import ApiTokens
from .sites import SiteDirectory

MAX_SESSIONS_PER_MEMBER = 10
PURGE_BATCH = 200
_CSRF_PURPOSE = "console-csrf"
# what secrets.token_urlsafe(32) makes; anything else is no session of ours and is not looked up
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{43}")
StaffRole = Literal["moderator", "admin"]
StaffKind = Literal["api_token", "sso"]


class StaffSession(Struct, frozen=True):
    """A live console session: who it signs in (as the staff guard names them) and until when."""

    kind: StaffKind
    staff_id: str  # "token:<id>" or "sso:<site>:<sub>", as written to the audit log
    name: str
    role: StaffRole
    site_id: str | None  # None: every site (an unscoped API token)
    expires_at: datetime


class SessionStaff(Struct, frozen=True):
    name: str
    role: StaffRole
    site_id: str | None
    kind: StaffKind
    id: str


class ConsoleSession(Struct, frozen=True):
    """What the console is told of its session: who is signed in, the CSRF token every state-changing
    request must carry (header X-CSRF-Token), and when the session ends."""

    staff: SessionStaff
    csrf: str
    expires_at: datetime
    idle_timeout_s: int


def _digest(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()


class StaffSessions:
    def __init__(self, pool: asyncpg.Pool, limiter: RateLimiter, keyring: Keyring, sites: SiteDirectory,
                 api_tokens: ApiTokens, settings: ConsoleSettings) -> None:
        self.pool = pool
        self.limiter = limiter
        self.keyring = keyring
        self.sites = sites
        self.api_tokens = api_tokens
        self.idle = timedelta(minutes=settings.idle_minutes)
        self.lifetime = timedelta(hours=settings.session_hours)

    async def sign_in(self, token: str, site_id: str | None, ip: str | None) -> tuple[str, StaffSession]:
        """A new session for the holder of ``token`` and its id (the cookie's value, never stored)."""
        await self.limiter.check("signin", user=None, ip=ip)
        now = datetime.now(UTC)
        expires_at = now + self.lifetime
        api_token_id: int | None = None
        if token.startswith(API_TOKEN_PREFIX):
            api_token = await self.api_tokens.lookup(token)
            if api_token is None:
                raise DomainError("token_invalid", "The API token is unknown or revoked.")
            if site_id is not None and api_token.site_id not in (None, site_id):
                raise DomainError("forbidden", "This token is for another site.")
            api_token_id = api_token.id
            kind: StaffKind = "api_token"
            staff_id, name, site = f"token:{api_token.id}", api_token.name, api_token.site_id
            # the table admits no other role (migrations/0001_foundation.sql)
            role = cast(StaffRole, api_token.role)
        else:
            if not site_id:
                raise DomainError("site_required", "Signing in with an SSO token needs the site.")
            entry = await self.sites.get(site_id)
            identity = verify_bearer_token(self.keyring, token, entry.site.id, entry.sso_secret, entry.sso)
            if identity.kind != "sso" or identity.role not in ("moderator", "admin"):
                raise DomainError("forbidden", "This needs a moderator or admin role, from a site that lets its "
                                               "sign-in tokens carry one.")
            kind, role = "sso", identity.role
            site = entry.site.id
            staff_id, name = f"sso:{site}:{identity.external_id}", identity.name
            # verified above, so its exp (a required claim) is the token's own: the session ends with it.
            # Compared as a number first: an exp past the year 9999 (or NaN) is valid to the verifier
            # but no datetime, and the session's own lifetime bounds it anyway.
            exp = hs256.unverified_claims(token)["exp"]
            if exp < expires_at.timestamp():
                expires_at = datetime.fromtimestamp(exp, UTC)
        session_id = secrets.token_urlsafe(32)
        async with self.pool.acquire() as conn, conn.transaction():
            await session_repo.purge(conn, self.idle, PURGE_BATCH)
            await session_repo.create(conn, id_hash=_digest(session_id), kind=kind, api_token_id=api_token_id,
                                      staff_id=staff_id, name=name, role=role, site_id=site, expires_at=expires_at)
            await session_repo.trim(conn, staff_id, MAX_SESSIONS_PER_MEMBER)
        return session_id, StaffSession(kind=kind, staff_id=staff_id, name=name, role=role, site_id=site,
                                        expires_at=expires_at)

    async def lookup(self, session_id: str, *, touch: bool = True) -> StaffSession | None:
        """The live session with this id, or None (unknown, ended, or its token revoked). ``touch``
        False: a check that is no use of the session (it does not put off the idle end)."""
        if not _SESSION_ID.fullmatch(session_id):
            return None
        id_hash = _digest(session_id)
        async with self.pool.acquire() as conn:
            row = await session_repo.lookup(conn, id_hash, self.idle)
            if row is None:
                return None
            if touch and datetime.now(UTC) - row["last_seen_at"] > timedelta(minutes=1):
                await session_repo.touch(conn, id_hash)
        if row["kind"] == "sso":
            # the site's word on SSO staff roles is read again: a site that withdraws them ends its sessions
            try:
                entry = await self.sites.get(row["site_id"])
            except DomainError:
                return None
            if not entry.sso.staff_roles:
                return None
        return StaffSession(kind=row["kind"], staff_id=row["staff_id"], name=row["name"], role=row["role"],
                            site_id=row["site_id"], expires_at=row["expires_at"])

    async def sign_out(self, session_id: str) -> bool:
        if not _SESSION_ID.fullmatch(session_id):
            return False
        async with self.pool.acquire() as conn:
            return await session_repo.delete(conn, _digest(session_id))

    def csrf(self, session_id: str) -> str:
        return base64.urlsafe_b64encode(self.keyring.mac(_CSRF_PURPOSE, session_id.encode())).rstrip(b"=").decode()

    def csrf_matches(self, session_id: str, given: str) -> bool:
        if len(given) != 43:
            return False
        try:
            tag = base64.urlsafe_b64decode(given + "=")
        except (binascii.Error, ValueError):
            return False
        # the last of 43 characters carries 2 bits of the tag and 4 the decoder ignores: only the
        # one spelling the console was given counts
        if base64.urlsafe_b64encode(tag).rstrip(b"=").decode() != given:
            return False
        return self.keyring.mac_matches(_CSRF_PURPOSE, session_id.encode(), tag)

    def describe(self, session_id: str, session: StaffSession) -> ConsoleSession:
        staff = SessionStaff(name=session.name, role=session.role, site_id=session.site_id, kind=session.kind,
                             id=session.staff_id)
        return ConsoleSession(staff=staff, csrf=self.csrf(session_id), expires_at=session.expires_at,
                              idle_timeout_s=int(self.idle.total_seconds()))
