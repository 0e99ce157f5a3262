"""The Digital Services Act's routes (services/dsa.py): anyone's notices of illegal content, a
reader's statements of reasons and appeals, and the moderators' notices, appeals and transparency
report."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, PathParameter, QueryParameter
from msgspec import Meta

from .. import i18n
from ..domain import dsa_models as m
from ..domain.structs import Struct
from ..services.dsa import LIST_LIMIT, Dsa, transparency_csv
from .auth import ModeratorRoutes, requires_admin, staff_of
from .deps import reader_of
from .params import SiteParam

_NO_NUL = r"^[^\x00]*$"
Explanation = Annotated[str, Meta(min_length=1, max_length=m.EXPLANATION_CHARS, pattern=_NO_NUL)]
Reference = Annotated[str, PathParameter(pattern=r"^N-[0-9A-Z]{4}-[0-9A-Z]{4}$", max_length=11,
                                         description="The notice's reference from its receipt (N-XXXX-XXXX).")]
ListLimit = Annotated[int, QueryParameter(ge=1, le=LIST_LIMIT, required=False, description="How many to list.")]
ListStatus = FromQuery[Literal["open", "decided", "all"]]


class NoticeCreate(Struct, forbid_unknown_fields=True):
    comment_id: Annotated[int, Meta(ge=1, le=2**63 - 1, description="The comment alleged to be illegal.")]
    category: Annotated[m.NoticeCategory, Meta(description="The kind of illegal content alleged.")]
    explanation: Annotated[str, Meta(min_length=1, max_length=m.EXPLANATION_CHARS, pattern=_NO_NUL, description=(
        "Why the notifier considers the comment illegal (Art. 16(2)(a))."))]
    good_faith: Annotated[bool, Meta(description=(
        "The notifier states in good faith that the notice is accurate and complete (Art. 16(2)(d)); must be "
        "true."))]
    name: Annotated[str, Meta(max_length=200, pattern=_NO_NUL, description=(
        "The notifier's name; required except for child_sexual_abuse_material."))] | None = None
    email: Annotated[str, Meta(max_length=254, description=(
        "Where the decision is sent; required except for child_sexual_abuse_material."))] | None = None


class AppealCreate(Struct, forbid_unknown_fields=True):
    explanation: Explanation


class NoticeAppealCreate(Struct, forbid_unknown_fields=True):
    appeal_key: Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z2-7]+$", description=(
        "The appeal key from the notice's receipt or the decision email."))]
    explanation: Explanation


class NoticeDecision(Struct, forbid_unknown_fields=True):
    action: Literal["remove", "keep"]
    explanation: Annotated[str, Meta(min_length=1, max_length=m.EXPLANATION_CHARS, pattern=_NO_NUL, description=(
        "The reasoned decision, sent to the notifier."))]
    reason_code: Annotated[str, Meta(max_length=40, description=(
        "For remove: a rejection reason from /api/v1/moderation/reason-codes."))] | None = None


class AppealDecision(Struct, forbid_unknown_fields=True):
    outcome: Literal["reverse", "confirm"]
    explanation: Annotated[str, Meta(min_length=1, max_length=m.EXPLANATION_CHARS, pattern=_NO_NUL, description=(
        "The reasoned decision, sent to the appellant."))]


class NoticesController(Controller):
    path = "/api/v1/notices"
    tags = ["dsa"]

    @post("", summary="Notify a comment as illegal content (Art. 16 DSA); anyone, signed in or not",
          status_code=201)
    async def notify(self, dsa: NamedDependency[Dsa], request: Request, data: JSONBody[NoticeCreate],
                     site: SiteParam = None) -> m.NoticeReceipt:
        entry, actor = await reader_of(request)
        # the decision email is written in the language the notifier's page asks in
        return await dsa.notify(entry, actor, comment_id=data.comment_id, category=data.category,
                                explanation=data.explanation, name=data.name, email=data.email,
                                good_faith=data.good_faith, locale=i18n.scope_asked(request.scope))

    @post("/{reference:str}/appeal", summary="A notifier's appeal of a decision to keep the comment they notified",
          status_code=201)
    async def appeal(self, dsa: NamedDependency[Dsa], request: Request, reference: Reference,
                     data: JSONBody[NoticeAppealCreate], site: SiteParam = None) -> m.AppealReceipt:
        entry, actor = await reader_of(request)
        return await dsa.appeal_notice(entry, actor, reference, data.appeal_key, data.explanation,
                                       locale=i18n.scope_asked(request.scope))


class MyStatementsController(Controller):
    path = "/api/v1/me/statements"
    tags = ["dsa"]

    @get("", summary="The reader's statements of reasons on this site (Art. 17 DSA), newest first")
    async def mine(self, dsa: NamedDependency[Dsa], request: Request, site: SiteParam = None,
                   comment_id: Annotated[int | None, QueryParameter(ge=1, le=2**63 - 1, required=False, description=(
                       "Only those about this comment of the reader's."))] = None,
                   limit: ListLimit = 50) -> Response[m.StatementList]:
        entry, actor = await reader_of(request)
        locale = i18n.scope_locale(request.scope)
        body = await dsa.my_statements(entry, actor.identity, comment_id, limit, locale)
        return Response(body, headers={"Cache-Control": "private, no-store", "Content-Language": locale})

    @post("/{statement_id:int}/appeal", summary="Appeal a decision within six months (Art. 20 DSA)",
          status_code=201)
    async def appeal(self, dsa: NamedDependency[Dsa], request: Request, statement_id: FromPath[int],
                     data: JSONBody[AppealCreate], site: SiteParam = None) -> m.AppealReceipt:
        entry, actor = await reader_of(request)
        return await dsa.appeal_statement(entry, actor, statement_id, data.explanation,
                                          locale=i18n.scope_asked(request.scope))


class DsaModerationController(ModeratorRoutes):
    path = "/api/v1/moderation"

    @get("/notices", summary="Notices of illegal content: open ones first, oldest first, with their age")
    async def notices(self, dsa: NamedDependency[Dsa], request: Request, site: SiteParam = None,
                      status: ListStatus = "all", limit: ListLimit = 100) -> m.NoticePage:
        return await dsa.notices(staff_of(request), site, status, limit)

    @post("/notices/{notice_id:int}/decision", summary="Decide a notice: remove the comment, or keep it",
          status_code=200)
    async def decide_notice(self, dsa: NamedDependency[Dsa], request: Request, notice_id: FromPath[int],
                            data: JSONBody[NoticeDecision]) -> m.NoticeView:
        return await dsa.decide_notice(staff_of(request), notice_id, action=data.action, reason=data.reason_code,
                                       explanation=data.explanation)

    @get("/appeals", summary="Appeals: open ones first, oldest first, with who took the decision appealed")
    async def appeals(self, dsa: NamedDependency[Dsa], request: Request, site: SiteParam = None,
                      status: ListStatus = "all", limit: ListLimit = 100) -> m.AppealPage:
        return await dsa.appeals(staff_of(request), site, status, limit)

    @post("/appeals/{appeal_id:int}/decision", summary="Decide an appeal: reverse or confirm the decision",
          status_code=200)
    async def decide_appeal(self, dsa: NamedDependency[Dsa], request: Request, appeal_id: FromPath[int],
                            data: JSONBody[AppealDecision]) -> m.AppealView:
        return await dsa.decide_appeal(staff_of(request), appeal_id, outcome=data.outcome,
                                       explanation=data.explanation)

    @get("/transparency", summary="The transparency report's counts for a period (admins), as JSON or CSV",
         guards=[requires_admin])
    async def transparency(self, dsa: NamedDependency[Dsa], request: Request, site: SiteParam = None,
                           start: Annotated[datetime | None, QueryParameter(name="from", required=False)] = None,
                           end: Annotated[datetime | None, QueryParameter(name="to", required=False)] = None,
                           format: FromQuery[Literal["json", "csv"]] = "json") -> Response[m.TransparencyReport | str]:
        report = await dsa.transparency(staff_of(request), site, start, end)
        if format == "csv":
            name = f"transparency-{report.site_id}-{datetime.now(UTC):%Y%m%d}.csv"
            return Response(transparency_csv(report), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{name}"',
                                     "Cache-Control": "private, no-store"})
        return Response(report, headers={"Cache-Control": "private, no-store"})
