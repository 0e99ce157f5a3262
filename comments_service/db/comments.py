"""Comments: the thread reads (keyset pages, replies per parent) and the single-row writes."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from ..domain.featured_models import MAX_FEATURED, ThreadPicks
from ..domain.models import CommentRow
from . import articles as article_repo
from .connection import Connection, one_row

_COLUMNS = """c.id, c.article_id, c.parent_id, c.root_id, c.depth, c.path, c.author_id,
    u.display_name AS author_name, c.body_markdown, c.body_html, c.status, c.status_reason,
    c.reply_count, c.score, c.upvotes, c.downvotes, c.created_at, c.edited_at, c.deleted_at"""
# readers see published comments, and deleted ones only where replies hang under them
_VISIBLE = "c.status IN ('published', 'deleted') AND (c.status = 'published' OR c.reply_count > 0)"

SELECT_ONE = f"SELECT {_COLUMNS} FROM comments c JOIN users u ON u.id = c.author_id WHERE c.id = $1"
SELECT_ONE_FOR_UPDATE = SELECT_ONE + " FOR UPDATE OF c"
# the first $2 replies of each parent, oldest first, each parent read through its own index range
CHILDREN_OF = f"""
SELECT r.* FROM unnest($1::bigint[]) AS p(id) CROSS JOIN LATERAL (
    SELECT {_COLUMNS} FROM comments c JOIN users u ON u.id = c.author_id
    WHERE c.parent_id = p.id AND {_VISIBLE}
    ORDER BY c.created_at, c.id LIMIT $2) r"""

# A whole first-level thread page in one statement (one round trip): the article, the top-level
# page (one row more than asked, for the next cursor), and the first N replies of each shown
# comment, level by level down to ``levels`` below it, each parent read through its own index
# range (comments_replies) as CHILDREN_OF does. The article comes first as a header row (lvl -1)
# whose comment columns are NULL; comment rows carry NULL article columns. No row: no article.
# On a first page ($9) the article's pinned comment (lvl -1, ord 1) and its picks, newest pick first
# (lvl -1, ord 2 on), published ones only, follow the header (migrations/0007_featured.sql).
_COMMENT_TYPES = (("id", "bigint"), ("article_id", "bigint"), ("parent_id", "bigint"), ("root_id", "bigint"),
                  ("depth", "smallint"), ("path", "bigint[]"), ("author_id", "bigint"), ("author_name", "text"),
                  ("body_markdown", "text"), ("body_html", "text"), ("status", "text"), ("status_reason", "text"),
                  ("reply_count", "integer"), ("score", "integer"), ("upvotes", "integer"), ("downvotes", "integer"),
                  ("created_at", "timestamptz"), ("edited_at", "timestamptz"), ("deleted_at", "timestamptz"))
# the SQL type of each of articles.COLUMN_NAMES (for the NULL columns above): a column added there
# and not here stops the import
_ARTICLE_SQL_TYPES = {"id": "bigint", "site_id": "text", "external_id": "text", "url": "text", "title": "text",
                      "comments_open": "boolean", "premoderation": "boolean", "comment_count": "integer",
                      "version": "bigint", "created_at": "timestamptz", "last_root_at": "timestamptz",
                      "auto_close": "boolean", "close_at": "timestamptz"}
_ARTICLE_TYPES = tuple((name, _ARTICLE_SQL_TYPES[name]) for name in article_repo.COLUMN_NAMES)
ARTICLE_FIELDS = article_repo.COLUMN_NAMES
_TOP_ORDER = {"oldest": ("c.created_at, c.id", "(c.created_at, c.id) > ($3, $4)"),
              "newest": ("c.created_at DESC, c.id DESC", "(c.created_at, c.id) < ($3, $4)"),
              "top": ("c.score DESC, c.id DESC", "(c.score, c.id) < ($3, $4)")}


def _thread_page_sql(sort: str) -> str:
    order, keyset = _TOP_ORDER[sort]
    tree_cols = ", ".join(f"t.{n}" for n, _ in _COMMENT_TYPES)
    pick_cols = ", ".join(f"p.{n}" for n, _ in _COMMENT_TYPES)
    null_comment = ", ".join(f"NULL::{t} AS {n}" for n, t in _COMMENT_TYPES)
    article_cols = ", ".join(f"a.{n} AS a_{n}" for n, _ in _ARTICLE_TYPES)
    null_article = ", ".join(f"NULL::{t} AS a_{n}" for n, t in _ARTICLE_TYPES)
    return f"""
