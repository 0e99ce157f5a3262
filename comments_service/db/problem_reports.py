"""Problem reports from the troubleshooter: filed by readers, listed and closed by moderators."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from ..domain.structs import Struct
from .connection import Connection


class ProblemReportRow(Struct):
    id: int
    reference: str
    site_id: str
    user_id: int | None
    user_name: str | None
    article_external_id: str | None
    comment_id: int | None
    description: str
    troubleshoot: dict
    user_agent: str | None
    request_id: str | None
    status: str
    resolution: str | None
    closed_by: str | None
    created_at: datetime
    closed_at: datetime | None


_COLUMNS = """r.id, r.reference, r.site_id, r.user_id, u.display_name AS user_name, r.article_external_id,
    r.comment_id, r.description, r.troubleshoot, r.user_agent, r.request_id, r.status, r.resolution,
    r.closed_by, r.created_at, r.closed_at"""

INSERT = """
INSERT INTO problem_reports (reference, site_id, user_id, article_external_id, comment_id, description,
                             troubleshoot, user_agent, request_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id"""
SELECT_ONE = f"SELECT {_COLUMNS} FROM problem_reports r LEFT JOIN users u ON u.id = r.user_id WHERE r.id = $1"
# keyset page, newest first; $1 NULL = every site (an unscoped admin token), $2 NULL = any status
LIST = f"""
SELECT {_COLUMNS} FROM problem_reports r LEFT JOIN users u ON u.id = r.user_id
WHERE ($1::text IS NULL OR r.site_id = $1) AND ($2::text IS NULL OR r.status = $2) AND r.id < $3
ORDER BY r.id DESC LIMIT $4"""
CLOSE = """
UPDATE problem_reports SET status = 'closed', resolution = $2, closed_by = $3, closed_at = now()
WHERE id = $1 AND status = 'open'"""


def _row(record: asyncpg.Record) -> ProblemReportRow:
    return ProblemReportRow(**{k: record[k] for k in ProblemReportRow.__struct_fields__})


async def insert(conn: Connection, *, reference: str, site_id: str, user_id: int | None,
                 article_external_id: str | None, comment_id: int | None, description: str,
                 troubleshoot: dict, user_agent: str | None, request_id: str | None) -> int:
    return await conn.fetchval(INSERT, reference, site_id, user_id, article_external_id, comment_id, description,
                               troubleshoot, user_agent, request_id)


async def get(conn: Connection, report_id: int) -> ProblemReportRow | None:
    record = await conn.fetchrow(SELECT_ONE, report_id)
    return _row(record) if record else None


async def page(conn: Connection, *, site_id: str | None, status: str | None, before_id: int,
               limit: int) -> list[ProblemReportRow]:
    return [_row(r) for r in await conn.fetch(LIST, site_id, status, before_id, limit)]


async def close(conn: Connection, report_id: int, resolution: str | None, closed_by: str) -> bool:
    return (await conn.execute(CLOSE, report_id, resolution, closed_by)).endswith(" 1")
