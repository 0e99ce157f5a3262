"""Moderator routes that report: the audit log as a CSV download, who acted on a site, and the
statistics view's numbers."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter
from litestar.response import Stream

from ..domain.cursor import INT64_MAX
from ..domain.moderation_models import AuditFilters
from ..domain.stats_models import DEFINITIONS, AuditActors, StatsView
from ..services.moderation_stats import EXPORT_MAX_ROWS, AuditStats
from .auth import ModeratorRoutes, staff_of
from .params import ArticleQuery, SiteParam, checked_article_id

_FILENAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")

_STATS_DESCRIPTION = (
    "Per UTC day of the last `days` days (today last, so far), for one site: comments published, held and "
    "rejected by the automatic moderation, published and rejected by moderators, readers' reports and problem "
    "reports, and the median time from a held comment's posting to a moderator's decision; the period's totals "
    "and its top rejection, hold and report reasons.\n\n"
    + "\n\n".join(f"**{name}**: {text}" for name, text in DEFINITIONS.items()))


class AuditStatsController(ModeratorRoutes):
    path = "/api/v1/moderation"

    @get("/audit.csv", summary="The audit log as a CSV download, with the audit log's filters",
         description=f"Newest first, at most {EXPORT_MAX_ROWS:,} entries: past that the file ends with a line "
                     "starting `# truncated`. Cells a spreadsheet would run as a formula (starting with = + - @, "
                     "a tab or a carriage return) are prefixed with an apostrophe. `article_id` is the site's own "
                     "id of the article.")
    async def audit_csv(self, audit_stats: NamedDependency[AuditStats], request: Request,
                        site: SiteParam = None,
                        comment_id: Annotated[int | None, QueryParameter(ge=1, le=INT64_MAX, required=False)] = None,
                        user_id: Annotated[int | None, QueryParameter(ge=1, le=INT64_MAX, required=False)] = None,
                        moderator: Annotated[str | None, QueryParameter(max_length=300, required=False)] = None,
                        action: Annotated[str | None, QueryParameter(max_length=40, required=False)] = None,
                        article_id: ArticleQuery = None,
                        since: FromQuery[datetime | None] = None,
                        until: FromQuery[datetime | None] = None) -> Stream:
        filters = AuditFilters(comment_id=comment_id, user_id=user_id, moderator=moderator, action=action,
                               article_id=checked_article_id(article_id) if article_id is not None else None,
                               since=since, until=until)
        body = await audit_stats.export_csv(staff_of(request), site, filters)
        # the site is the caller's text (an admin of every site may name any): only a site id's own
        # characters reach the header, never a quote, a CR/LF or a byte outside ASCII
        safe = _FILENAME_UNSAFE.sub("_", site) if site else "all-sites"
        name = f"audit-{safe}-{datetime.now(UTC):%Y%m%d-%H%M}.csv"
        return Stream(body, media_type="text/csv; charset=utf-8",
                      headers={"Content-Disposition": f'attachment; filename="{name}"',
                               "Cache-Control": "private, no-store",
                               "X-Export-Limit": str(EXPORT_MAX_ROWS)})

    @get("/audit/actors", summary="Who acted on the site, the most recently active first (the audit filter's list)")
    async def audit_actors(self, audit_stats: NamedDependency[AuditStats], request: Request,
                           site: SiteParam = None) -> AuditActors:
        return await audit_stats.actors(staff_of(request), site)

    @get("/stats", summary="Moderation statistics per day: automatic and moderators' decisions, reports, waits",
         description=_STATS_DESCRIPTION)
    async def stats(self, audit_stats: NamedDependency[AuditStats], request: Request, site: SiteParam = None,
                    days: Annotated[int, QueryParameter(ge=7, le=90, description="The period, in days.")] = 7
                    ) -> StatsView:
        return await audit_stats.stats(staff_of(request), site, days)
