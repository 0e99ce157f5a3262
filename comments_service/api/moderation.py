"""Moderator routes: queues, decisions, users, articles, site settings, the audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, PathParameter, QueryParameter
from msgspec import Meta

from ..domain.moderation_models import (
    ArticleSettings,
    AuditFilters,
    AuditPage,
    BanResult,
    BulkResult,
    DecisionResult,
    QueueCounts,
    QueuePage,
    ReasonCodes,
    SiteModerationSettings,
    UserStanding,
)
from ..domain.structs import Struct
from ..errors import DomainError
from ..services.moderation_queue import ModerationQueue
from ..services.moderation_settings import ModerationSettings
from ..services.site_admin import SiteDeleted, SiteInfo
from ..services.staff_scope import require_site
from ..services.user_moderation import UserModeration
from .auth import ModeratorRoutes, requires_admin, staff_of
from .params import ArticlePath, ArticleQuery, Cursor, Limit, SiteParam, checked_article_id

Reason = Annotated[str, Meta(min_length=1, max_length=40, description="A code from /moderation/reason-codes.")]
Note = Annotated[str, Meta(max_length=1000, pattern=r"^[^\x00]*$", description="Free text kept in the audit log.")]


class Decision(Struct, forbid_unknown_fields=True):
    action: Literal["approve", "reject", "undo"]
    reason: Reason | None = None
    note: Note | None = None
    # act on a comment that is no longer waiting (from the approved or rejected view)
    override: bool = False


class BulkDecision(Struct, forbid_unknown_fields=True):
    comment_ids: Annotated[list[Annotated[int, Meta(ge=1)]], Meta(min_length=1, max_length=500)]
    action: Literal["approve", "reject"]
    reason: Reason | None = None
    note: Note | None = None
    override: bool = False


class BanRequest(Struct, forbid_unknown_fields=True):
    until: datetime | None = None
    duration_days: Annotated[int, Meta(ge=1, le=3650)] | None = None
    reason: Annotated[str, Meta(max_length=200, pattern=r"^[^\x00]*$")] | None = None
    note: Note | None = None
    reject_existing: bool = False


class UserFlags(Struct, forbid_unknown_fields=True):
    trusted: bool | None = None
    premoderate: bool | None = None
    # only where the site's moderation.shadow_restriction is on (409 shadow_restriction_off otherwise)
    shadow_restricted: bool | None = None
    note: Note | None = None


class ArticlePatch(Struct, forbid_unknown_fields=True):
    comments_open: bool | None = None
    premoderation: bool | None = None
    # corrections of what the first commenter's page said; the url must be on one of the site's origins
    title: Annotated[str, Meta(min_length=1, max_length=500)] | None = None
    url: Annotated[str, Meta(max_length=2000)] | None = None
    note: Note | None = None
    # unset: unchanged; null: no date
    close_at: Annotated[datetime, Meta(
        tz=True, description="When comments close by themselves (with a time zone); null: no date. Reopening "
                             "an article lifts a date already passed.")] | None | msgspec.UnsetType = msgspec.UNSET


_POLICY = Annotated[dict[str, Any], Meta(description=(
    "The moderation policy, merged key by key over the stored one (a key set to null goes back to "
    "its default): thresholds, fallback_thresholds, banned_words, suspect_words, default_word_lists, "
    "fail_closed, hold_after_recent_rejections, new_account_hold_first, premoderate_guests, "
    "trusted_exempt_premoderation, links {deny_domains, allow_domains, max_links, hold_new_authors}, "
    "repeats {window_minutes, campaign_authors, campaign_window_minutes}. "
    "Checked whole; an invalid value is refused (422 "
    "invalid_site_settings) and nothing changes."))]
_DSA = Annotated[dict[str, Any], Meta(description=(
    "Digital Services Act texts (domain/moderation_models.DsaSiteSettings): rules, the site's rule text by reason "
    "code; out_of_court, its out-of-court dispute settlement bodies. Replaces the stored object; checked whole "
    "(422 invalid_site_settings)."))]
# SiteModerationSettings' fields, each also UNSET when not sent: a setting sent as null goes back to
# its default (as with the CLI's `site update --settings`), one not sent stays as it is, and None
# alone could not tell the two apart. Built from the fields rather than written out, so each
# setting's type and range stay in one place; mypy cannot see a built class (the route's ignore).
SiteSettingsPatch = msgspec.defstruct(
    "SiteSettingsPatch",
    [(f.name, f.type | msgspec.UnsetType, msgspec.UNSET) for f in msgspec.structs.fields(SiteModerationSettings)
     if f.name != "dsa"]
    + [("moderation", _POLICY | None | msgspec.UnsetType, msgspec.UNSET)]
    # an object taken whole and checked with the rest (422 invalid_site_settings), as the policy is
    + [("dsa", _DSA | None | msgspec.UnsetType, msgspec.UNSET)]
    # the site's own columns, as `site update` changes them (never null: each has no default to go back to)
    + [("name", Annotated[str, Meta(min_length=1, max_length=200)] | msgspec.UnsetType, msgspec.UNSET),
       ("origins", Annotated[list[Annotated[str, Meta(max_length=300)]], Meta(max_length=50, description=(
           "Every origin the widget may be embedded on (all of them: the list replaces the stored one)."))]
        | msgspec.UnsetType, msgspec.UNSET),
       ("guests", Annotated[bool, Meta(description="Guests may comment without signing in.")]
        | msgspec.UnsetType, msgspec.UNSET),
       ("images", Annotated[bool, Meta(description="Comments may show images.")] | msgspec.UnsetType, msgspec.UNSET)],
    bases=(Struct,), module=__name__, forbid_unknown_fields=True)


class NewSite(Struct, forbid_unknown_fields=True):
    id: Annotated[str, Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="Refused (409) when taken.")]
    origins: Annotated[list[Annotated[str, Meta(max_length=300)]], Meta(max_length=50)]
    name: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    guests: bool = False
    images: bool = False
    sso_secret: Annotated[str, Meta(min_length=1, max_length=500)] | None = None
    # not "settings": Litestar answers 500 for an invalid body field named like an app dependency
    site_settings: Annotated[dict[str, Any], Meta(description="As PATCH /sites/{site_id} takes them.")] | None = None


class SiteSettingsResult(Struct, forbid_unknown_fields=True):
    site_id: str
    settings: dict
    name: str | None = None
    origins: list[str] | None = None
    guests: bool | None = None
    images: bool | None = None


class ModerationController(ModeratorRoutes):
    path = "/api/v1/moderation"

    @get("/queue", summary="A page of a moderation queue")
    async def queue(self, moderation_queue: NamedDependency[ModerationQueue], request: Request, site: SiteParam = None,
                    queue_state: Annotated[Literal["held", "reported", "approved", "rejected"],
                                           QueryParameter(name="state")] = "held",
                    sort: FromQuery[Literal["oldest", "score"]] = "oldest", article_id: ArticleQuery = None,
                    cursor: Cursor = None, limit: Limit = None) -> QueuePage:
        staff = staff_of(request)
        return await moderation_queue.queue(
            staff, site_id=site, state=queue_state, sort=sort,
            external_id=checked_article_id(article_id) if article_id else None, cursor=cursor, limit=limit or 25)

    @get("/counts", summary="How many comments wait in the held and reported queues")
    async def counts(self, moderation_queue: NamedDependency[ModerationQueue], request: Request,
                     site: SiteParam = None) -> QueueCounts:
        staff = staff_of(request)
        return await moderation_queue.counts(staff, site)

    @get("/reason-codes", summary="Reason codes for rejections, reader reports and automatic holds")
    async def reason_codes(self, request: Request, site: SiteParam = None) -> ReasonCodes:
        if site:
            require_site(staff_of(request), site)
        return ModerationQueue.reason_codes()

    @post("/comments/{comment_id:int}/decision", summary="Approve, reject or undo the last decision",
          status_code=200)
    async def decide(self, moderation_queue: NamedDependency[ModerationQueue], request: Request,
                     comment_id: FromPath[int], data: JSONBody[Decision]) -> DecisionResult:
        staff = staff_of(request)
        return await moderation_queue.decide(
            staff, comment_id, data.action, reason=data.reason, note=data.note, override=data.override)

    @post("/decisions", summary="Approve or reject many comments; results per id", status_code=200)
    async def decide_many(self, moderation_queue: NamedDependency[ModerationQueue], request: Request,
                          data: JSONBody[BulkDecision], site: SiteParam = None) -> BulkResult:
        staff = staff_of(request)
        return await moderation_queue.decide_many(
            staff, data.comment_ids, data.action, reason=data.reason, note=data.note, override=data.override,
            site_id=site)

    @get("/users/{user_id:int}", summary="A user's standing: ban, premoderation, trust")
    async def user(self, user_moderation: NamedDependency[UserModeration], request: Request,
                   user_id: FromPath[int]) -> UserStanding:
        staff = staff_of(request)
        return await user_moderation.standing_for(staff, user_id)

    @post("/users/{user_id:int}/ban", summary="Ban a user from the site", status_code=200)
    async def ban(self, user_moderation: NamedDependency[UserModeration], request: Request, user_id: FromPath[int],
                  data: JSONBody[BanRequest]) -> BanResult:
        staff = staff_of(request)
        if data.until is not None and data.duration_days is not None:
            raise DomainError("invalid_request", "Give either until or duration_days, not both.")
        until = data.until
        if until is not None and until.tzinfo is None:
            raise DomainError("invalid_request", "until needs a time zone (for example 2030-01-01T00:00:00Z).")
        if data.duration_days is not None:
            until = datetime.now(UTC) + timedelta(days=data.duration_days)
        return await user_moderation.ban(
            staff, user_id, until=until, reason=data.reason, note=data.note, reject_existing=data.reject_existing)

    @delete("/users/{user_id:int}/ban", summary="Lift a user's ban", status_code=200)
    async def unban(self, user_moderation: NamedDependency[UserModeration], request: Request,
                    user_id: FromPath[int]) -> UserStanding:
        staff = staff_of(request)
        return await user_moderation.unban(staff, user_id)

    @patch("/users/{user_id:int}", summary="Trust a user, put them on premoderation or shadow-restrict them")
    async def user_flags(self, user_moderation: NamedDependency[UserModeration], request: Request,
                         user_id: FromPath[int], data: JSONBody[UserFlags]) -> UserStanding:
        staff = staff_of(request)
        return await user_moderation.set_user_flags(
            staff, user_id, trusted=data.trusted, premoderate=data.premoderate, note=data.note,
            shadow_restricted=data.shadow_restricted)

    @patch("/articles/{article_id:str}",
           summary="Close or reopen comments, premoderation on or off, a closing date, correct the title or url")
    async def article(self, moderation_settings: NamedDependency[ModerationSettings], request: Request,
                      article_id: ArticlePath, data: JSONBody[ArticlePatch], site: SiteParam = None) -> ArticleSettings:
        staff = staff_of(request)
        if not site:
            raise DomainError("site_required")
        return await moderation_settings.update_article(
            staff, site, checked_article_id(article_id), comments_open=data.comments_open,
            premoderation=data.premoderation, title=data.title, url=data.url, note=data.note, close_at=data.close_at)

    @get("/sites", summary="The sites this admin manages, with what each holds (admins)", guards=[requires_admin])
    async def sites(self, moderation_settings: NamedDependency[ModerationSettings],
                    request: Request) -> list[SiteInfo]:
        return await moderation_settings.list_sites(staff_of(request))

    @get("/sites/{site_id:str}", summary="One site, with what it holds (admins)", guards=[requires_admin])
    async def site(self, moderation_settings: NamedDependency[ModerationSettings], request: Request,
                   site_id: Annotated[str, PathParameter(max_length=64)]) -> SiteInfo:
        return await moderation_settings.site(staff_of(request), site_id)

    @post("/sites", summary="Create a site; an existing id is refused (admins for every site)",
          guards=[requires_admin], status_code=201)
    async def create_site(self, moderation_settings: NamedDependency[ModerationSettings], request: Request,
                          data: JSONBody[NewSite]) -> SiteInfo:
        return await moderation_settings.create_site(
            staff_of(request), site_id=data.id, name=data.name, origins=data.origins, sso_secret=data.sso_secret,
            guests=data.guests, images=data.images, settings=data.site_settings)

    @delete("/sites/{site_id:str}", summary="Delete a site and everything it holds (admins for every site)",
            description="Refused (409 site_has_comments) while the site has comments, unless force=true.",
            guards=[requires_admin], status_code=200)
    async def delete_site(self, moderation_settings: NamedDependency[ModerationSettings], request: Request,
                          site_id: Annotated[str, PathParameter(max_length=64)],
                          force: FromQuery[bool] = False) -> SiteDeleted:
        return await moderation_settings.delete_site(staff_of(request), site_id, force=force)

    @patch("/sites/{site_id:str}",
           summary="Site settings, name, origins, guests, images (admins); only those sent change",
           description="A setting sent as null goes back to its default, as with the CLI's `site update "
                       "--settings`. The result is checked whole (422 invalid_site_settings, nothing changed).",
           guards=[requires_admin])
    async def site_settings(self, moderation_settings: NamedDependency[ModerationSettings], request: Request,
                            site_id: Annotated[str, PathParameter(max_length=64)],
                            data: JSONBody[SiteSettingsPatch]) -> SiteSettingsResult:  # type: ignore[valid-type]
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
        columns = {k: changes.pop(k) for k in ("name", "origins", "guests", "images") if k in changes}
        site = await moderation_settings.update_site_settings(staff_of(request), site_id, changes, **columns)
        return SiteSettingsResult(site_id=site_id, settings=site.settings, name=site.name, origins=site.origins,
                                  guests=site.guests, images=site.images)

    @get("/audit", summary="The audit log, newest first")
    async def audit(self, moderation_settings: NamedDependency[ModerationSettings], request: Request,
                    site: SiteParam = None,
                    comment_id: Annotated[int | None, QueryParameter(ge=1, required=False)] = None,
                    user_id: Annotated[int | None, QueryParameter(ge=1, required=False)] = None,
                    moderator: Annotated[str | None, QueryParameter(max_length=300, required=False)] = None,
                    action: Annotated[str | None, QueryParameter(max_length=40, required=False)] = None,
                    since: FromQuery[datetime | None] = None, until: FromQuery[datetime | None] = None,
                    cursor: Cursor = None, limit: Limit = None, article_id: ArticleQuery = None) -> AuditPage:
        filters = AuditFilters(comment_id=comment_id, user_id=user_id, moderator=moderator, action=action,
                               article_id=checked_article_id(article_id) if article_id is not None else None,
                               since=since, until=until)
        return await moderation_settings.audit(staff_of(request), site_id=site, filters=filters, cursor=cursor,
                                               limit=limit or 50)
