"""Articles: created on first comment from the site's own article id."""

from __future__ import annotations

import asyncpg

from ..domain.models import Article
from . import users as user_repo

_COLUMNS = "id, site_id, external_id, url, title, comments_open, premoderation, comment_count, version, created_at"
SELECT_BY_EXTERNAL = f"SELECT {_COLUMNS} FROM articles WHERE site_id = $1 AND external_id = $2"
SELECT_BY_ID = f"SELECT {_COLUMNS} FROM articles WHERE id = $1"
SELECT_BY_ID_FOR_UPDATE = f"SELECT {_COLUMNS} FROM articles WHERE id = $1 FOR UPDATE"
INSERT_IF_ABSENT = f"""
INSERT INTO articles (site_id, external_id, url, title) VALUES ($1, $2, $3, $4)
ON CONFLICT (site_id, external_id) DO NOTHING RETURNING {_COLUMNS}"""
ADJUST_COUNT = f"""UPDATE articles SET comment_count = comment_count + $2, version = version + 1 WHERE id = $1
RETURNING {_COLUMNS}"""
BUMP_VERSION = "UPDATE articles SET version = version + 1 WHERE id = $1 RETURNING version"
# A top-level post's first statement: the article (NULL columns when it does not exist yet) and the
# poster's SSO user, upserted exactly as users.UPSERT_SSO does ($1-$5), in one round trip instead
# of three. user_id is NULL only when the user row was created by a concurrent transaction after
# this statement's snapshot (the caller then asks again, as users.ensure_sso_user does).
ARTICLE_AND_SSO_USER = f"""
WITH up AS ({user_repo.UPSERT_SSO})
SELECT coalesce((SELECT id FROM up),
                (SELECT id FROM users WHERE site_id = $1 AND kind = 'sso' AND external_id = $2)) AS poster_id,
       {", ".join(f"a.{c.strip()}" for c in _COLUMNS.split(","))}
FROM (SELECT 1) AS one LEFT JOIN articles a ON a.site_id = $1 AND a.external_id = $6"""
SITE_OF = "SELECT site_id FROM articles WHERE id = $1"
EXTERNAL_ID_OF = "SELECT external_id FROM articles WHERE id = $1"
COUNTS = "SELECT external_id, comment_count FROM articles WHERE site_id = $1 AND external_id = ANY($2::text[])"


def to_article(row: asyncpg.Record) -> Article:
    return Article(id=row["external_id"], title=row["title"], url=row["url"], comments_open=row["comments_open"],
                   premoderation=row["premoderation"], comment_count=row["comment_count"])


async def get_by_external(conn: asyncpg.Connection, site_id: str, external_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(SELECT_BY_EXTERNAL, site_id, external_id)


async def with_sso_user(conn: asyncpg.Connection, site_id: str, external_id: str, sub: str, name: str,
                        email: str | None, role: str) -> tuple[asyncpg.Record | None, int | None]:
    """The article's row (None if absent) and the SSO user's id (None: ask users.ensure_sso_user)."""
    row = await conn.fetchrow(ARTICLE_AND_SSO_USER, site_id, sub, name, email, role, external_id)
    return (row if row["id"] is not None else None), row["poster_id"]


async def get_or_create(conn: asyncpg.Connection, site_id: str, external_id: str, url: str, title: str) -> asyncpg.Record:
    row = await conn.fetchrow(INSERT_IF_ABSENT, site_id, external_id, url, title)
    if row is None:
        row = await conn.fetchrow(SELECT_BY_EXTERNAL, site_id, external_id)
    return row


async def adjust_count(conn: asyncpg.Connection, article_id: int, delta: int) -> asyncpg.Record | None:
    """The article's row as the update left it (the poster's answer needs it: no second read)."""
    return await conn.fetchrow(ADJUST_COUNT, article_id, delta)


async def bump_version(conn: asyncpg.Connection, article_id: int) -> int:
    return await conn.fetchval(BUMP_VERSION, article_id)


async def counts(conn: asyncpg.Connection, site_id: str, external_ids: list[str]) -> dict[str, int]:
    rows = await conn.fetch(COUNTS, site_id, external_ids)
    return {r["external_id"]: r["comment_count"] for r in rows}


async def site_of(conn: asyncpg.Connection, article_id: int) -> str | None:
    return await conn.fetchval(SITE_OF, article_id)


async def external_id_of(conn: asyncpg.Connection, article_id: int) -> str | None:
    return await conn.fetchval(EXTERNAL_ID_OF, article_id)
