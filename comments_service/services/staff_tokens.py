"""Moderator and admin API tokens, managed by admins in the console: list (with last use), create
(the secret shown once, only its hash stored), revoke. The CLI's `token` commands are the
operator's door to the same table (services/api_tokens.py).

A site's own admin (a site-scoped admin token, or an SSO admin of the site) manages that site's
tokens only, and never makes a token for every site: a token may not grant more than its maker
holds. Each change is audited in its transaction; a token for every site is audited under the site
id ``*`` (the audit log's site column names no site for it), which only admins of every site see.
Revoking a token ends the console sessions made from it: the session lookup refuses a revoked
token (db/staff_sessions.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import asyncpg

from ..db import audit as audit_repo
from ..db import tokens as token_repo
from ..domain.labels import label_is_clean
from ..domain.structs import Struct
from ..errors import DomainError
from ..identity import new_api_token
from .sites import SiteDirectory
from .staff_scope import StaffLike, require_site, scope_of

# the audit log's site for a token that serves every site
EVERY_SITE = "*"


class StaffToken(Struct, frozen=True):
    id: int
    name: str
    role: str
    site_id: str | None
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class NewStaffToken(Struct, frozen=True):
    """A token just made: ``token`` is its secret, shown this once and never again."""

    token: str
    info: StaffToken


def _token(row: asyncpg.Record) -> StaffToken:
    return StaffToken(id=row["id"], name=row["name"], role=row["role"], site_id=row["site_id"],
                      created_at=row["created_at"], last_used_at=row["last_used_at"], revoked_at=row["revoked_at"])


def _require_admin(staff: StaffLike) -> None:
    if staff.role != "admin":
        raise DomainError("forbidden", "Managing tokens needs an admin role.")


def _may_manage(staff: StaffLike, site_id: str | None) -> None:
    if site_id is None:
        if staff.site_id is not None:
            raise DomainError("forbidden", "A site's admin manages that site's tokens only; a token for every "
                                           "site needs an admin of every site.")
        return
    require_site(staff, site_id)


class StaffTokens:
    def __init__(self, pool: asyncpg.Pool, sites: SiteDirectory) -> None:
        self.pool = pool
        self.sites = sites

    async def list(self, staff: StaffLike, site_id: str | None = None) -> list[StaffToken]:
        """Newest first: every token for an admin of every site (or one site's, when asked), else
        the admin's own site's."""
        _require_admin(staff)
        scope = scope_of(staff, site_id)
        async with self.pool.acquire() as conn:
            return [_token(row) for row in await token_repo.list_for(conn, scope)]

    async def create(self, staff: StaffLike, *, name: str, role: Literal["moderator", "admin"],
                     site_id: str | None) -> NewStaffToken:
        _require_admin(staff)
        _may_manage(staff, site_id)
        clean = name.strip()
        # the name is who a token's actions are by, in the audit log and the console: a label like
        # readers' names, with their rule
        if not clean or len(clean) > 100 or not label_is_clean(clean):
            raise DomainError("invalid_request", "A token's name is 1 to 100 characters without control or "
                                                 "text-direction characters.")
        if site_id is not None:
            await self.sites.get(site_id)  # unknown_site
        token, digest = new_api_token()
        async with self.pool.acquire() as conn, conn.transaction():
            token_id = await token_repo.create(conn, clean, role, site_id, digest)
            row = await token_repo.get_for_update(conn, token_id)
            assert row is not None  # inserted in this transaction
            await audit_repo.record(conn, site_id=site_id or EVERY_SITE, actor_id=staff.id, actor_name=staff.name,
                                    action="token_created", details={
                                        "token_id": token_id, "name": clean, "role": role,
                                        "site_id": site_id})
        return NewStaffToken(token=token, info=_token(row))

    async def revoke(self, staff: StaffLike, token_id: int) -> StaffToken:
        """The token, revoked (its console sessions end with it). Revoking a revoked token changes
        nothing and logs nothing."""
        _require_admin(staff)
        async with self.pool.acquire() as conn, conn.transaction():
            row = await token_repo.get_for_update(conn, token_id)
            if row is None:
                raise DomainError("token_not_found")
            _may_manage(staff, row["site_id"])
            if row["revoked_at"] is not None:
                return _token(row)
            after = await token_repo.revoke_returning(conn, token_id)
            assert after is not None  # the row is locked and was not revoked
            await audit_repo.record(conn, site_id=row["site_id"] or EVERY_SITE, actor_id=staff.id,
                                    actor_name=staff.name, action="token_revoked", details={
                                        "token_id": token_id, "name": row["name"], "role": row["role"],
                                        "site_id": row["site_id"],
                                        "revoked_at": [None, after["revoked_at"].isoformat()]})
        return _token(after)
