"""The moderators' list of readers' problem reports (filed through the troubleshooter), and closing them."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from ..domain.structs import Struct
from ..services.problem_reports import ProblemReportPage, ProblemReports, ProblemReportView
from .auth import ModeratorRoutes, staff_of
from .params import SiteParam


class ProblemReportClose(Struct, forbid_unknown_fields=True):
    resolution: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class ProblemReportsController(ModeratorRoutes):
    path = "/api/v1/moderation/problem-reports"

    @get("", summary="Readers' problem reports, newest first")
    async def list_reports(self, problem_reports: NamedDependency[ProblemReports], request: Request,
                           site: SiteParam = None,
                           status: FromQuery[Literal["open", "closed", "all"]] = "open",
                           cursor: Annotated[str | None, QueryParameter(required=False, max_length=20)] = None,
                           limit: Annotated[int, QueryParameter(ge=1, le=100)] = 50) -> ProblemReportPage:
        return await problem_reports.page(staff_of(request), site_id=site,
                                          status=None if status == "all" else status, cursor=cursor, limit=limit)

    @post("/{report_id:int}/close", summary="Close a problem report, optionally saying what was done",
          status_code=200)
    async def close(self, problem_reports: NamedDependency[ProblemReports], request: Request,
                    report_id: FromPath[int], data: JSONBody[ProblemReportClose | None] = None) -> ProblemReportView:
        staff = staff_of(request)
        return await problem_reports.close(staff, report_id, data.resolution if data else None)
