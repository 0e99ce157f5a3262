"""The SQL of an import: its staging table, and the writes that make one batch of articles' comments
visible together.

Comments read from the file wait in a stage: an UNLOGGED table of the import (``stage_name``), which
costs no WAL, is read by its writers only, and is dropped at the end, or by the next import of the
site when one was stopped (Ctrl-C, a crash, SIGKILL); a dry run's is a TEMP table of its session.
A stopped import leaves nothing readers see but the batches it committed whole.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import asyncpg

from .connection import Connection

STAGED_COLUMNS = ("seq", "article", "source_id", "parent_source", "author_key", "author_name", "author_email",
                  "author_sub", "author_ip", "body_markdown", "body_html", "status", "created_at", "position")
StagedRow = tuple[int, str, str, str | None, str, str, str | None, str | None,
                  ipaddress.IPv4Address | ipaddress.IPv6Address | None, str, str, str, datetime, str]

_STAGE_COLUMNS_SQL = """
    seq bigint NOT NULL, article text NOT NULL, source_id text NOT NULL, parent_source text,
    author_key text NOT NULL, author_name text NOT NULL, author_email text, author_sub text, author_ip inet,
    body_markdown text NOT NULL, body_html text NOT NULL, status text NOT NULL, created_at timestamptz NOT NULL,
    position text NOT NULL"""


def stage_name(site_id: str, *, temporary: bool) -> str:
    """The stage of an import into ``site_id``: a TEMP table for a dry run (one session), else an
    UNLOGGED table of its own name, which the import's writers share."""
    if temporary:
        return "import_staged"
    return "import_stage_" + hashlib.sha256(site_id.encode()).hexdigest()[:20]


_LOCK = "SELECT pg_try_advisory_lock(hashtextextended('comments_service.import:' || $1, 0))"
_UNLOCK = "SELECT pg_advisory_unlock(hashtextextended('comments_service.import:' || $1, 0))"


async def lock_site(conn: Connection, site_id: str) -> bool:
    """One import per site at a time (held by this session until unlock_site or its end)."""
    return bool(await conn.fetchval(_LOCK, site_id))


async def unlock_site(conn: Connection, site_id: str) -> None:
    await conn.fetchval(_UNLOCK, site_id)


async def prepare_session(conn: Connection) -> None:
    """Settings of a connection that writes an import."""
    # the batch queries run thousands of times over a table whose size only the last ANALYZE knows:
    # a generic plan made early would scan the whole stage for every batch
    await conn.execute("SET plan_cache_mode = force_custom_plan")
    # an import's commits need not wait for the disk: a batch lost in a crash is written again by
    # the next run, which finds by source id what did commit
    await conn.execute("SET synchronous_commit = off")
    # history is not news: nobody is told of a comment an import brings (migrations/0014)
    await conn.execute("SET comments_service.outbox = 'off'")


async def check_references_per_batch(conn: Connection) -> bool:
    """Lets this session write without the foreign keys' per-row triggers, when its role may
    (a superuser, or one granted ``SET ON PARAMETER session_replication_role``): each row's three
    checks cost more than its insert with every index. The import vouches for the references
    instead, a batch at a time (``hold_articles``, ``hold_users``, the anchors it reads), taking
    the same locks the triggers take. Our own triggers fire in every role (migration 0013). False:
    the per-row checks stay."""
    try:
        await conn.execute("SET session_replication_role = replica")
    except asyncpg.InsufficientPrivilegeError:
        return False
    return True


async def check_references_per_row(conn: Connection) -> None:
    await conn.execute("RESET session_replication_role")


async def _hold(conn: Connection, table: str, ids: Sequence[int]) -> None:
    wanted = set(ids)
    held = {r[0] for r in await conn.fetch(
        f"SELECT id FROM {table} WHERE id = ANY($1::bigint[]) ORDER BY id FOR KEY SHARE", list(wanted))}
    if held != wanted:
        raise ReferenceGone(f"{len(wanted - held)} of the {table} this batch refers to were deleted meanwhile")


async def hold_articles(conn: Connection, ids: Sequence[int]) -> None:
    """Locks these articles against deletion until the transaction ends (the lock a foreign key
    check takes); ReferenceGone when one is no longer there."""
    await _hold(conn, "articles", ids)


async def hold_users(conn: Connection, ids: Sequence[int]) -> None:
    await _hold(conn, "users", ids)


class ReferenceGone(Exception):
    """A row a batch refers to was deleted while the import wrote: the batch is rolled back."""


