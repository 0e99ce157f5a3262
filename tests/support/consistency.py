"""What the fault tests compare after a fault: the served thread against PostgreSQL's rows."""

from __future__ import annotations

import asyncpg
import httpx

from tests.support.sites import SiteHandle


async def thread_ids(http: httpx.AsyncClient, site: SiteHandle, article: str) -> list[int]:
    """The ids of the first 100 top-level comments, newest first, as readers are served them."""
    r = await http.get(f"/api/v1/articles/{article}/comments", params=site.q(limit=100, replies=0, sort="newest"))
    assert r.status_code == 200, r.text
    return [c["id"] for c in r.json()["comments"]]


async def db_ids(db: asyncpg.Connection, site: SiteHandle, article: str) -> list[int]:
    """The same ids as PostgreSQL has them."""
    rows = await db.fetch("""SELECT c.id FROM comments c JOIN articles a ON a.id = c.article_id
        WHERE a.site_id = $1 AND a.external_id = $2 AND c.parent_id IS NULL AND c.status = 'published'
        ORDER BY c.created_at DESC, c.id DESC LIMIT 100""", site.id, article)
    return [r["id"] for r in rows]


def assert_stored_once(rows, accepted: dict[str, int]) -> None:
    """Every comment the API accepted (body -> id) is stored exactly once, and no body twice."""
    by_body: dict[str, list[int]] = {}
    for row in rows:
        by_body.setdefault(row["body_markdown"], []).append(row["id"])
    for body, comment_id in accepted.items():
        assert by_body.get(body) == [comment_id], (body, by_body.get(body))
    assert all(len(ids) == 1 for ids in by_body.values())
