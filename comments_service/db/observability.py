"""Read-only queries for health, diagnostics and the troubleshooter over the comments table.

The comment status column is the queue's truth whatever the scoring pipeline keeps beside it:
``pending_scoring`` waits for the model, ``held`` waits for a moderator.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ..domain.structs import Struct
from .connection import Connection

QUEUE_DEPTHS = """
SELECT status, count(*) AS n, extract(epoch FROM now() - min(created_at)) AS oldest_seconds
FROM comments WHERE status IN ('pending_scoring', 'held') GROUP BY status"""
SITE_QUEUE_DEPTHS = """
SELECT status, count(*) AS n, extract(epoch FROM now() - min(created_at)) AS oldest_seconds
FROM comments WHERE site_id = $1 AND status IN ('pending_scoring', 'held') GROUP BY status"""
SITE_OPEN_PROBLEM_REPORTS = "SELECT count(*) FROM problem_reports WHERE site_id = $1 AND status = 'open'"
OLDEST_PENDING_SECONDS = """
SELECT extract(epoch FROM now() - min(created_at)) FROM comments WHERE status = 'pending_scoring'"""
# this reader's latest comments on one article: only the author's own rows, only what a reader may know
READER_RECENT = """
SELECT c.id, c.status, c.status_reason, c.created_at FROM comments c
WHERE c.article_id = $1 AND c.author_id = $2 ORDER BY c.created_at DESC, c.id DESC LIMIT $3"""
COMMENT_FACTS = """
SELECT c.id, c.author_id, c.status, c.status_reason, c.created_at, a.site_id, a.external_id AS article_external_id
FROM comments c JOIN articles a ON a.id = c.article_id WHERE c.id = $1"""


class QueueDepth(Struct):
    status: str
    depth: int
    oldest_seconds: float | None


class OwnComment(Struct):
    id: int
    status: str
    status_reason: str | None
    created_at: datetime


class CommentFacts(Struct):
    id: int
    author_id: int
    status: str
    status_reason: str | None
    created_at: datetime
    site_id: str
    article_external_id: str


async def queue_depths(conn: Connection, site_id: str | None = None) -> dict[str, QueueDepth]:
    """Every site's queue, or one site's when ``site_id`` is given."""
    records = await (conn.fetch(QUEUE_DEPTHS) if site_id is None else conn.fetch(SITE_QUEUE_DEPTHS, site_id))
    found = {r["status"]: QueueDepth(status=r["status"], depth=r["n"], oldest_seconds=_seconds(r["oldest_seconds"]))
             for r in records}
    for status in ("pending_scoring", "held"):
        found.setdefault(status, QueueDepth(status=status, depth=0, oldest_seconds=None))
    return found


async def open_problem_reports(conn: Connection, site_id: str) -> int:
    return await conn.fetchval(SITE_OPEN_PROBLEM_REPORTS, site_id)


async def oldest_pending_seconds(conn: Connection) -> float | None:
    return _seconds(await conn.fetchval(OLDEST_PENDING_SECONDS))


def _seconds(value: Decimal | None) -> float | None:
    """An age as extract(epoch ...) gives it (numeric), or None."""
    return float(value) if value is not None else None


async def reader_recent(conn: Connection, article_id: int, author_id: int, limit: int = 10) -> list[OwnComment]:
    return [OwnComment(**dict(r)) for r in await conn.fetch(READER_RECENT, article_id, author_id, limit)]


async def comment_facts(conn: Connection, comment_id: int) -> CommentFacts | None:
    record = await conn.fetchrow(COMMENT_FACTS, comment_id)
    return CommentFacts(**dict(record)) if record else None
