"""Articles: created on first comment from the site's own article id."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from ..domain.models import Article
from .connection import Connection, Row, one_row

COLUMN_NAMES = ("id", "site_id", "external_id", "url", "title", "comments_open", "premoderation", "comment_count",
                "version", "created_at", "last_root_at", "auto_close", "close_at")
_COLUMNS = ", ".join(COLUMN_NAMES)
SELECT_BY_EXTERNAL = f"SELECT {_COLUMNS} FROM articles WHERE site_id = $1 AND external_id = $2"
SELECT_BY_IDS = f"SELECT {_COLUMNS} FROM articles WHERE id = ANY($1::bigint[])"
INSERT_IF_ABSENT = f"""
INSERT INTO articles (site_id, external_id, url, title) VALUES ($1, $2, $3, $4)
ON CONFLICT (site_id, external_id) DO NOTHING RETURNING {_COLUMNS}"""
# How far a new top-level comment may sort before the newest published one (last_root_at, moved by
# comments.INSERT and by the trigger of migrations/0005_counts_at_commit.sql) and still count as an
# append. Transactions commit in an order of their own, not in the order of their created_at (their
# start), so the newest comment is often a few milliseconds older than one already published. The
# window covers that; the same window decides which pages no append can reach (is_lasting): see
# domain/page_parts.py for why that pair is sound.
APPEND_WINDOW = timedelta(seconds=2)
EXTERNAL_ID_OF = "SELECT external_id FROM articles WHERE id = $1"
COUNTS = "SELECT external_id, comment_count FROM articles WHERE site_id = $1 AND external_id = ANY($2::text[])"


def to_article(row: Row) -> Article:
    return Article(id=row["external_id"], title=row["title"], url=row["url"], comments_open=row["comments_open"],
                   premoderation=row["premoderation"], comment_count=row["comment_count"])


async def get_by_external(conn: Connection, site_id: str, external_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(SELECT_BY_EXTERNAL, site_id, external_id)


async def get_or_create(conn: Connection, site_id: str, external_id: str, url: str, title: str) -> asyncpg.Record:
    row = await conn.fetchrow(INSERT_IF_ABSENT, site_id, external_id, url, title)
    if row is None:  # there already: articles are never deleted
        row = await one_row(conn, SELECT_BY_EXTERNAL, site_id, external_id)
    return row


async def by_ids(conn: Connection, article_ids: list[int]) -> dict[int, asyncpg.Record]:
    return {r["id"]: r for r in await conn.fetch(SELECT_BY_IDS, article_ids)}


def is_append(created_at: datetime, last_root_at: datetime | None) -> bool:
    """Whether a top-level comment created at ``created_at``, published, is an append, given the
    article's last_root_at read after that publication committed (it can only have grown since)."""
    return last_root_at is not None and created_at >= last_root_at - APPEND_WINDOW


def is_lasting(last_shown_at: datetime, last_root_at: datetime | None) -> bool:
    """Whether an oldest-first page that has a next page and ends with a comment created at
    ``last_shown_at`` is beyond the reach of every append, given the article's last_root_at read
    in the same snapshot as the page."""
    return last_root_at is not None and last_shown_at < last_root_at - APPEND_WINDOW


async def counts(conn: Connection, site_id: str, external_ids: list[str]) -> dict[str, int]:
    rows = await conn.fetch(COUNTS, site_id, external_ids)
    return {r["external_id"]: r["comment_count"] for r in rows}


async def external_id_of(conn: Connection, article_id: int) -> str | None:
    return await conn.fetchval(EXTERNAL_ID_OF, article_id)


async def by_id(conn: Connection, article_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(SELECT_BY_IDS, [article_id])
