"""Reader reports: at most one per comment per reader; open ones feed the reported queue."""

from __future__ import annotations

from .connection import Connection

INSERT = """INSERT INTO reports (comment_id, reporter_id, reason, note) VALUES ($1, $2, $3, $4)
ON CONFLICT (comment_id, reporter_id) DO NOTHING RETURNING id"""
COUNT_OPEN = """UPDATE comments SET open_reports = open_reports + 1, reported_at = coalesce(reported_at, now())
WHERE id = $1 RETURNING open_reports"""


async def add(conn: Connection, comment_id: int, reporter_id: int, reason: str, note: str | None) -> bool:
    """True when this is the reader's first report of the comment."""
    if await conn.fetchval(INSERT, comment_id, reporter_id, reason, note) is None:
        return False
    await conn.fetchval(COUNT_OPEN, comment_id)
    return True