WITH RECURSIVE
art AS (SELECT {", ".join(ARTICLE_FIELDS)}, pinned_comment_id FROM articles WHERE site_id = $1 AND external_id = $2),
roots AS (
    SELECT {_COLUMNS}, row_number() OVER (ORDER BY {order}) AS ord
    FROM comments c JOIN users u ON u.id = c.author_id
    WHERE c.article_id = (SELECT id FROM art) AND c.parent_id IS NULL AND {_VISIBLE} AND {keyset}
    ORDER BY {order} LIMIT $5),
tree AS (
    SELECT r.*, 0 AS lvl FROM roots r
    UNION ALL
    SELECT ch.*, 0::bigint, t.lvl + 1 FROM tree t CROSS JOIN LATERAL (
        SELECT {_COLUMNS} FROM comments c JOIN users u ON u.id = c.author_id
        WHERE c.parent_id = t.id AND {_VISIBLE}
        ORDER BY c.created_at, c.id LIMIT $6) ch
    WHERE t.reply_count > 0 AND t.lvl < $7 AND (t.lvl > 0 OR t.ord <= $8)),
picks AS (
    SELECT {_COLUMNS}, 1::bigint AS ord FROM comments c JOIN users u ON u.id = c.author_id
    WHERE $9 AND c.id = (SELECT pinned_comment_id FROM art) AND c.status = 'published'
    UNION ALL
    (SELECT {_COLUMNS}, 1 + row_number() OVER (ORDER BY c.featured_at DESC, c.id DESC)
     FROM comments c JOIN users u ON u.id = c.author_id
     WHERE $9 AND c.article_id = (SELECT id FROM art) AND c.featured_at IS NOT NULL AND c.status = 'published'
     ORDER BY c.featured_at DESC, c.id DESC LIMIT $10))
SELECT -1 AS lvl, 0::bigint AS ord, {null_comment}, {article_cols} FROM art a
UNION ALL
SELECT -1, p.ord, {pick_cols}, {null_article} FROM picks p
UNION ALL
SELECT t.lvl, t.ord, {tree_cols}, {null_article} FROM tree t
ORDER BY lvl, ord"""


THREAD_PAGE = {sort: _thread_page_sql(sort) for sort in _TOP_ORDER}
# A comment, and when it is published at once the counters that follow it, in one statement
# (count_visibility of migrations/0005_counts_at_commit.sql, whose trigger moves the same counters
# on later status changes). Run on its own (no transaction around it), the article's row is locked
# only while the statement commits. Returns the comment's columns, and the article's as the count
# left them (a_*; NULL when not published). The address travels as text and PostgreSQL parses it:
# asyncpg's own inet encoding goes through Python's ipaddress (10-20 µs a statement, BENCHMARKS.md).
INSERT = f"""
WITH new AS (SELECT nextval(pg_get_serial_sequence('comments', 'id')) AS id),
inserted AS (
    INSERT INTO comments (id, article_id, parent_id, root_id, depth, path, author_id, body_markdown, body_html,
                          status, status_reason, author_ip)
    SELECT new.id, $1, $2, coalesce($3, new.id), $4, $5::bigint[] || new.id, $6, $7, $8, $9, $10, $11::text::inet
    FROM new
    RETURNING *),
counted AS (
    SELECT {", ".join(f"a.{n} AS a_{n}" for n in ARTICLE_FIELDS)} FROM inserted i,
        count_visibility(i.article_id, i.parent_id, i.created_at, (i.status = 'published')::integer) a)
SELECT {_COLUMNS}, counted.* FROM inserted c JOIN users u ON u.id = c.author_id LEFT JOIN counted ON true"""
REPLIES_PAGE = f"""
SELECT {_COLUMNS} FROM comments c JOIN users u ON u.id = c.author_id
WHERE c.parent_id = $1 AND {_VISIBLE} AND (c.created_at, c.id) > ($2, $3)
ORDER BY c.created_at, c.id LIMIT $4"""
# a signed-in reader's first page reads this on every view: the article and the reader's user row
# are looked up in the same statement (one round trip). $3: the reader's user id when known (a
# guest's token carries it), else their SSO subject ($5) on their site ($4)
OWN_UNPUBLISHED = f"""
SELECT {_COLUMNS} FROM comments c JOIN users u ON u.id = c.author_id
WHERE c.article_id = (SELECT id FROM articles WHERE site_id = $1 AND external_id = $2)
  AND c.author_id = coalesce($3::bigint,
                             (SELECT id FROM users WHERE site_id = $4 AND kind = 'sso' AND external_id = $5))
  AND c.status IN ('pending_scoring', 'held')