async def create_stage(conn: Connection, name: str, *, temporary: bool) -> None:
    """A new, empty stage (a stopped import of the same site may have left its own behind)."""
    await conn.execute(f"DROP TABLE IF EXISTS {name}")
    await conn.execute(f"CREATE {'TEMP' if temporary else 'UNLOGGED'} TABLE {name} ({_STAGE_COLUMNS_SQL})")


async def stage(conn: Connection, name: str, rows: Sequence[StagedRow]) -> None:
    await conn.copy_records_to_table(name, records=rows, columns=STAGED_COLUMNS)


async def index_stage(conn: Connection, name: str) -> None:
    await conn.execute(f"CREATE INDEX ON {name} (article, seq)")
    await conn.execute(f"CREATE UNIQUE INDEX ON {name} (seq)")
    await conn.execute(f"ANALYZE {name}")


async def drop_stage(conn: Connection, name: str) -> None:
    await conn.execute(f"DROP TABLE IF EXISTS {name}")


async def staged_articles(conn: Connection, name: str) -> list[tuple[str, int]]:
    """Each staged article with its number of staged comments, in the order the file named them."""
    rows = await conn.fetch(f"SELECT article, count(*) AS n FROM {name} GROUP BY article ORDER BY min(seq)")
    return [(r["article"], r["n"]) for r in rows]


async def imported_ids(conn: Connection, site_id: str, system: str, chunk: int = 50_000) -> AsyncIterator[list[str]]:
    """The source ids of the site's comments imported from ``system`` before, in chunks."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        cursor = await conn.cursor("SELECT source_id FROM comments WHERE site_id = $1 AND source_system = $2",
                                   site_id, system)
        while True:
            rows = await cursor.fetch(chunk)
            if not rows:
                return
            yield [r[0] for r in rows]


_ENSURE_ARTICLES = """
INSERT INTO articles (site_id, external_id, url, title, comments_open)
SELECT $1, x.e, x.u, x.t, NOT x.c FROM unnest($2::text[], $3::text[], $4::text[], $5::bool[]) AS x(e, u, t, c)
ON CONFLICT (site_id, external_id) DO NOTHING
RETURNING external_id, id"""


async def ensure_articles(conn: Connection, site_id: str,
                          articles: Sequence[tuple[str, str, str, bool]]) -> dict[str, int]:
    """Makes the articles (external id, url, title, closed) the site lacks; every one's row id (one a
    reader's post made meanwhile is found, not made)."""
    if not articles:
        return {}
    ext, urls, titles, closed = (list(col) for col in zip(*articles, strict=True))
    ids = {r[0]: r[1] for r in await conn.fetch(_ENSURE_ARTICLES, site_id, ext, urls, titles, closed)}
    missing = [e for e in ext if e not in ids]
    if missing:
        ids.update(await article_ids(conn, site_id, missing))
    return ids


async def article_ids(conn: Connection, site_id: str, external_ids: Sequence[str]) -> dict[str, int]:
    rows = await conn.fetch("SELECT external_id, id FROM articles WHERE site_id = $1 AND external_id = ANY($2::text[])",
                            site_id, list(external_ids))
    return {r[0]: r[1] for r in rows}


# the batch's staged comments in file order per article, without their bodies (insert_comments
# takes those from the stage itself)
_BATCH = f"""
SELECT {", ".join(f"s.{c}" for c in STAGED_COLUMNS if not c.startswith("body_"))}
FROM {{stage}} s WHERE s.article = ANY($1::text[]) ORDER BY s.article, s.seq"""


async def staged_batch(conn: Connection, name: str, articles: Sequence[str]) -> list[Any]:
    return await conn.fetch(_BATCH.format(stage=name), list(articles))


# the staged comments whose source id an earlier comment of the file, in another thread, has
_REPEATED_SOURCES = """
SELECT seq, source_id, position FROM (
    SELECT seq, source_id, article, position,
           first_value(article) OVER (PARTITION BY source_id ORDER BY seq) AS first_article
    FROM {stage} WHERE source_id IN (SELECT source_id FROM {stage} GROUP BY source_id HAVING count(*) > 1)) x
WHERE article <> first_article"""


async def repeated_sources(conn: Connection, stage_name: str) -> list[Any]:
    """The staged comments (seq, source_id, position) that repeat a source id the file gave first in
    another thread (two in one thread are the plan's to report). One pass over the stage: the
    reader passed over what earlier runs imported, so a source id is written twice only by this."""
    return await conn.fetch(_REPEATED_SOURCES.format(stage=stage_name))


