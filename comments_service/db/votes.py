"""Votes: one per reader per comment, changeable; the comment keeps the running totals."""

from __future__ import annotations

from .connection import Connection, one_row

SELECT_FOR_UPDATE = "SELECT value FROM votes WHERE comment_id = $1 AND user_id = $2 FOR UPDATE"
UPSERT = """INSERT INTO votes (comment_id, user_id, value) VALUES ($1, $2, $3)
ON CONFLICT (comment_id, user_id) DO UPDATE SET value = EXCLUDED.value, created_at = now()"""
DELETE = "DELETE FROM votes WHERE comment_id = $1 AND user_id = $2"
APPLY_TOTALS = """UPDATE comments SET upvotes = upvotes + $2, downvotes = downvotes + $3, score = score + $2 - $3
WHERE id = $1 RETURNING score, upvotes, downvotes"""


async def cast(conn: Connection, comment_id: int, user_id: int, value: int) -> tuple[int, int, int]:
    """Set this reader's vote to ``value`` (-1, 0 to withdraw, 1); return (score, upvotes, downvotes)."""
    previous = await conn.fetchval(SELECT_FOR_UPDATE, comment_id, user_id) or 0
    if value == 0:
        await conn.execute(DELETE, comment_id, user_id)
    else:
        await conn.execute(UPSERT, comment_id, user_id, value)
    up = (value == 1) - (previous == 1)
    down = (value == -1) - (previous == -1)
    row = await one_row(conn, APPLY_TOTALS, comment_id, up, down)
    return row["score"], row["upvotes"], row["downvotes"]