ORDER BY c.created_at, c.id LIMIT 50"""
UPDATE_BODY = "UPDATE comments SET body_markdown = $2, body_html = $3, edited_at = now() WHERE id = $1"
SET_STATUS = """UPDATE comments SET status = $2, status_reason = $3,
    deleted_at = CASE WHEN $2 = 'deleted' THEN now() ELSE deleted_at END WHERE id = $1"""


def to_row(record: asyncpg.Record) -> CommentRow:
    return CommentRow(**{k: record[k] for k in CommentRow.__struct_fields__})


async def insert(conn: Connection, *, article_id: int, parent: CommentRow | None, author_id: int,
                 body_markdown: str, body_html: str, status: str, status_reason: str | None,
                 author_ip: str | None) -> tuple[CommentRow, dict | None]:
    """The comment as stored, and when it was published at once the article's row (a dict of the
    articles columns) as the count left it."""
    record = await one_row(
        conn, INSERT, article_id, parent.id if parent else None, parent.root_id if parent else None,
        parent.depth + 1 if parent else 0, parent.path if parent else [], author_id, body_markdown, body_html,
        status, status_reason, author_ip,
    )
    article = {name: record[f"a_{name}"] for name in ARTICLE_FIELDS} if record["a_id"] is not None else None
    return to_row(record), article


async def get(conn: Connection, comment_id: int, *, for_update: bool = False) -> CommentRow | None:
    record = await conn.fetchrow(SELECT_ONE_FOR_UPDATE if for_update else SELECT_ONE, comment_id)
    return to_row(record) if record else None


async def children_of(conn: Connection, parent_ids: list[int], per_parent: int) -> list[CommentRow]:
    if not parent_ids or per_parent <= 0:
        return []
    return [to_row(r) for r in await conn.fetch(CHILDREN_OF, parent_ids, per_parent)]


async def thread_page(conn: Connection, site_id: str, external_id: str, sort: str, after: tuple,
                      limit: int, per_parent: int, levels: int, *, first_page: bool = False
                      ) -> tuple[dict | None, list[CommentRow], list[CommentRow], ThreadPicks]:
    """The article (as a dict of the articles columns), up to ``limit + 1`` top-level comments in
    page order, the replies shown under the first ``limit`` of them (any order), and on a
    ``first_page`` the article's pinned comment and picks."""
    records = await conn.fetch(THREAD_PAGE[sort], site_id, external_id, after[0], after[1], limit + 1,
                               max(per_parent, 0), max(levels, 0), limit, first_page, MAX_FEATURED)
    if not records:
        return None, [], [], ThreadPicks()
    head = records[0]
    article = {name: head[f"a_{name}"] for name in ARTICLE_FIELDS}
    roots: list[CommentRow] = []
    replies: list[CommentRow] = []
    pinned: CommentRow | None = None
    featured: list[CommentRow] = []
    for r in records[1:]:
        if r["lvl"] == -1:
            if r["ord"] == 1:
                pinned = to_row(r)
            else:
                featured.append(to_row(r))
        else:
            (roots if r["lvl"] == 0 else replies).append(to_row(r))
    return article, roots, replies, ThreadPicks(pinned=pinned, featured=featured)


async def replies_page(conn: Connection, parent_id: int, after: tuple[datetime, int], limit: int) -> list[CommentRow]:
    return [to_row(r) for r in await conn.fetch(REPLIES_PAGE, parent_id, after[0], after[1], limit)]


async def own_unpublished(conn: Connection, site_id: str, external_id: str, user_id: int | None,
                          sso_site_id: str, sso_subject: str | None) -> list[CommentRow]:
    """A reader's comments awaiting review on an article: the reader named by ``user_id``, or when
    that is None by their SSO subject on ``sso_site_id`` (None: no one, so nothing)."""
    return [to_row(r) for r in await conn.fetch(OWN_UNPUBLISHED, site_id, external_id, user_id, sso_site_id,
                                                 sso_subject)]


async def update_body(conn: Connection, comment_id: int, body_markdown: str, body_html: str) -> None:
    await conn.execute(UPDATE_BODY, comment_id, body_markdown, body_html)


async def set_status(conn: Connection, comment_id: int, status: str, reason: str | None) -> None:
    await conn.execute(SET_STATUS, comment_id, status, reason)