async def anchors(conn: Connection, site_id: str, system: str, source_ids: Sequence[str]) -> list[Any]:
    """Stored comments of the site imported from ``system`` with these source ids."""
    if not source_ids:
        return []
    # locked as a foreign key check locks a parent: the replies written under them keep them
    return await conn.fetch(
        "SELECT source_id, id, article_id, path, status FROM comments "
        "WHERE site_id = $1 AND source_system = $2 AND source_id = ANY($3::text[]) FOR KEY SHARE",
        site_id, system, list(source_ids))


async def sso_subjects_by_email(conn: Connection, site_id: str, emails: Sequence[str]) -> dict[str, str]:
    """lower(email) -> subject of the site's SSO users with one of these emails (the first made, when several)."""
    rows = await conn.fetch(
        "SELECT DISTINCT ON (lower(email)) lower(email), external_id FROM users "
        "WHERE site_id = $1 AND kind = 'sso' AND email IS NOT NULL AND lower(email) = ANY($2::text[]) "
        "ORDER BY lower(email), id", site_id, list(emails))
    return {r[0]: r[1] for r in rows}


_ENSURE_USERS = """
INSERT INTO users (site_id, kind, external_id, display_name, email)
SELECT $1, $2, x.e, x.n, x.m FROM unnest($3::text[], $4::text[], $5::text[]) AS x(e, n, m) ORDER BY x.e
ON CONFLICT (site_id, kind, external_id) DO NOTHING"""
_USER_IDS = "SELECT external_id, id FROM users WHERE site_id = $1 AND kind = $2 AND external_id = ANY($3::text[])"


async def ensure_users(conn: Connection, site_id: str, kind: str,
                       users: dict[str, tuple[str, str | None]]) -> dict[str, int]:
    """external id -> user id for ``users`` (external id -> (name, email)) of ``kind``, made where missing."""
    if not users:
        return {}
    found = {r[0]: r[1] for r in await conn.fetch(_USER_IDS, site_id, kind, list(users))}
    # two writers that both make some of the same users take them in one order
    keys = sorted(k for k in users if k not in found)
    if keys:
        await conn.execute(_ENSURE_USERS, site_id, kind, keys, [users[k][0] for k in keys],
                           [users[k][1] for k in keys])
        found.update((r[0], r[1]) for r in await conn.fetch(_USER_IDS, site_id, kind, keys))
    return found


# Every author of the staged comments, made before any batch is written: a user made inside a
# batch's transaction would hold up, until that batch commits, every other writer whose batch has
# the same author (the authors of a site's threads are mostly the same people). Each is named as
# the first of their comments in the file names them.
_STAGE_SSO_USERS = """
INSERT INTO users (site_id, kind, external_id, display_name, email)
SELECT $1, 'sso', s.author_sub, s.author_name, CASE WHEN $2 THEN s.author_email END
FROM (SELECT DISTINCT ON (author_sub) author_sub, author_name, author_email FROM {stage}
      WHERE author_sub IS NOT NULL ORDER BY author_sub, seq) s
ORDER BY s.author_sub
ON CONFLICT (site_id, kind, external_id) DO NOTHING"""
_STAGE_IMPORTED_USERS = """
INSERT INTO users (site_id, kind, external_id, display_name, email)
SELECT $1, 'imported', s.author_key, s.author_name, CASE WHEN $2 THEN s.author_email END
FROM (SELECT DISTINCT ON (author_key) author_key, author_name, author_email FROM {stage} st
      WHERE author_sub IS NULL
        AND NOT ($3 AND author_email IS NOT NULL AND EXISTS (
            SELECT 1 FROM users u WHERE u.site_id = $1 AND u.kind = 'sso' AND u.email IS NOT NULL
                                    AND lower(u.email) = st.author_email))
      ORDER BY author_key, seq) s
ORDER BY s.author_key
ON CONFLICT (site_id, kind, external_id) DO NOTHING"""


async def ensure_staged_users(conn: Connection, stage_name: str, site_id: str, *, keep_emails: bool,
                              match_email: bool) -> None:
    """The users of the staged comments' authors: the SSO subjects the file or the operator's map
    named, and an imported user for each other author (except, when ``match_email``, those the
    site has an SSO user with the same email for)."""
    async with conn.transaction():
        await conn.execute(_STAGE_SSO_USERS.format(stage=stage_name), site_id, keep_emails)
        await conn.execute(_STAGE_IMPORTED_USERS.format(stage=stage_name), site_id, keep_emails, match_email)
    # the batches look their authors up among what may be many new users: on statistics from before
    # they were made, the planner reads the whole table for each batch
    await conn.execute("ANALYZE users")


