"""Featured comments and pins: the moderators' writes and their list. Readers get both on the
thread's first page, read in the page's own statement (db/comments.THREAD_PAGE)."""

from __future__ import annotations

from datetime import datetime

import asyncpg
import msgspec

from ..domain.structs import Struct
from .connection import Connection

# consoles hear of picks and pins at commit (NOTIFY is transactional), as they hear of the queues
FEATURED_CHANNEL = "moderation_featured"

# The comment with what featuring it needs to know. FOR SHARE when pinning: the comment then cannot
# change status before the pin commits (a rejection waits, and its trigger then drops the pin); the
# comment's row is taken before the article's, the order a status change takes them in
# (migrations/0007_featured.sql).
_COMMENT = """SELECT c.id, c.article_id, c.author_id, c.status, c.featured_at, c.featured_by, a.site_id,
    a.external_id, a.pinned_comment_id
FROM comments c JOIN articles a ON a.id = c.article_id WHERE c.id = $1"""
COMMENT_FOR_UPDATE = _COMMENT + " FOR UPDATE OF c"
COMMENT_FOR_SHARE = _COMMENT + " FOR SHARE OF c"
ARTICLE = "SELECT id, site_id, external_id, pinned_comment_id FROM articles WHERE site_id = $1 AND external_id = $2"
# published picks only: what readers see, and what the limit counts
COUNT_FEATURED = """SELECT count(*) FROM comments
WHERE article_id = $1 AND featured_at IS NOT NULL AND status = 'published'"""
SET_FEATURED = "UPDATE comments SET featured_at = now(), featured_by = $2 WHERE id = $1 RETURNING featured_at"
CLEAR_FEATURED = "UPDATE comments SET featured_at = NULL, featured_by = NULL WHERE id = $1"
SET_PIN = "UPDATE articles SET pinned_comment_id = $2 WHERE id = $1"
PICKS = """SELECT id, featured_at, featured_by FROM comments
WHERE article_id = $1 AND featured_at IS NOT NULL AND status = 'published'
ORDER BY featured_at DESC, id DESC LIMIT $2"""


class FeaturedNote(Struct, frozen=True):
    """What a console is told at commit (short names, like db/moderation_events.QueueChange): site,
    article (the site's id), comment, whether it is featured and whether it is pinned now."""

    s: str
    a: str
    c: int
    f: bool
    p: bool


_encoder = msgspec.json.Encoder()


async def comment(conn: Connection, comment_id: int, *, share: bool = False) -> asyncpg.Record | None:
    return await conn.fetchrow(COMMENT_FOR_SHARE if share else COMMENT_FOR_UPDATE, comment_id)


async def article(conn: Connection, site_id: str, external_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(ARTICLE, site_id, external_id)


async def count_featured(conn: Connection, article_id: int) -> int:
    return await conn.fetchval(COUNT_FEATURED, article_id)


async def set_featured(conn: Connection, comment_id: int, by: str) -> datetime:
    return await conn.fetchval(SET_FEATURED, comment_id, by)


async def clear_featured(conn: Connection, comment_id: int) -> None:
    await conn.execute(CLEAR_FEATURED, comment_id)


async def set_pin(conn: Connection, article_id: int, comment_id: int | None) -> None:
    await conn.execute(SET_PIN, article_id, comment_id)


async def picks(conn: Connection, article_id: int, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(PICKS, article_id, limit)


_featured_note = msgspec.json.Decoder(FeaturedNote)


def featured_note(payload: str) -> FeaturedNote | None:
    try:
        return _featured_note.decode(payload)
    except msgspec.DecodeError:
        return None


async def notify(conn: Connection, note: FeaturedNote) -> None:
    await conn.execute("SELECT pg_notify($1, $2)", FEATURED_CHANNEL, _encoder.encode(note).decode())
