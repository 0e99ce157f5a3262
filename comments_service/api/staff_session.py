"""The moderator console's sign-in: a token (an API token, or a staff SSO token where the site
allows it) is exchanged once for a session held in an HttpOnly, SameSite=Strict cookie; the page
keeps only the session's CSRF token, which it can ask for again after a reload (GET). Signing in
needs no session, so it has no guard; it refuses another Origin like every cookie request does."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from msgspec import Meta

from ..domain.structs import Struct
from ..errors import DomainError
from ..services.staff_sessions import ConsoleSession, StaffSessions
from .auth import console_session_of, refuse_foreign_origin, requires_moderator, session_cookie
from .deps import client_ip
from .middleware import PRIVATE

# the session's CSRF token is in the body: no cache may keep it
_NO_STORE = {"Cache-Control": "no-store"}


class SignIn(Struct, forbid_unknown_fields=True):
    token: Annotated[str, Meta(min_length=1, max_length=4096,
                               description="An API token (csm_…) or the site's SSO token with a staff role.")]
    site: Annotated[str, Meta(min_length=1, max_length=64,
                              description="The site an SSO token is for; for an API token, optional.")] | None = None


class SignedOut(Struct):
    ended: bool  # a session was ended (false for a bearer token's caller, who has none)


class StaffSessionController(Controller):
    path = "/api/v1/moderation/session"
    tags = ["moderation"]
    opt = {PRIVATE: True}

    @post("/", summary="Sign in to the moderator console (sets the session cookie)", status_code=200)
    async def sign_in(self, staff_sessions: NamedDependency[StaffSessions], request: Request[Any, Any, Any],
                      data: JSONBody[SignIn]) -> Response[ConsoleSession]:
        refuse_foreign_origin(request)
        session_id, session = await staff_sessions.sign_in(data.token, data.site, client_ip(request))
        max_age = max(1, int((session.expires_at - datetime.now(UTC)).total_seconds()))
        return Response(staff_sessions.describe(session_id, session), headers=_NO_STORE,
                        cookies=[session_cookie(request, session_id, max_age)])

    @get("/", summary="The console session of the cookie, with its CSRF token", guards=[requires_moderator])
    async def current(self, staff_sessions: NamedDependency[StaffSessions],
                      request: Request[Any, Any, Any]) -> Response[ConsoleSession]:
        found = console_session_of(request)
        if found is None:
            raise DomainError("auth_required", "There is no console session: sign in.")
        return Response(staff_sessions.describe(*found), headers=_NO_STORE)

    @delete("/", summary="Sign out of the moderator console (ends the session, clears the cookie)",
            guards=[requires_moderator], status_code=200)
    async def sign_out(self, staff_sessions: NamedDependency[StaffSessions],
                       request: Request[Any, Any, Any]) -> Response[SignedOut]:
        found = console_session_of(request)
        ended = found is not None and await staff_sessions.sign_out(found[0])
        return Response(SignedOut(ended=ended), cookies=[session_cookie(request, None)])