async def analyze_comments(conn: Connection) -> None:
    """Statistics of the comments table after a large import: until autovacuum gets to it, the
    planner would plan readers' queries (and the next run's lookups by source id) on a table a
    fraction of its size."""
    await conn.execute("ANALYZE comments")


async def new_comment_ids(conn: Connection, n: int) -> list[int]:
    if n <= 0:
        return []
    rows = await conn.fetch("SELECT nextval(pg_get_serial_sequence('comments', 'id')) FROM generate_series(1, $1)", n)
    return [r[0] for r in rows]


# the planned rows come as arrays, one element per comment; bodies and the rest from the stage by seq
_INSERT_COMMENTS = """
INSERT INTO comments (id, article_id, site_id, parent_id, root_id, depth, path, author_id, body_markdown, body_html,
                      status, status_reason, created_at, author_ip, reply_count, source_system, source_id)
SELECT x.id, x.article_id, $1, x.parent_id, p.path[1], cardinality(p.path) - 1, p.path, x.author_id,
       s.body_markdown, s.body_html, s.status, x.reason, s.created_at, CASE WHEN $3 THEN s.author_ip END,
       x.replies, $2, s.source_id
FROM unnest($4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::text[], $9::bigint[], $10::text[],
            $11::int[]) AS x(seq, id, article_id, parent_id, path_text, author_id, reason, replies)
     CROSS JOIN LATERAL (SELECT x.path_text::bigint[] AS path) p
     -- one probe of the stage's seq index per row (OFFSET 0 keeps the planner from merging the
     -- whole stage in order for every batch: an import's cost would grow with the square of its size)
     CROSS JOIN LATERAL (SELECT * FROM {stage} st WHERE st.seq = x.seq OFFSET 0) s"""


class PlannedRow(NamedTuple):
    seq: int
    id: int
    article_id: int
    parent_id: int | None
    path: list[int]
    author_id: int
    status_reason: str | None
    reply_count: int


async def insert_comments(conn: Connection, stage_name: str, site_id: str, system: str,
                          rows: Sequence[PlannedRow], *, keep_addresses: bool) -> None:
    """Stored comments from staged ones, as planned; ``keep_addresses``: keep the authors' IP addresses."""
    if not rows:
        return
    cols = list(zip(*rows, strict=True))
    paths = ["{" + ",".join(map(str, path)) + "}" for path in cols[4]]
    await conn.execute(_INSERT_COMMENTS.format(stage=stage_name), site_id, system, keep_addresses, list(cols[0]),
                       list(cols[1]), list(cols[2]), list(cols[3]), paths, list(cols[5]), list(cols[6]),
                       list(cols[7]))


_COUNT_ARTICLES = """
UPDATE articles a SET comment_count = a.comment_count + x.n, version = a.version + 1,
    last_root_at = CASE WHEN x.last IS NULL THEN a.last_root_at ELSE GREATEST(a.last_root_at, x.last) END
FROM unnest($1::bigint[], $2::int[], $3::timestamptz[]) AS x(id, n, last) WHERE a.id = x.id"""
_COUNT_REPLIES = """
UPDATE comments c SET reply_count = c.reply_count + x.n
FROM unnest($1::bigint[], $2::int[]) AS x(id, n) WHERE c.id = x.id"""


async def count_articles(conn: Connection, counts: Sequence[tuple[int, int, datetime | None]]) -> None:
    """Per article (id, published comments added, newest published top-level one)."""
    if counts:
        ids, ns, lasts = (list(col) for col in zip(*counts, strict=True))
        await conn.execute(_COUNT_ARTICLES, ids, ns, lasts)


async def count_replies(conn: Connection, replies: dict[int, int]) -> None:
    if replies:
        await conn.execute(_COUNT_REPLIES, list(replies), list(replies.values()))


_QUEUE_SCORING = """
WITH job AS (INSERT INTO scoring_jobs (comment_id, priority) SELECT unnest($1::bigint[]), $2
             ON CONFLICT (comment_id) DO NOTHING RETURNING 1)
SELECT pg_notify('scoring_jobs', '') FROM (SELECT 1 FROM job LIMIT 1) one"""


async def queue_scoring(conn: Connection, comment_ids: Sequence[int], priority: int) -> None:
    if comment_ids:
        await conn.execute(_QUEUE_SCORING, list(comment_ids), priority)
