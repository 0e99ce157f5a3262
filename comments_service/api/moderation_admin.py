"""Admins' routes of the console: try a text against a site's policy (or an unsaved draft of it),
what the settings form needs to know about the policy, rotating a site's SSO secret, and the
moderator and admin API tokens. Site settings themselves change through PATCH /sites/{site_id}
(api/moderation.py), the one settings path."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, PathParameter
from msgspec import Meta

from .. import i18n
from ..domain.structs import Struct
from ..services.policy_trial import PolicyTrial, PolicyView, TrialAuthor, TrialResult
from ..services.site_admin import RotatedSecret, SiteAdmin
from ..services.staff_tokens import NewStaffToken, StaffToken, StaffTokens
from .auth import ModeratorRoutes, requires_admin, staff_of
from .params import SiteParam

SitePath = Annotated[str, PathParameter(max_length=64)]


class TrialBody(Struct, forbid_unknown_fields=True):
    # bounded again, as a comment, by COMMENTS_MAX_BODY_CHARS (400 body_too_long)
    text: Annotated[str, Meta(min_length=1, max_length=100_000, description=(
        "The text to try, bounded as a comment is (COMMENTS_MAX_BODY_CHARS)."))]
    moderation: Annotated[dict[str, Any], Meta(description=(
        "An unsaved draft of the moderation policy, merged key by key over the stored one exactly as "
        "PATCH /sites/{site_id} would merge it, and checked as a save would be (422 invalid_site_settings)."
    ))] | None = None
    author: Annotated[TrialAuthor, Meta(description=(
        "Who writes it: an established reader, a new account (its first comment), or a guest: the "
        "new-account and guest rules apply accordingly."))] = "established"


class NewToken(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=100, description="Whose token it is, for the list.")]
    role: Literal["moderator", "admin"]
    site_id: Annotated[str, Meta(max_length=64, description=(
        "The one site the token serves; null for every site (admins of every site only)."))] | None = None


class AdminController(ModeratorRoutes):
    path = "/api/v1/moderation"
    guards = [requires_admin]

    @post("/sites/{site_id:str}/try", status_code=200,
          summary="Try a text against the site's policy, or an unsaved draft of it (a dry run; admins)",
          description="Scored by a scoring worker's model when one answers within about 3 s, else by the "
                      "offline fallback (scored_by says which). Nothing is stored. Rate-limited per admin.")
    async def try_text(self, policy_trial: NamedDependency[PolicyTrial], request: Request, site_id: SitePath,
                       data: JSONBody[TrialBody]) -> TrialResult:
        return await policy_trial.try_text(staff_of(request), site_id, data.text, data.moderation, data.author,
                                           locale=i18n.scope_locale(request.scope))

    @get("/sites/{site_id:str}/policy",
         summary="The policy's labels and defaults and the workers' model, for the settings form (admins)")
    async def policy(self, policy_trial: NamedDependency[PolicyTrial], request: Request,
                     site_id: SitePath) -> PolicyView:
        return await policy_trial.view(staff_of(request), site_id)

    @post("/sites/{site_id:str}/sso-secret", status_code=200,
          summary="Replace the site's SSO secret with a new strong one, shown once (admins)",
          description="Readers' tokens signed with the old secret are refused from then on. The secret is "
                      "returned in this answer only; the audit log records the rotation without it.")
    async def rotate_sso_secret(self, site_admin: NamedDependency[SiteAdmin], request: Request,
                                site_id: SitePath) -> RotatedSecret:
        return await site_admin.rotate_sso_secret(site_id, staff=staff_of(request))

    @get("/tokens", summary="Moderator and admin API tokens with their last use (admins; a site's admin: its own)")
    async def tokens(self, staff_tokens: NamedDependency[StaffTokens], request: Request,
                     site: SiteParam = None) -> list[StaffToken]:
        return await staff_tokens.list(staff_of(request), site)

    @post("/tokens", status_code=201, summary="Create a moderator or admin API token, shown once (admins)")
    async def create_token(self, staff_tokens: NamedDependency[StaffTokens], request: Request,
                           data: JSONBody[NewToken]) -> NewStaffToken:
        return await staff_tokens.create(staff_of(request), name=data.name, role=data.role, site_id=data.site_id)

    @delete("/tokens/{token_id:int}", status_code=200,
            summary="Revoke an API token; its console sessions end at once (admins)")
    async def revoke_token(self, staff_tokens: NamedDependency[StaffTokens], request: Request,
                           token_id: FromPath[int]) -> StaffToken:
        return await staff_tokens.revoke(staff_of(request), token_id)
