"""Moderator and admin access: an API token (CLI-created, stored hashed) or an SSO token whose
role claim says moderator/admin for the site named in the request. The guards check it before the
handler's parameters are read; a reader's token gets 403. The verified Staff is kept in the
request's state, where handlers take it (staff_of)."""

from __future__ import annotations

from typing import Any, Literal, cast

from litestar import Controller, Request
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from ..domain.structs import Struct
from ..errors import DomainError
from ..identity import API_TOKEN_PREFIX
from .deps import bearer_token, identify, services_of, site_entry_of
from .middleware import PRIVATE, SITE_ID

STAFF = "staff"  # request state: the verified Staff, once a guard has checked it
StaffRole = Literal["moderator", "admin"]


class Staff(Struct, frozen=True):
    """A verified moderator or admin. ``site_id`` None means every site (an unscoped API token)."""

    kind: Literal["api_token", "sso"]
    id: str  # "token:<id>" or "sso:<site>:<sub>", as written to the audit log
    name: str
    role: StaffRole
    site_id: str | None

    def can_act_on(self, site_id: str) -> bool:
        return self.site_id is None or self.site_id == site_id


async def _verify(request: Request[Any, Any, Any]) -> Staff:
    token = bearer_token(request)
    if token is None:
        raise DomainError("auth_required", "A moderator token is required.")
    services = services_of(request)
    if token.startswith(API_TOKEN_PREFIX):
        api_token = await services.api_tokens.lookup(token)
        if api_token is None:
            raise DomainError("token_invalid", "The API token is unknown or revoked.")
        # the table admits no other role (migrations/0001_foundation.sql)
        role = cast(StaffRole, api_token.role)
        return Staff(kind="api_token", id=f"token:{api_token.id}", name=api_token.name, role=role,
                     site_id=api_token.site_id)
    if not request.scope["state"].get(SITE_ID):
        raise DomainError("site_required", "An SSO moderator token needs the site query parameter.")
    entry = await site_entry_of(request)
    site_id = entry.site.id
    identity = identify(services, entry, token)
    if identity is None or identity.kind != "sso" or identity.role not in ("moderator", "admin"):
        raise DomainError("forbidden", "This needs a moderator or admin role.")
    return Staff(kind="sso", id=f"sso:{site_id}:{identity.external_id}", name=identity.name, role=identity.role,
                 site_id=site_id)


async def _staff(connection: ASGIConnection[Any, Any, Any, Any]) -> Staff:
    state = connection.scope["state"]
    staff: Staff | None = state.get(STAFF)
    if staff is None:
        # guards are given the connection as a Request on HTTP routes
        staff = state[STAFF] = await _verify(connection)  # type: ignore[arg-type]
    return staff


def _answers_any_caller(route_handler: BaseRouteHandler) -> bool:
    # the OPTIONS answer Litestar makes for a route (its Allow header) is one of the route's
    # handlers, so the route's guards reach it; it reveals nothing and needs no token
    return getattr(route_handler, "http_methods", None) == {"OPTIONS"}


async def requires_moderator(connection: ASGIConnection[Any, Any, Any, Any],
                             route_handler: BaseRouteHandler) -> None:
    """Guard: a moderator or an admin."""
    if not _answers_any_caller(route_handler):
        await _staff(connection)


async def requires_admin(connection: ASGIConnection[Any, Any, Any, Any], route_handler: BaseRouteHandler) -> None:
    """Guard: an admin."""
    if not _answers_any_caller(route_handler) and (await _staff(connection)).role != "admin":
        raise DomainError("forbidden", "This needs an admin role.")


def staff_of(request: Request[Any, Any, Any]) -> Staff:
    """The Staff a guard verified, for the routes those guards protect. Taken from the request
    rather than injected: see api/deps.reader_of for why."""
    staff: Staff = request.scope["state"][STAFF]
    return staff


class ModeratorRoutes(Controller):
    """The base of every moderators' controller: the guard checks the token before anything else is
    read, and the routes declare themselves private (api/middleware.py never answers them
    cross-origin)."""

    tags = ["moderation"]
    guards = [requires_moderator]
    opt = {PRIVATE: True}
