"""What the console reports about moderation: the statistics a community editor reports weekly, the
audit log as a CSV download, and who acted on a site (the audit view's moderator filter)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import asyncpg

from ..db import audit as audit_repo
from ..db import stats as stats_repo
from ..domain import moderation as rules
from ..domain.moderation_models import AuditFilters
from ..domain.stats_models import (
    DEFINITIONS,
    AuditActor,
    AuditActors,
    ReasonCount,
    StatsDay,
    StatsTotals,
    StatsView,
    TopReasons,
)
from . import audit_export
from .staff_scope import StaffLike, one_site, scope_of

# a download is bounded: past this many rows it ends with a line saying so
EXPORT_MAX_ROWS = 100_000
EXPORT_PAGE = 1_000
TOP_REASONS = 10
_COUNTS = ("published_auto", "published_by_moderators", "held", "rejected_auto", "rejected_by_moderators",
           "reports", "problem_reports")


class AuditStats:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    # ---------------------------------------------------------------- the audit log
    async def export_csv(self, staff: StaffLike, site_id: str | None,
                         filters: AuditFilters) -> AsyncIterator[bytes]:
        """Checks the caller's sites and reads the first page now, so that a refusal or a value the
        database refuses is an error response and not a broken download; then streams the rest of
        the filtered log, newest first, one page per connection checkout."""
        scope = scope_of(staff, site_id)
        first = await self._page(scope, filters, None, 0)
        return self._csv(scope, filters, first)

    async def _page(self, scope: str | None, filters: AuditFilters, before_id: int | None,
                    sent: int) -> tuple[list[asyncpg.Record], bool]:
        """The next page, and whether the bound is reached with more rows matching."""
        page = min(EXPORT_PAGE, EXPORT_MAX_ROWS - sent)
        at_bound = sent + page >= EXPORT_MAX_ROWS
        async with self.pool.acquire() as conn:
            rows = await audit_repo.query(conn, filters.query(scope, before_id),
                                          page + 1 if at_bound else page)
        return list(rows[:page]), len(rows) > page or (not at_bound and len(rows) == page)

    async def _csv(self, scope: str | None, filters: AuditFilters,
                   first: tuple[list[asyncpg.Record], bool]) -> AsyncIterator[bytes]:
        yield audit_export.lines([list(audit_export.COLUMNS)]).encode()
        batch, more = first
        sent = 0
        while True:
            if batch:
                yield audit_export.lines(audit_export.row_cells(r) for r in batch).encode()
                sent += len(batch)
            if not more:
                return
            if sent >= EXPORT_MAX_ROWS:
                yield audit_export.lines([[f"# truncated: the export stops at {EXPORT_MAX_ROWS} entries; "
                                           "narrow the filters (a shorter date range) for the rest"]]).encode()
                return
            batch, more = await self._page(scope, filters, batch[-1]["id"], sent)

    async def actors(self, staff: StaffLike, site_id: str | None, limit: int = 200) -> AuditActors:
        scope = scope_of(staff, site_id)
        async with self.pool.acquire() as conn:
            rows = await audit_repo.actors(conn, scope, limit)
        return AuditActors(actors=[AuditActor(id=r["actor_id"], name=r["actor_name"], last_action_at=r["created_at"])
                                   for r in rows])

    # ---------------------------------------------------------------- statistics
    async def stats(self, staff: StaffLike, site_id: str | None, days: int, *,
                    today: date | None = None) -> StatsView:
        scope = one_site(staff, site_id, "Statistics are per site: name one with site=.")
        last = today or datetime.now(UTC).date()
        first = last - timedelta(days=days - 1)
        since = datetime.combine(first, time(), UTC)
        until = datetime.combine(last + timedelta(days=1), time(), UTC)
        async with self.pool.acquire() as conn:
            automatic, decisions, reports, problems = await stats_repo.period(conn, scope, since, until)

        per_day: dict[date, dict[str, Any]] = {
            first + timedelta(days=i): dict.fromkeys(_COUNTS, 0) | {"median_hold_to_decision_s": None}
            for i in range(days)}
        auto_name = {"published": "published_auto", "held": "held", "rejected": "rejected_auto"}
        held_reasons: list[ReasonCount] = []
        rejected: list[ReasonCount] = []
        reported: list[ReasonCount] = []
        policy_reasons: dict[tuple[str, str], int] = {}
        for r in automatic:
            per_day[r["day"]][auto_name[r["outcome"]]] += r["n"]
            if r["outcome"] in ("held", "rejected"):
                key = (r["outcome"], r["reason"] or "unknown")
                policy_reasons[key] = policy_reasons.get(key, 0) + r["n"]
        for (outcome, reason), n in policy_reasons.items():
            entry = ReasonCount(reason=reason, label=rules.HOLD_REASONS.get(reason, reason), count=n, by="automatic")
            (held_reasons if outcome == "held" else rejected).append(entry)
        median_all: float | None = None
        for r in decisions:
            median = round(float(r["median_wait"]), 1) if r["median_wait"] is not None else None
            if r["by_day"]:
                day = per_day[r["day"]]
                day["published_by_moderators"] += r["published"]
                day["rejected_by_moderators"] += r["rejected"]
                day["median_hold_to_decision_s"] = median
            elif r["by_reason"]:
                if r["rejected"]:
                    reason = r["reason"] or "unknown"
                    rejected.append(ReasonCount(reason=reason, label=rules.REJECT_REASONS.get(reason, reason),
                                                count=r["rejected"], by="moderators"))
            else:
                median_all = median
        for r in reports:
            if r["by_day"]:
                per_day[r["day"]]["reports"] += r["n"]
            else:
                reason = r["reason"]
                reported.append(ReasonCount(reason=reason, label=rules.REPORT_REASONS.get(reason, reason),
                                            count=r["n"], by="readers"))
        for r in problems:
            per_day[r["day"]]["problem_reports"] += r["n"]

        def top(entries: list[ReasonCount]) -> list[ReasonCount]:
            return sorted(entries, key=lambda e: (-e.count, e.reason, e.by))[:TOP_REASONS]

        rows = [StatsDay(date=d, **values) for d, values in sorted(per_day.items())]
        totals = StatsTotals(**{name: sum(getattr(row, name) for row in rows) for name in _COUNTS},
                             median_hold_to_decision_s=median_all)
        return StatsView(site_id=scope, days=days, since=since, until=until, per_day=rows, totals=totals,
                         top_reasons=TopReasons(rejected=top(rejected), held=top(held_reasons), reported=top(reported)),
                         definitions=DEFINITIONS)
