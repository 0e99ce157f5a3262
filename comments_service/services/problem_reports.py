"""Problem reports: filed by readers through the troubleshooter (with its checks as they stood),
listed and closed by the site's moderators. Each report gets a reference the reader can quote."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

import asyncpg

from ..db import problem_reports as report_repo
from ..domain import cursor as cursors
from ..domain.structs import Struct
from ..errors import DomainError
from .staff_scope import StaffLike, scope_of

_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over the phone
_REFERENCE_TRIES = 3


class Reader(Struct):
    id: int
    name: str | None


class ProblemReportView(Struct):
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


class ProblemReportPage(Struct):
    reports: list[ProblemReportView]
    next_cursor: str | None = None


def new_reference() -> str:
    return "CS-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))


def _view(row: report_repo.ProblemReportRow) -> ProblemReportView:
    stored = row.troubleshoot or {}
    return ProblemReportView(
        id=row.id, reference=row.reference, site=row.site_id, status=row.status, created_at=row.created_at,
        description=row.description, article_id=row.article_external_id, comment_id=row.comment_id,
        reader=Reader(id=row.user_id, name=row.user_name) if row.user_id is not None else None,
        user_agent=row.user_agent, request_id=row.request_id, summary=stored.get("summary"),
        checks=list(stored.get("checks") or []), resolution=row.resolution, closed_by=row.closed_by,
        closed_at=row.closed_at)


class ProblemReports:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def file(self, *, site_id: str, user_id: int | None, external_id: str | None, comment_id: int | None,
                   description: str, troubleshoot: dict[str, Any], user_agent: str | None,
                   request_id: str | None) -> str:
        """Store a report; its reference."""
        async with self.pool.acquire() as conn:
            for _ in range(_REFERENCE_TRIES):
                reference = new_reference()
                try:
                    await report_repo.insert(
                        conn, reference=reference, site_id=site_id, user_id=user_id, article_external_id=external_id,
                        comment_id=comment_id, description=description, troubleshoot=troubleshoot,
                        user_agent=(user_agent or "")[:500] or None, request_id=request_id)
                    return reference
                except asyncpg.UniqueViolationError:
                    continue
        raise RuntimeError("could not allocate a problem report reference")

    async def page(self, staff: StaffLike, *, site_id: str | None, status: str | None, cursor: str | None,
                   limit: int) -> ProblemReportPage:
        """Newest first. ``site_id`` None: every site the staff member may see; ``status`` None: open
        and closed."""
        scope = scope_of(staff, site_id)
        before = cursors.INT64_MAX
        if cursor is not None:
            try:
                before = cursors.decode_id(cursor)
            except cursors.CursorError:
                raise DomainError("invalid_cursor") from None
        async with self.pool.acquire() as conn:
            rows = await report_repo.page(conn, site_id=scope, status=status, before_id=before, limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return ProblemReportPage(reports=[_view(r) for r in rows], next_cursor=str(rows[-1].id) if more else None)

    async def close(self, staff: StaffLike, report_id: int, resolution: str | None) -> ProblemReportView:
        async with self.pool.acquire() as conn, conn.transaction():
            row = await report_repo.get(conn, report_id)
            if row is None or not staff.can_act_on(row.site_id):
                raise DomainError("problem_report_not_found")
            # closing twice keeps the first resolution: two moderators may click at once
            await report_repo.close(conn, report_id, resolution, staff.id)
            row = await report_repo.get(conn, report_id)
        if row is None:  # deleted with its site between the two reads
            raise DomainError("problem_report_not_found")
        return _view(row)
