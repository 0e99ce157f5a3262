"""The reader's troubleshooter, problem reports, and the moderators' list of those reports."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.params import Parameter

from ..db import problem_reports as report_repo
from ..domain import cursor as cursors
from ..errors import CATALOGUE, DomainError, ErrorInfo
from ..logs import request_id
from ..services.troubleshoot import Troubleshooter, TroubleshootQuery, TroubleshootResult
from .auth import Staff, provide_moderator
from .deps import bearer_token, client_ip, services_of

ArticleParam = Annotated[str | None, Parameter(query="article_id", required=False, max_length=200)]
CommentParam = Annotated[int | None, Parameter(query="comment_id", required=False, ge=1, le=2**63 - 1)]
ClientCheckParam = Annotated[str | None, Parameter(
    query="client_check", required=False, max_length=200,
    description="The widget's own browser check, e.g. 'cookies=ok,local_storage=blocked'.")]
ClientTimeParam = Annotated[int | None, Parameter(
    query="client_time", required=False, ge=0, le=2**53,
    description="The reader's device clock in milliseconds since the epoch, to detect a skewed clock.")]


class ProblemReportCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    description: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
    article_id: Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")] | None = None
    comment_id: Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)] | None = None
    client_check: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    client_time: Annotated[int, msgspec.Meta(ge=0, le=2**53)] | None = None


class ProblemReportFiled(msgspec.Struct, kw_only=True):
    reference: str
    message: str
    troubleshoot: TroubleshootResult


class Reader(msgspec.Struct, kw_only=True):
    id: int
    name: str | None


class ProblemReportView(msgspec.Struct, kw_only=True):
    id: int
    reference: str
    site: str
    status: str
    created_at: datetime
    description: str
    article_id: str | None
    comment_id: int | None
    reader: Reader | None
    user_agent: str | None
    request_id: str | None
    summary: str | None
    checks: list[dict[str, Any]]
    resolution: str | None
    closed_by: str | None
    closed_at: datetime | None


class ProblemReportPage(msgspec.Struct, kw_only=True):
    reports: list[ProblemReportView]
    next_cursor: str | None = None


class ProblemReportClose(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    resolution: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class ErrorCodes(msgspec.Struct, kw_only=True):
    codes: dict[str, ErrorInfo]


def _query(request: Request, site: str | None, article_id: str | None, comment_id: int | None,
           client_check: str | None, client_time: int | None) -> TroubleshootQuery:
    token, header_error = None, None
    try:
        token = bearer_token(request)
    except DomainError as err:  # a malformed header is one of the things being diagnosed
        header_error = err
    return TroubleshootQuery(site=site, article_id=article_id or None, comment_id=comment_id,
                             origin=request.headers.get("origin"), token=token, token_header_error=header_error,
                             ip=client_ip(request), client_check=client_check,
                             client_time_ms=client_time, request_id=request_id.get())


def _troubleshooter(request: Request) -> Troubleshooter:
    services = services_of(request)
    return Troubleshooter(services, services.health)


class TroubleshootController(Controller):
    path = "/api/v1/troubleshoot"
    tags = ["troubleshooting"]

    @get("", summary="Why can't I comment? Checks for this reader, article and comment")
    async def troubleshoot(self, request: Request,
                           site: Annotated[str | None, Parameter(query="site", required=False, max_length=64)] = None,
                           article_id: ArticleParam = None, comment_id: CommentParam = None,
                           client_check: ClientCheckParam = None,
                           client_time: ClientTimeParam = None) -> TroubleshootResult:
        services = services_of(request)
        await services.limiter.check("troubleshoot", user=None,
                                     ip=client_ip(request))
        return await _troubleshooter(request).run(
            _query(request, site, article_id, comment_id, client_check, client_time))

    @post("/reports", summary="Report a commenting problem to the site's moderators", status_code=201)
    async def report(self, request: Request, data: ProblemReportCreate,
                     site: Annotated[str | None, Parameter(query="site", required=False, max_length=64)] = None
                     ) -> ProblemReportFiled:
        q = _query(request, site, data.article_id, data.comment_id, data.client_check, data.client_time)
        reference, result = await _troubleshooter(request).file_report(
            q, description=data.description.strip() or data.description,
            user_agent=request.headers.get("user-agent"))
        return ProblemReportFiled(
            reference=reference, troubleshoot=result,
            message=f"Thank you. Your report reached the site's moderators; quote {reference} if you contact them.")

    @get("/codes", summary="Every error code the API returns, with its plain-language explanation")
    async def codes(self) -> ErrorCodes:
        return ErrorCodes(codes=CATALOGUE)


def _view(row: report_repo.ProblemReportRow) -> ProblemReportView:
    stored = row.troubleshoot or {}
    return ProblemReportView(
        id=row.id, reference=row.reference, site=row.site_id, status=row.status, created_at=row.created_at,
        description=row.description, article_id=row.article_external_id, comment_id=row.comment_id,
        reader=Reader(id=row.user_id, name=row.user_name) if row.user_id is not None else None,
        user_agent=row.user_agent, request_id=row.request_id, summary=stored.get("summary"),
        checks=list(stored.get("checks") or []), resolution=row.resolution, closed_by=row.closed_by,
        closed_at=row.closed_at)


class ProblemReportsController(Controller):
    path = "/api/v1/moderation/problem-reports"
    tags = ["moderation"]
    dependencies = {"staff": Provide(provide_moderator)}

    @get("", summary="Readers' problem reports, newest first")
    async def list_reports(self, request: Request, staff: Staff,
                           site: Annotated[str | None, Parameter(query="site", required=False, max_length=64)] = None,
                           status: Literal["open", "closed", "all"] = "open",
                           cursor: Annotated[str | None, Parameter(required=False, max_length=20)] = None,
                           limit: Annotated[int, Parameter(ge=1, le=100)] = 50) -> ProblemReportPage:
        scope = staff.site_id or site
        if site is not None:
            staff.require_site(site)
        before = cursors.INT64_MAX
        if cursor is not None:
            try:
                before = cursors.decode_id(cursor)
            except cursors.CursorError:
                raise DomainError("invalid_cursor") from None
        async with services_of(request).pool.acquire() as conn:
            rows = await report_repo.page(conn, site_id=scope, status=None if status == "all" else status,
                                          before_id=before, limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return ProblemReportPage(reports=[_view(r) for r in rows], next_cursor=str(rows[-1].id) if more else None)

    @post("/{report_id:int}/close", summary="Close a problem report, optionally saying what was done",
          status_code=200)
    async def close(self, request: Request, staff: Staff, report_id: int,
                    data: ProblemReportClose | None = None) -> ProblemReportView:
        async with services_of(request).pool.acquire() as conn, conn.transaction():
            row = await report_repo.get(conn, report_id)
            if row is None or not staff.can_act_on(row.site_id):
                raise DomainError("problem_report_not_found")
            # closing twice keeps the first resolution: two moderators may click at once
            await report_repo.close(conn, report_id, data.resolution if data else None, staff.id)
            row = await report_repo.get(conn, report_id)
        return _view(row)


TROUBLESHOOT_CONTROLLERS = [TroubleshootController, ProblemReportsController]
