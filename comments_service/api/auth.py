"""Moderator and admin access: an API token (CLI-created, stored hashed) or an SSO token whose
role claim says moderator/admin for the site named in the request. Checked on every route that
uses these guards; a reader's token gets 403."""

from __future__ import annotations

from typing import Literal

import msgspec
from litestar import Request

from ..db import tokens as token_repo
from ..errors import DomainError
from ..identity import API_TOKEN_PREFIX, hash_api_token
from .deps import bearer_token, identify, services_of, site_entry_of
from .middleware import SITE_ID


class Staff(msgspec.Struct, frozen=True, kw_only=True):
    """A verified moderator or admin. ``site_id`` None means every site (an unscoped API token)."""

    kind: Literal["api_token", "sso"]
    id: str  # "token:<id>" or "sso:<site>:<sub>", as written to the audit log
    name: str
    role: Literal["moderator", "admin"]
    site_id: str | None

    def can_act_on(self, site_id: str) -> bool:
        return self.site_id is None or self.site_id == site_id

    def require_site(self, site_id: str) -> None:
        if not self.can_act_on(site_id):
            raise DomainError("forbidden", "This moderator token is for another site.")


async def _staff(request: Request) -> Staff:
    token = bearer_token(request)
    if token is None:
        raise DomainError("auth_required", "A moderator token is required.")
    services = services_of(request)
    if token.startswith(API_TOKEN_PREFIX):
        async with services.pool.acquire() as conn:
            row = await token_repo.lookup(conn, hash_api_token(token))
        if row is None:
            raise DomainError("token_invalid", "The API token is unknown or revoked.")
        return Staff(kind="api_token", id=f"token:{row['id']}", name=row["name"], role=row["role"],
                     site_id=row["site_id"])
    if not request.scope["state"].get(SITE_ID):
        raise DomainError("site_required", "An SSO moderator token needs the site query parameter.")
    entry = await site_entry_of(request)
    site_id = entry.site.id
    identity = identify(services, entry, token)
    if identity is None or identity.kind != "sso" or identity.role not in ("moderator", "admin"):
        raise DomainError("forbidden", "This needs a moderator or admin role.")
    return Staff(kind="sso", id=f"sso:{site_id}:{identity.external_id}", name=identity.name, role=identity.role,
                 site_id=site_id)


async def provide_moderator(request: Request) -> Staff:
    return await _staff(request)


async def provide_admin(request: Request) -> Staff:
    staff = await _staff(request)
    if staff.role != "admin":
        raise DomainError("forbidden", "This needs an admin role.")
    return staff
