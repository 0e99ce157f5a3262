"""Row-level dump and restore of the tables that make up a site's threads.

Rows travel as ``to_jsonb(row)`` and come back through ``jsonb_populate_recordset``, so every column
(including those later migrations add) round-trips with its type: bigint[] paths, inet, timestamptz,
jsonb, bytea (as PostgreSQL's hex text).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import asyncpg

from .connection import Connection

# table -> (filter for one site, filter for one article of it); $1 = site id, $2 = article external id
_SCOPES: dict[str, tuple[str, str]] = {
    "sites": ("t.id = $1", "t.id = $1 AND $2::text IS NOT NULL"),
    "articles": ("t.site_id = $1", "t.site_id = $1 AND t.external_id = $2"),
    "comments": ("t.article_id IN (SELECT id FROM articles WHERE site_id = $1)",
                 "t.article_id IN (SELECT id FROM articles WHERE site_id = $1 AND external_id = $2)"),
    "users": ("t.site_id = $1",
              """t.id IN (SELECT c.author_id FROM comments c JOIN articles a ON a.id = c.article_id
                          WHERE a.site_id = $1 AND a.external_id = $2
                          UNION SELECT v.user_id FROM votes v JOIN comments c ON c.id = v.comment_id
                          JOIN articles a ON a.id = c.article_id WHERE a.site_id = $1 AND a.external_id = $2)"""),
    "votes": ("t.comment_id IN (SELECT c.id FROM comments c JOIN articles a ON a.id = c.article_id "
              "WHERE a.site_id = $1)",
              "t.comment_id IN (SELECT c.id FROM comments c JOIN articles a ON a.id = c.article_id "
              "WHERE a.site_id = $1 AND a.external_id = $2)"),
}
# restore order (foreign keys) and the order of rows inside a table (parents before replies)
TABLES = ["sites", "users", "articles", "comments", "votes"]
_ORDER = {"sites": "t.id", "users": "t.id", "articles": "t.id", "comments": "t.depth, t.id",
          "votes": "t.comment_id, t.user_id"}
_SEQUENCES = {"users": "id", "articles": "id", "comments": "id"}


async def schema_version(conn: Connection) -> int:
    if not await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL"):
        return 0
    return await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations")


async def dump(conn: Connection, table: str, site_id: str, external_id: str | None) -> list[dict]:
    where = _SCOPES[table][0 if external_id is None else 1]
    args = [site_id] if external_id is None else [site_id, external_id]
    sql = (f"SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY {_ORDER[table]}), '[]'::jsonb)::text "
           f"FROM {table} t WHERE {where}")
    import json

    return json.loads(await conn.fetchval(sql, *args))


async def restore(conn: Connection, table: str, rows: list[dict]) -> int:
    if not rows:
        return 0
    import json

    await conn.execute(f"INSERT INTO {table} SELECT * FROM jsonb_populate_recordset(NULL::{table}, $1::text::jsonb)",
                       json.dumps(rows))
    return len(rows)


async def advance_sequences(conn: Connection) -> None:
    """Restored rows keep their ids; new rows must not collide with them."""
    for table, column in _SEQUENCES.items():
        await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                           f"greatest(coalesce((SELECT max({column}) FROM {table}), 0), 1))")


async def existing(conn: Connection, table: str, ids: list) -> int:
    key = "comment_id" if table == "votes" else "id"
    if table == "votes" or not ids:
        return 0
    cast = "text" if table == "sites" else "bigint"
    return await conn.fetchval(f"SELECT count(*) FROM {table} WHERE {key} = ANY($1::{cast}[])", ids)


# One site's articles, each followed by its comments (parents before replies: path order) with their
# authors; an article without comments comes as one row whose comment columns are NULL.
SITE_THREAD_ROWS = """
SELECT a.id AS article_id, a.external_id, a.url, a.title, a.comments_open, a.created_at AS article_created_at,
    c.id AS comment_id, c.parent_id, c.status, c.body_html, c.created_at, host(c.author_ip) AS author_ip,
    u.display_name AS author_name, u.email AS author_email
FROM articles a
LEFT JOIN comments c ON c.article_id = a.id
LEFT JOIN users u ON u.id = c.author_id
WHERE a.site_id = $1
ORDER BY a.id, c.path"""


async def site_thread_rows(conn: Connection, site_id: str, prefetch: int = 2000) -> AsyncGenerator[asyncpg.Record]:
    """SITE_THREAD_ROWS through a server-side cursor, ``prefetch`` rows at a time, so a site of any
    size streams in flat memory. Cursors live in a transaction: the caller opens one (REPEATABLE READ
    read-only, so the whole stream is one snapshot)."""
    async for row in conn.cursor(SITE_THREAD_ROWS, site_id, prefetch=prefetch):
        yield row
