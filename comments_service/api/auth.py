"""Moderator and admin access: an API token (CLI-created, stored hashed) or an SSO token whose
role claim says moderator/admin for the site named in the request, sent as a bearer token; or the
moderator console's session cookie (``cs_staff``, made by signing in once with either:
api/staff_session.py, services/staff_sessions.py). The guards check it before the handler's
parameters are read; a reader's token gets 403. The verified Staff is kept in the request's state,
where handlers take it (staff_of).

A browser sends the cookie by itself, so a request that rides on it must show it came from the
console: every state-changing one carries the session's CSRF token (X-CSRF-Token), and none may
name another Origin. A bearer token is never sent by a browser on its own and needs neither."""

from __future__ import annotations

from typing import Any, Literal, cast

from litestar import Controller, Request
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.handlers import BaseRouteHandler

from ..domain.structs import Struct
from ..errors import DomainError
from ..identity import API_TOKEN_PREFIX
from ..services.sites import normalise_origin
from ..services.staff_sessions import StaffSession
from .deps import bearer_token, identify, raw_header, services_of, site_entry_of
from .middleware import PRIVATE, SITE_ID

STAFF = "staff"  # request state: the verified Staff, once a guard has checked it
# request state: (session id, StaffSession) when the Staff came from the console's cookie
CONSOLE_SESSION = "console_session"
SESSION_COOKIE = "cs_staff"
CSRF_HEADER = b"x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
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
        session_id = request.cookies.get(SESSION_COOKIE)
        if session_id:
            return await _verify_session(request, session_id)
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


def refuse_foreign_origin(request: Request[Any, Any, Any]) -> None:
    """csrf_failed when the request names an Origin other than this service's own (its public URL's,
    or the one the browser reached it at), or a browser says it comes from another site."""
    if raw_header(request, b"sec-fetch-site") in ("cross-site", "same-site"):
        raise DomainError("csrf_failed", "The request came from another site.")
    origin = raw_header(request, b"origin")
    if origin is None:
        return
    own = {_origin(services_of(request).settings.server.public_url)}
    host = raw_header(request, b"host")
    if host:
        own.add(_origin(f"{request.scope['scheme']}://{host}"))
    given = _origin(origin)
    if given is None or given not in own:
        raise DomainError("csrf_failed", f"The request came from {origin[:100]}, not from the moderator console.")


def _origin(url: str) -> str | None:
    try:
        return normalise_origin(url)
    except ValueError:
        return None


def session_is_secure(request: Request[Any, Any, Any]) -> bool:
    """The cookie is Secure when the request came over HTTPS (uvicorn reads that from a trusted
    proxy's X-Forwarded-Proto) or the service's public URL is HTTPS."""
    return request.scope["scheme"] == "https" or services_of(request).settings.server.public_url.startswith("https:")


def session_cookie(request: Request[Any, Any, Any], session_id: str | None, max_age: int = 0) -> Cookie:
    """The console's cookie: HttpOnly (no script reads it), SameSite=Strict (no other site's page
    sends it); ``session_id`` None clears it."""
    return Cookie(key=SESSION_COOKIE, value=session_id or "", path="/", max_age=max_age if session_id else 0,
                  httponly=True, samesite="strict", secure=session_is_secure(request))


def _cleared_cookie(request: Request[Any, Any, Any]) -> dict[str, str]:
    return {"Set-Cookie": session_cookie(request, None).to_header(header="")}


async def _verify_session(request: Request[Any, Any, Any], session_id: str) -> Staff:
    refuse_foreign_origin(request)
    services = services_of(request)
    session = await services.staff_sessions.lookup(session_id)
    if session is None:
        raise DomainError("auth_required", "The console session has ended; sign in again.",
                          headers=_cleared_cookie(request))
    if request.method not in _SAFE_METHODS:
        given = raw_header(request, CSRF_HEADER)
        if not given or not services.staff_sessions.csrf_matches(session_id, given):
            raise DomainError("csrf_failed", "The X-CSRF-Token header is missing or wrong.")
    request.scope["state"][CONSOLE_SESSION] = (session_id, session)
    return Staff(kind=session.kind, id=session.staff_id, name=session.name, role=session.role,
                 site_id=session.site_id)


def console_session_of(request: Request[Any, Any, Any]) -> tuple[str, StaffSession] | None:
    """The console session a guard verified this request by, or None (a bearer token's request)."""
    found: tuple[str, StaffSession] | None = request.scope["state"].get(CONSOLE_SESSION)
    return found


async def still_admitted(request: Request[Any, Any, Any]) -> bool:
    """Whether what admitted a long request (a stream) still holds: its console session not signed
    out, expired or of a revoked token; its bearer token not revoked or expired. A stream outlives
    the check at its start otherwise. The session is read without counting as its use, so that an
    open stream alone does not keep an idle console signed in."""
    found = console_session_of(request)
    if found is not None:
        return await services_of(request).staff_sessions.lookup(found[0], touch=False) is not None
    try:
        await _verify(request)
    except DomainError:
        return False
    return True


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
