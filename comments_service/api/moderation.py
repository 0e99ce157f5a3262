"""Moderator routes: queues, decisions, users, articles, site settings, the audit log."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.di import Provide
from litestar.params import Parameter
from msgspec import Meta

from ..domain.models import Base
from ..domain.moderation_models import (
    ArticleSettings, AuditPage, BanResult, BulkResult, DecisionResult, QueueCounts, QueuePage, ReasonCodes,
    SiteModerationSettings, UserStanding,
)
from ..errors import DomainError
from .auth import Staff, provide_admin, provide_moderator
from .comments import _article_key
from .deps import SiteParam, services_of

Reason = Annotated[str, Meta(min_length=1, max_length=40, description="A code from /moderation/reason-codes.")]
Note = Annotated[str, Meta(max_length=1000, pattern=r"^[^\x00]*$", description="Free text kept in the audit log.")]
Limit = Annotated[int | None, Parameter(ge=1, le=100, required=False, description="Page size.")]
Cursor = Annotated[str | None, Parameter(max_length=200, required=False, description="From next_cursor.")]


class Decision(Base):
    action: Literal["approve", "reject", "undo"]
    reason: Reason | None = None
    note: Note | None = None
    # act on a comment that is no longer waiting (from the approved or rejected view)
    override: bool = False


class BulkDecision(Base):
    comment_ids: Annotated[list[Annotated[int, Meta(ge=1)]], Meta(min_length=1, max_length=500)]
    action: Literal["approve", "reject"]
    reason: Reason | None = None
    note: Note | None = None
    override: bool = False


class BanRequest(Base):
    until: datetime | None = None
    duration_days: Annotated[int, Meta(ge=1, le=3650)] | None = None
    reason: Annotated[str, Meta(max_length=200, pattern=r"^[^\x00]*$")] | None = None
    note: Note | None = None
    reject_existing: bool = False


class UserFlags(Base):
    trusted: bool | None = None
    premoderate: bool | None = None
    note: Note | None = None


class ArticlePatch(Base):
    comments_open: bool | None = None
    premoderation: bool | None = None
    # corrections of what the first commenter's page said; the url must be on one of the site's origins
    title: Annotated[str, Meta(min_length=1, max_length=500)] | None = None
    url: Annotated[str, Meta(max_length=2000)] | None = None
    note: Note | None = None


class SiteSettingsResult(Base):
    site_id: str
    settings: dict


class ModerationController(Controller):
    path = "/api/v1/moderation"
    tags = ["moderation"]
    dependencies = {"staff": Provide(provide_moderator)}

    @get("/queue", summary="A page of a moderation queue")
    async def queue(self, request: Request, staff: Staff, site: SiteParam = None,
                    queue_state: Annotated[Literal["held", "reported", "approved", "rejected"],
                                           Parameter(query="state")] = "held",
                    sort: Literal["oldest", "score"] = "oldest",
                    article_id: Annotated[str | None, Parameter(max_length=200, required=False)] = None,
                    cursor: Cursor = None, limit: Limit = None) -> QueuePage:
        return await services_of(request).moderation.queue(
            staff, site_id=site, state=queue_state, sort=sort, article_ext=_article_key(article_id) if article_id else None,
            cursor=cursor, limit=limit or 25)

    @get("/counts", summary="How many comments wait in the held and reported queues")
    async def counts(self, request: Request, staff: Staff, site: SiteParam = None) -> QueueCounts:
        return await services_of(request).moderation.counts(staff, site)

    @get("/reason-codes", summary="Reason codes for rejections, reader reports and automatic holds")
    async def reason_codes(self, request: Request, staff: Staff, site: SiteParam = None) -> ReasonCodes:
        if site:
            staff.require_site(site)
        return services_of(request).moderation.reason_codes()

    @post("/comments/{comment_id:int}/decision", summary="Approve, reject or undo the last decision",
          status_code=200)
    async def decide(self, request: Request, staff: Staff, comment_id: int, data: Decision) -> DecisionResult:
        return await services_of(request).moderation.decide(
            staff, comment_id, data.action, reason=data.reason, note=data.note, override=data.override)

    @post("/decisions", summary="Approve or reject many comments; results per id", status_code=200)
    async def decide_many(self, request: Request, staff: Staff, data: BulkDecision,
                          site: SiteParam = None) -> BulkResult:
        return await services_of(request).moderation.decide_many(
            staff, data.comment_ids, data.action, reason=data.reason, note=data.note, override=data.override,
            site_id=site)

    @get("/users/{user_id:int}", summary="A user's standing: ban, premoderation, trust")
    async def user(self, request: Request, staff: Staff, user_id: int) -> UserStanding:
        return await services_of(request).moderation.standing_for(staff, user_id)

    @post("/users/{user_id:int}/ban", summary="Ban a user from the site", status_code=200)
    async def ban(self, request: Request, staff: Staff, user_id: int, data: BanRequest) -> BanResult:
        if data.until is not None and data.duration_days is not None:
            raise DomainError("invalid_request", "Give either until or duration_days, not both.")
        until = data.until
        if until is not None and until.tzinfo is None:
            raise DomainError("invalid_request", "until needs a time zone (for example 2030-01-01T00:00:00Z).")
        if data.duration_days is not None:
            until = datetime.now(timezone.utc) + timedelta(days=data.duration_days)
        return await services_of(request).moderation.ban(
            staff, user_id, until=until, reason=data.reason, note=data.note, reject_existing=data.reject_existing)

    @delete("/users/{user_id:int}/ban", summary="Lift a user's ban", status_code=200)
    async def unban(self, request: Request, staff: Staff, user_id: int) -> UserStanding:
        return await services_of(request).moderation.unban(staff, user_id)

    @patch("/users/{user_id:int}", summary="Trust a user or put them on premoderation")
    async def user_flags(self, request: Request, staff: Staff, user_id: int, data: UserFlags) -> UserStanding:
        return await services_of(request).moderation.set_user_flags(
            staff, user_id, trusted=data.trusted, premoderate=data.premoderate, note=data.note)

    @patch("/articles/{article_id:str}",
           summary="Close or reopen comments, premoderation on or off, correct the title or url")
    async def article(self, request: Request, staff: Staff, article_id: Annotated[str, Parameter(max_length=200)],
                      data: ArticlePatch, site: SiteParam = None) -> ArticleSettings:
        if not site:
            raise DomainError("site_required")
        return await services_of(request).moderation.update_article(
            staff, site, _article_key(article_id), comments_open=data.comments_open,
            premoderation=data.premoderation, title=data.title, url=data.url, note=data.note)

    @patch("/sites/{site_id:str}", summary="Site moderation settings (admins)",
           dependencies={"staff": Provide(provide_admin)})
    async def site_settings(self, request: Request, staff: Staff, site_id: Annotated[str, Parameter(max_length=64)],
                            data: SiteModerationSettings) -> SiteSettingsResult:
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None}
        if changes.get("auto_close_days") == 0:
            changes["auto_close_days"] = None
        settings = await services_of(request).moderation.update_site_settings(staff, site_id, changes)
        return SiteSettingsResult(site_id=site_id, settings=settings)

    @get("/audit", summary="The audit log, newest first")
    async def audit(self, request: Request, staff: Staff, site: SiteParam = None,
                    comment_id: Annotated[int | None, Parameter(ge=1, required=False)] = None,
                    user_id: Annotated[int | None, Parameter(ge=1, required=False)] = None,
                    moderator: Annotated[str | None, Parameter(max_length=300, required=False)] = None,
                    action: Annotated[str | None, Parameter(max_length=40, required=False)] = None,
                    since: datetime | None = None, until: datetime | None = None,
                    cursor: Cursor = None, limit: Limit = None) -> AuditPage:
        return await services_of(request).moderation.audit(
            staff, site_id=site, comment_id=comment_id, user_id=user_id, moderator=moderator, action=action,
            since=since, until=until, cursor=cursor, limit=limit or 50)
