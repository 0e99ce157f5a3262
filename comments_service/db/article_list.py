"""The console's articles: a site's articles with their counts in three orders, and an article's
thread with every status a moderator asks for, in reader order. Indexes: migrations/0009.

Costs at 10,000 articles and 100,000 held comments on one site (EXPLAIN ANALYZE in the module's
tests' notes): the activity order reads two index-only backward steps per article of the site
(comments_article_status_time), the held order one index-only count per article, the newest order
one range of articles_site_newest; each page's own counts are per-article index ranges. A thread
page reads at most ``limit + 1`` top-level comments through ordered ranges per status, and at most
``limit + 1`` rows of each one's subtree (comments_subtree)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

import asyncpg

from .connection import Connection
from .moderation import BAN_IN_FORCE

# the newest published or held comment of article a (NULL: none); one backward index step each
LAST_COMMENT = """GREATEST(
    (SELECT max(c.created_at) FROM comments c WHERE c.article_id = a.id AND c.status = 'published'),
    (SELECT max(c.created_at) FROM comments c WHERE c.article_id = a.id AND c.status = 'held'))"""
HELD_OF = "(SELECT count(*) FROM comments c WHERE c.article_id = a.id AND c.status = 'held')"
REPORTED_OF = """(SELECT count(*) FROM comments c
    WHERE c.article_id = a.id AND c.status = 'published' AND c.open_reports > 0)"""
# the activity key of an article without comments: sorts after every real time, fits a Python datetime
NO_ACTIVITY = "'0001-01-01 00:00:00+00'::timestamptz"
_ARTICLE = """a.id, a.external_id, a.title, a.url, a.comments_open, a.premoderation, a.auto_close, a.close_at,
    a.created_at, a.comment_count"""
_SORT = {"activity": f"coalesce({LAST_COMMENT}, {NO_ACTIVITY})", "newest": "a.created_at", "held": HELD_OF}
# a title containing the words asked for (LIKE's own characters escaped by the caller), or the
# article's own id exactly
_SEARCH = "(a.title ILIKE '%' || $5 || '%' ESCAPE '\\' OR a.external_id = $6)"


@lru_cache(maxsize=16)
def list_sql(sort: str, search: bool) -> str:
    """$1 site, $2 and $3 the keyset (key, id) to start after, $4 the limit, $5 and $6 the search."""
    where = ["a.site_id = $1"]
    if search:
        where.append(_SEARCH)
    if sort == "newest":  # one range of articles_site_newest
        keyed = f"""SELECT {_ARTICLE}, a.created_at AS sort_key FROM articles a
    WHERE {' AND '.join(where)} AND (a.created_at, a.id) < ($2, $3)"""
    else:
        # every article's key computed once (OFFSET 0 keeps the subquery whole: flattened, the
        # planner would compute the key again for the keyset filter and for the order)
        keyed = f"""SELECT * FROM (SELECT {_ARTICLE}, {_SORT[sort]} AS sort_key FROM articles a
        WHERE {' AND '.join(where)} OFFSET 0) a
    WHERE (a.sort_key, a.id) < ($2, $3)"""
    return f"""
WITH page AS (
    {keyed}
    ORDER BY sort_key DESC, id DESC LIMIT $4)
SELECT a.*, {HELD_OF} AS held, {REPORTED_OF} AS reported, {LAST_COMMENT} AS last_comment_at
FROM page a ORDER BY a.sort_key DESC, a.id DESC"""


ARTICLE = f"""SELECT {_ARTICLE}, {HELD_OF} AS held, {REPORTED_OF} AS reported, {LAST_COMMENT} AS last_comment_at,
    a.pinned_comment_id
FROM articles a WHERE a.site_id = $1 AND a.external_id = $2"""


def like_pattern(text: str) -> str:
    """``text`` matched literally inside a LIKE pattern (ESCAPE '\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def page(conn: Connection, site_id: str, sort: str, *, after: tuple[object, int], query: str | None,
               limit: int) -> list[asyncpg.Record]:
    search = (like_pattern(query), query) if query is not None else ()
    return await conn.fetch(list_sql(sort, query is not None), site_id, after[0], after[1], limit, *search)


async def article(conn: Connection, site_id: str, external_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(ARTICLE, site_id, external_id)


# ------------------------------------------------------------------ the thread
# A deleted comment shows only where replies hang under it, as readers see it.
_SHOWN = "(c.status <> 'deleted' OR c.reply_count > 0)"
_ROOT_STATUSES = {"published": "c.status IN ('published', 'deleted')",  # comments_top_oldest's own predicate
                  "held": "c.status = 'held'", "pending_scoring": "c.status = 'pending_scoring'",
                  "rejected": "c.status = 'rejected'"}


@lru_cache(maxsize=8)
def thread_sql(statuses: tuple[str, ...]) -> str:
    """$1 the article's row id, $2 and $3 the top-level comment to start from ((created_at, id), that
    one included), $4 the path within it to start after, $5 the rows wanted, $6 the statuses shown.

    The top-level comments come as one ordered range per status, merged; under each, its subtree in
    path order (depth-first, siblings oldest first), as readers' replies read."""
    ranges = "\n    UNION ALL\n    ".join(
        f"""(SELECT c.id, c.created_at FROM comments c WHERE c.article_id = $1 AND c.parent_id IS NULL
        AND {_ROOT_STATUSES[s]} AND {_SHOWN} AND (c.created_at, c.id) >= ($2, $3)
     ORDER BY c.created_at, c.id LIMIT $5)""" for s in ("published", *statuses))
    return f"""
WITH roots AS (
    SELECT r.id, r.created_at, row_number() OVER (ORDER BY r.created_at, r.id) AS ord FROM (
    {ranges}) r ORDER BY r.created_at, r.id LIMIT $5),
shown AS (
    SELECT r.ord, r.created_at AS root_created_at, t.* FROM roots r CROSS JOIN LATERAL (
        SELECT c.id, c.root_id, c.path FROM comments c
        WHERE c.root_id = r.id AND c.path > CASE WHEN r.id = $3 THEN $4::bigint[] ELSE '{{}}'::bigint[] END
            AND c.status = ANY($6::text[]) AND {_SHOWN}
        ORDER BY c.path LIMIT $5) t
    ORDER BY r.ord, t.path LIMIT $5)
SELECT s.root_created_at, c.id, c.parent_id, c.depth, c.path, c.status, c.status_reason, c.body_html,
    c.created_at, c.edited_at, c.reply_count, c.score, c.upvotes, c.downvotes, c.open_reports, c.toxicity,
    c.moderated_at, c.moderated_by, c.featured_at IS NOT NULL AS featured,
    u.id AS author_id, u.display_name AS author_name, u.kind AS author_kind, u.trusted, u.premoderate,
    (b.user_id IS NOT NULL) AS banned
FROM shown s JOIN comments c ON c.id = s.id JOIN users u ON u.id = c.author_id
LEFT JOIN bans b ON b.site_id = c.site_id AND b.user_id = c.author_id AND {BAN_IN_FORCE}
ORDER BY s.ord, s.path"""


async def thread(conn: Connection, article_id: int, statuses: tuple[str, ...], *,
                 start: tuple[datetime, int, list[int]], limit: int) -> list[asyncpg.Record]:
    """Up to ``limit`` comments of the article in reader order from ``start`` (the top-level
    comment's created_at and id, and the path to start after within it), readers' own and those of
    ``statuses`` (held, pending_scoring, rejected)."""
    shown = ("published", "deleted", *statuses)
    return await conn.fetch(thread_sql(statuses), article_id, start[0], start[1], start[2], limit, list(shown))
