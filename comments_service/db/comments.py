"""Comments: the thread reads (keyset pages, replies per parent) and the single-row writes."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from ..domain.models import CommentRow

_COLUMNS = """c.id, c.article_id, c.parent_id, c.root_id, c.depth, c.path, c.author_id,
    u.display_name AS author_name, c.body_markdown, c.body_html, c.status, c.status_reason,
    c.reply_count, c.score, c.upvotes, c.downvotes, c.created_at, c.edited_at, c.deleted_at"""
# readers see published comments, and deleted ones only where replies hang under them
_VISIBLE = "c.status IN ('published', 'deleted') AND (c.status = 'published' OR c.reply_count > 0)"

INSERT = f"""
WITH new AS (SELECT nextval(pg_get_serial_sequence('comments', 'id')) AS id),
inserted AS (
    INSERT INTO comments (id, article_id, parent_id, root_id, depth, path, author_id, body_markdown, body_html,
                          status, status_reason, author_ip)
    SELECT new.id, $1, $2, coalesce($3, new.id), $4, $5::bigint[] || new.id, $6, $7, $8, $9, $10, $11 FROM new
    RETURNING *)
SELECT {_COLUMNS} FROM inserted c JOIN users u ON u.id = c.author_id"""
SELECT_ONE = f"SELECT {_COLUMNS} FROM comments c JOIN users u ON u.id = c.author_id WHERE c.id = $1"
SELECT_ONE_FOR_UPDATE = SELECT_ONE + " FOR UPDATE OF c"
TOP_PAGE = {
    "oldest": f"""SELECT {_COLUMNS} FROM comments c JOIN users u ON u.id = c.author_id
        WHERE c.article_id = $1 AND c.parent_id IS NULL AND {_VISIBLE} AND (c.created_at, c.id) > ($2, $3)
        ORDER BY c.created_at, c.id LIMIT $4""",
    "newest": f"""SELECT {_COLUMNS} FROM comments c JOIN users u ON u.id = c.author_id
        WHERE c.article_id = $1 AND c.parent_id IS NULL AND {_VISIBLE} AND (c.created_at, c.id) < ($2, $3)
        ORDER BY c.created_at DESC, c.id DESC LIMIT $4""",
    "top": f"""SELECT {_COLUMNS} FROM comments c JOIN users u ON u.id = c.author_id
        WHERE c.article_id = $1 AND c.parent_id IS NULL AND {_VISIBLE} AND (c.score, c.id) < ($2, $3)
        ORDER BY c.score DESC, c.id DESC LIMIT $4""",
}
# the first $2 replies of each parent, oldest first, each parent read through its own index range
CHILDREN_OF = f"""
SELECT r.* FROM unnest($1::bigint[]) AS p(id) CROSS JOIN LATERAL (
    SELECT {_COLUMNS} FROM comments c JOIN users u ON u.id = c.author_id
    WHERE c.parent_id = p.id AND {_VISIBLE}
    ORDER BY c.created_at, c.id LIMIT $2) r"""
REPLIES_PAGE = f"""
SELECT {_COLUMNS} FROM comments c JOIN users u ON u.id = c.author_id
WHERE c.parent_id = $1 AND {_VISIBLE} AND (c.created_at, c.id) > ($2, $3)
ORDER BY c.created_at, c.id LIMIT $4"""
OWN_UNPUBLISHED = f"""
SELECT {_COLUMNS} FROM comments c JOIN users u ON u.id = c.author_id
WHERE c.article_id = $1 AND c.author_id = $2 AND c.status IN ('pending_scoring', 'held')
ORDER BY c.created_at, c.id LIMIT 50"""
UPDATE_BODY = "UPDATE comments SET body_markdown = $2, body_html = $3, edited_at = now() WHERE id = $1"
SET_STATUS = "UPDATE comments SET status = $2, status_reason = $3, deleted_at = CASE WHEN $2 = 'deleted' THEN now() ELSE deleted_at END WHERE id = $1"
ADJUST_REPLY_COUNT = "UPDATE comments SET reply_count = reply_count + $2 WHERE id = $1"


def to_row(record: asyncpg.Record) -> CommentRow:
    return CommentRow(**{k: record[k] for k in CommentRow.__struct_fields__})


async def insert(conn: asyncpg.Connection, *, article_id: int, parent: CommentRow | None, author_id: int,
                 body_markdown: str, body_html: str, status: str, status_reason: str | None,
                 author_ip: str | None) -> CommentRow:
    record = await conn.fetchrow(
        INSERT, article_id, parent.id if parent else None, parent.root_id if parent else None,
        parent.depth + 1 if parent else 0, parent.path if parent else [], author_id, body_markdown, body_html,
        status, status_reason, author_ip,
    )
    return to_row(record)


async def get(conn: asyncpg.Connection, comment_id: int, *, for_update: bool = False) -> CommentRow | None:
    record = await conn.fetchrow(SELECT_ONE_FOR_UPDATE if for_update else SELECT_ONE, comment_id)
    return to_row(record) if record else None


async def top_page(conn: asyncpg.Connection, article_id: int, sort: str, after: tuple, limit: int) -> list[CommentRow]:
    return [to_row(r) for r in await conn.fetch(TOP_PAGE[sort], article_id, after[0], after[1], limit)]


async def children_of(conn: asyncpg.Connection, parent_ids: list[int], per_parent: int) -> list[CommentRow]:
    if not parent_ids or per_parent <= 0:
        return []
    return [to_row(r) for r in await conn.fetch(CHILDREN_OF, parent_ids, per_parent)]


async def replies_page(conn: asyncpg.Connection, parent_id: int, after: tuple[datetime, int], limit: int) -> list[CommentRow]:
    return [to_row(r) for r in await conn.fetch(REPLIES_PAGE, parent_id, after[0], after[1], limit)]


async def own_unpublished(conn: asyncpg.Connection, article_id: int, author_id: int) -> list[CommentRow]:
    return [to_row(r) for r in await conn.fetch(OWN_UNPUBLISHED, article_id, author_id)]


async def update_body(conn: asyncpg.Connection, comment_id: int, body_markdown: str, body_html: str) -> None:
    await conn.execute(UPDATE_BODY, comment_id, body_markdown, body_html)


async def set_status(conn: asyncpg.Connection, comment_id: int, status: str, reason: str | None) -> None:
    await conn.execute(SET_STATUS, comment_id, status, reason)


async def adjust_reply_count(conn: asyncpg.Connection, comment_id: int, delta: int) -> None:
    await conn.execute(ADJUST_REPLY_COUNT, comment_id, delta)
