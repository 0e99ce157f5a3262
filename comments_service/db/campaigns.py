"""Copy-paste campaigns (spam_campaigns) and their comments' grouping (comments.campaign_id)."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from .connection import Connection

# a campaign a new comment may join: found within the window, not decided yet (newest first)
OPEN_CAMPAIGNS = """
SELECT id, signature FROM spam_campaigns
WHERE site_id = $1 AND created_at > now() - $2::interval AND decided_at IS NULL
ORDER BY id DESC LIMIT 50"""
CREATE = "INSERT INTO spam_campaigns (site_id, signature) VALUES ($1, $2) RETURNING id"
# the comments a new campaign may have started with: the site's recent ones not yet grouped
RECENT_UNGROUPED = """
SELECT id, body_markdown FROM comments
WHERE site_id = $1 AND created_at > now() - $2::interval AND campaign_id IS NULL AND id <> $3
  AND status IN ('published', 'held', 'pending_scoring')
ORDER BY id DESC LIMIT $4"""
GROUP = "UPDATE comments SET campaign_id = $1 WHERE id = ANY($2::bigint[]) AND campaign_id IS NULL"
# the campaign's comments published before it was one go to the queue with it (the counts follow at
# commit), but only those of guests and of accounts younger than $2 that no moderator approved and
# whose author is not trusted: copying a reader's comment from a few fresh accounts must not take
# down the original
HOLD_PUBLISHED = """
UPDATE comments c SET status = 'held', status_reason = 'copy_campaign'
FROM users u
WHERE c.id = ANY($1::bigint[]) AND c.status = 'published' AND c.moderated_at IS NULL AND u.id = c.author_id
  AND NOT u.trusted AND (u.kind = 'guest' OR u.created_at > now() - $2::interval)
RETURNING c.id"""
# a campaign's comments for moderators: every status but the author's own deletion
MEMBERS = """
SELECT c.id, c.status, c.status_reason, c.author_id, c.created_at FROM comments c
WHERE c.campaign_id = $1 AND c.status <> 'deleted' ORDER BY c.id"""
LIST = """
SELECT k.id, k.site_id, k.created_at, k.decided_at, k.decided_by,
       count(c.id) FILTER (WHERE c.status <> 'deleted') AS comments,
       count(c.id) FILTER (WHERE c.status IN ('held', 'pending_scoring')) AS waiting,
       count(c.id) FILTER (WHERE c.status = 'published') AS published,
       count(DISTINCT c.author_id) AS authors,
       (SELECT left(f.body_markdown, 280) FROM comments f WHERE f.campaign_id = k.id AND f.status <> 'deleted'
        ORDER BY f.id LIMIT 1) AS sample
FROM spam_campaigns k LEFT JOIN comments c ON c.campaign_id = k.id
WHERE ($1::text IS NULL OR k.site_id = $1) AND ($2::boolean OR k.decided_at IS NULL)
GROUP BY k.id ORDER BY k.id DESC LIMIT $3"""
GET = "SELECT id, site_id, created_at, decided_at, decided_by FROM spam_campaigns WHERE id = $1"
MARK_DECIDED = "UPDATE spam_campaigns SET decided_at = now(), decided_by = $2 WHERE id = $1"


async def open_campaigns(conn: Connection, site_id: str, window: timedelta) -> list[asyncpg.Record]:
    return await conn.fetch(OPEN_CAMPAIGNS, site_id, window)


async def create(conn: Connection, site_id: str, signature: str) -> int:
    return await conn.fetchval(CREATE, site_id, signature)


async def recent_ungrouped(conn: Connection, site_id: str, window: timedelta, besides: int,
                           limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(RECENT_UNGROUPED, site_id, window, besides, limit)


async def group(conn: Connection, campaign_id: int, comment_ids: list[int]) -> None:
    await conn.execute(GROUP, campaign_id, comment_ids)


async def hold_published(conn: Connection, comment_ids: list[int], new_for: timedelta) -> list[int]:
    return [r["id"] for r in await conn.fetch(HOLD_PUBLISHED, comment_ids, new_for)]


async def members(conn: Connection, campaign_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(MEMBERS, campaign_id)


async def listing(conn: Connection, site_id: str | None, *, decided: bool, limit: int) -> list[asyncpg.Record]:
    """The campaigns of one site, or of every site (``site_id`` None: an unscoped admin)."""
    return await conn.fetch(LIST, site_id, decided, limit)


async def get(conn: Connection, campaign_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(GET, campaign_id)


async def mark_decided(conn: Connection, campaign_id: int, by: str) -> None:
    await conn.execute(MARK_DECIDED, campaign_id, by)
