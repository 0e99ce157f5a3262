"""Moderator routes about readers as people: finding one, the author drawer's profile, private
notes, suspensions. Bans, unbans and flags stay in api/moderation.py."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from msgspec import Meta

from ..domain.moderation_models import BanResult
from ..domain.people_models import ModeratorNote, PeopleSearch, UserProfile
from ..domain.structs import Struct
from ..services.people import People
from ..services.user_moderation import UserModeration
from .auth import ModeratorRoutes, staff_of
from .params import SiteParam

_NO_NUL = r"^[^\x00]*$"


class NoteRequest(Struct, forbid_unknown_fields=True):
    text: Annotated[str, Meta(min_length=1, max_length=1000, pattern=_NO_NUL,
                              description="Private to the site's moderators; kept in the audit log too.")]


class SuspendRequest(Struct, forbid_unknown_fields=True):
    hours: Annotated[int, Meta(ge=1, le=8760, description="How long the suspension lasts (up to a year).")]
    reason: Annotated[str, Meta(max_length=200, pattern=_NO_NUL)] | None = None
    note: Annotated[str, Meta(max_length=1000, pattern=_NO_NUL)] | None = None


class PeopleController(ModeratorRoutes):
    path = "/api/v1/moderation"

    @get("/people", summary="Find readers of a site by user id, SSO subject or the start of their name")
    async def search(self, people: NamedDependency[People], request: Request,
                     q: Annotated[str, QueryParameter(min_length=1, max_length=200,
                                                      description="A user id, an SSO subject, or the start "
                                                                  "of a display name (any case).")],
                     site: SiteParam = None,
                     limit: Annotated[int, QueryParameter(ge=1, le=50, required=False)] = 20) -> PeopleSearch:
        return await people.search(staff_of(request), site, q, limit)

    @get("/users/{user_id:int}/profile",
         summary="A reader's profile: standing, recent comments, reports against them, decisions, bans, notes")
    async def profile(self, people: NamedDependency[People], request: Request,
                      user_id: FromPath[int]) -> UserProfile:
        return await people.profile(staff_of(request), user_id)

    @post("/users/{user_id:int}/notes", summary="Add a private moderator note on a reader", status_code=201)
    async def add_note(self, people: NamedDependency[People], request: Request, user_id: FromPath[int],
                       data: JSONBody[NoteRequest]) -> ModeratorNote:
        return await people.add_note(staff_of(request), user_id, data.text)

    @post("/users/{user_id:int}/suspend", summary="Suspend a reader for some hours (a ban that ends by itself)",
          status_code=200)
    async def suspend(self, user_moderation: NamedDependency[UserModeration], request: Request,
                      user_id: FromPath[int], data: JSONBody[SuspendRequest]) -> BanResult:
        return await user_moderation.suspend(staff_of(request), user_id, hours=data.hours, reason=data.reason,
                                             note=data.note)
