"""Copy-paste campaigns (spam_campaigns) and their comments' grouping (comments.campaign_id)."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from . import audit as audit_repo
from .connection import Connection

# who the audit log names for what the copy-campaign rule did
CAMPAIGN_ACTOR = ("system:campaign", "automatic copy-campaign rule")

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
SIZE = "SELECT count(*) FROM comments WHERE campaign_id = $1"
# the campaign's published comments go to the queue with it (the counts follow at commit), but
# never one a moderator approved, a trusted reader wrote, or the comment just posted ($4: its post
# answers with what it stored). Guests' and young accounts' ($2) go at once. An older account's
# goes only when at least $3 other older accounts wrote copies of it, and never the campaign's
# original (the first text written, by creation or last edit): copies come after it, so no number
# of copiers can take down the comment they copied, and accounts that have aged are what a spammer
# runs short of
HOLD_PUBLISHED = """
WITH members AS (
    SELECT c.id, c.author_id, coalesce(c.edited_at, c.created_at) AS written FROM comments c
    WHERE c.campaign_id = $1 AND c.status <> 'deleted'),
original AS (SELECT id FROM members ORDER BY written, id LIMIT 1),
older AS (
    SELECT DISTINCT m.author_id FROM members m JOIN users u ON u.id = m.author_id
    WHERE u.kind <> 'guest' AND u.created_at <= now() - $2::interval)
UPDATE comments c SET status = 'held', status_reason = 'copy_campaign'
FROM users u
WHERE c.campaign_id = $1 AND c.status = 'published' AND c.moderated_at IS NULL AND u.id = c.author_id
  AND c.id <> $4 AND NOT u.trusted
  AND (u.kind = 'guest' OR u.created_at > now() - $2::interval
       OR (c.id <> (SELECT id FROM original)
           AND (SELECT count(*) FROM older o WHERE o.author_id <> c.author_id) >= $3))
RETURNING c.id, c.author_id, c.article_id"""
# a campaign's comments for moderators: every status but the author's own deletion
MEMBERS = """
SELECT c.id, c.status, c.status_reason, c.author_id, c.created_at,
       coalesce(c.edited_at, c.created_at) AS written FROM comments c
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


async def size(conn: Connection, campaign_id: int) -> int:
    return await conn.fetchval(SIZE, campaign_id)


async def hold_published(conn: Connection, site_id: str, campaign_id: int, new_for: timedelta,
                         older_copiers: int, besides: int) -> list[int]:
    """Sends the campaign's published comments that qualify (HOLD_PUBLISHED; never ``besides``)
    back to the queue, each audited as the campaign rule's doing; their ids."""
    held = await conn.fetch(HOLD_PUBLISHED, campaign_id, new_for, older_copiers, besides)
    for row in held:
        await audit_repo.record(conn, site_id=site_id, actor_id=CAMPAIGN_ACTOR[0], actor_name=CAMPAIGN_ACTOR[1],
                                action="campaign_hold", comment_id=row["id"], user_id=row["author_id"],
                                article_id=row["article_id"], before_status="published", after_status="held",
                                reason="copy_campaign", details={"campaign_id": campaign_id})
    return [row["id"] for row in held]


async def members(conn: Connection, campaign_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(MEMBERS, campaign_id)


async def listing(conn: Connection, site_id: str | None, *, decided: bool, limit: int) -> list[asyncpg.Record]:
    """The campaigns of one site, or of every site (``site_id`` None: an unscoped admin)."""
    return await conn.fetch(LIST, site_id, decided, limit)


async def get(conn: Connection, campaign_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(GET, campaign_id)


async def mark_decided(conn: Connection, campaign_id: int, by: str) -> None:
    await conn.execute(MARK_DECIDED, campaign_id, by)
