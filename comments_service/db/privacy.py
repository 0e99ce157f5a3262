"""A reader's data: what an export reads of them, what an erasure changes, and the retention
sweep that clears addresses, user agents and old problem reports (PRIVACY.md lists every field)."""

from __future__ import annotations

import asyncpg

from .connection import Connection, one_row
from .moderation import BAN_IN_FORCE

USER = """SELECT id, site_id, kind, display_name, email, role, created_at, shadow_restricted FROM users WHERE id = $1"""
USER_FOR_UPDATE = USER + " FOR UPDATE"
# newest first, one row more than the limit (the caller says the list was cut)
COMMENTS = """
SELECT c.id, c.parent_id, c.status, c.status_reason, c.body_markdown, c.body_html, c.created_at, c.edited_at,
       c.deleted_at, c.score, c.upvotes, c.downvotes, host(c.author_ip) AS ip,
       a.external_id, a.title, a.url
FROM comments c JOIN articles a ON a.id = c.article_id
WHERE c.author_id = $1 ORDER BY c.created_at DESC, c.id DESC LIMIT $2"""
VOTES = """SELECT comment_id, value, created_at FROM votes WHERE user_id = $1
ORDER BY created_at DESC, comment_id DESC LIMIT $2"""
REPORTS = """SELECT comment_id, reason, note, created_at, resolved_action_id IS NULL AS open FROM reports
WHERE reporter_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"""
SUBSCRIPTIONS = """
SELECT s.id, s.scope, a.external_id, s.comment_id, s.email, s.confirmed_at IS NOT NULL AS confirmed, s.created_at
FROM notification_subscriptions s JOIN articles a ON a.id = s.article_id
WHERE s.user_id = $1 ORDER BY s.id DESC LIMIT $2"""
PROBLEM_REPORTS = """
SELECT reference, article_external_id, comment_id, description, user_agent, status, created_at
FROM problem_reports WHERE user_id = $1 ORDER BY id DESC LIMIT $2"""
BAN = "SELECT until, reason FROM bans b WHERE b.site_id = $1 AND b.user_id = $2 AND " + BAN_IN_FORCE

# -------------------------------------------------------------------- erasure
# Every comment of the reader loses its text, address and what the policy matched in it, and becomes
# the tombstone an author's own deletion leaves (domain/thread.to_view shows it without author or
# body, and only while replies hang under it). The status change moves the counters at commit
# (migrations/0005). Rows already erased are left alone, so an erasure run twice changes nothing.
TOMBSTONE = """
WITH done AS (
    UPDATE comments SET status = 'deleted', status_reason = 'erased', body_markdown = '', body_html = '',
        author_ip = NULL, decision_detail = NULL, deleted_at = coalesce(deleted_at, now())
    WHERE author_id = $1
      AND (status <> 'deleted' OR status_reason IS DISTINCT FROM 'erased' OR body_markdown <> '' OR body_html <> ''
           OR author_ip IS NOT NULL OR decision_detail IS NOT NULL)
    RETURNING article_id)
SELECT count(*) AS n, coalesce(array_agg(DISTINCT article_id), '{}') AS articles FROM done"""
# The reader's tombstones under which no comment hangs. Run until it removes none: removing a reply
# can free its parent. Counters moved when they became tombstones; a removed row moves none.
REMOVE_LEAVES = """
WITH gone AS (
    DELETE FROM comments c WHERE c.author_id = $1 AND c.status = 'deleted'
      AND NOT EXISTS (SELECT 1 FROM comments r WHERE r.parent_id = c.id)
    RETURNING c.article_id)
SELECT count(*) AS n, coalesce(array_agg(DISTINCT article_id), '{}') AS articles FROM gone"""
# a tombstone is never scored: its queued job would only score an empty text
DROP_JOBS = """DELETE FROM scoring_jobs j USING comments c
WHERE c.id = j.comment_id AND c.author_id = $1 AND c.status = 'deleted' AND j.state = 'queued'"""
ANONYMISE_USER = """UPDATE users SET display_name = '[deleted]', email = NULL
WHERE id = $1 AND (display_name <> '[deleted]' OR email IS NOT NULL)"""
# A comment's totals live on the comment (db/votes.py), so the vote rows can go and its counts stay.
DROP_VOTES = "DELETE FROM votes WHERE user_id = $1"
UNLINK_REPORTS = "UPDATE reports SET reporter_id = NULL WHERE reporter_id = $1"
# their deliveries go with them (notification_deliveries.subscription_id cascades)
DROP_SUBSCRIPTIONS = "DELETE FROM notification_subscriptions WHERE user_id = $1"
# What waits to be sent about them: emails to their address (a statement, an appeal's outcome, a
# confirmation) and webhook calls that carry one of their comments with their name. What went
# before is the receiving systems' to keep (PRIVACY.md).
DROP_QUEUED_DELIVERIES = """
DELETE FROM notification_deliveries d
WHERE d.site_id = $1 AND d.state = 'queued' AND (
    (d.channel = 'email' AND $3::text IS NOT NULL AND lower(d.recipient) = lower($3))
    OR (d.channel = 'webhook' AND d.payload -> 'data' -> 'comment_id' IN (
        SELECT to_jsonb(c.id) FROM comments c WHERE c.author_id = $2)))"""
_CLEARED_PROBLEM_REPORT = "user_id = NULL, description = '', troubleshoot = '{}'::jsonb, user_agent = NULL"
CLEAR_PROBLEM_REPORTS = f"UPDATE problem_reports SET {_CLEARED_PROBLEM_REPORT} WHERE user_id = $1"
ARTICLE_IDS = "SELECT id, site_id, external_id FROM articles WHERE id = ANY($1::bigint[])"

# ------------------------------------------------------------------ retention
# Each statement clears at most $2 rows, oldest first, read through a partial index that only holds
# rows still to clear (migrations/0020_privacy.sql), skipping rows another transaction holds: no
# statement holds many row locks or runs long. A banned reader's addresses stay while the ban is in
# force: a guest's ban reaches the network they wrote from (db/moderation.ADDRESS_BANNED).
CLEAR_COMMENT_IPS = f"""
UPDATE comments SET author_ip = NULL WHERE id IN (
    SELECT c.id FROM comments c
    WHERE c.author_ip IS NOT NULL AND c.created_at < now() - make_interval(days => $1)
      AND NOT EXISTS (SELECT 1 FROM bans b WHERE b.user_id = c.author_id AND b.site_id = c.site_id
                      AND {BAN_IN_FORCE})
    ORDER BY c.created_at LIMIT $2 FOR UPDATE SKIP LOCKED)"""
CLEAR_PROBLEM_REPORT_AGENTS = """
UPDATE problem_reports SET user_agent = NULL WHERE id IN (
    SELECT id FROM problem_reports WHERE user_agent IS NOT NULL AND created_at < now() - make_interval(days => $1)
    ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)"""
CLEAR_OLD_PROBLEM_REPORTS = f"""
UPDATE problem_reports SET {_CLEARED_PROBLEM_REPORT} WHERE id IN (
    SELECT id FROM problem_reports
    WHERE (user_id IS NOT NULL OR description <> '' OR troubleshoot <> '{{}}'::jsonb)
      AND created_at < now() - make_interval(days => $1)
    ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)"""


def _count(status: str) -> int:
    return int(status.rpartition(" ")[2])


async def user(conn: Connection, user_id: int, *, for_update: bool = False) -> asyncpg.Record | None:
    return await conn.fetchrow(USER_FOR_UPDATE if for_update else USER, user_id)


async def comments(conn: Connection, user_id: int, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(COMMENTS, user_id, limit + 1)


async def votes(conn: Connection, user_id: int, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(VOTES, user_id, limit + 1)


async def reports(conn: Connection, user_id: int, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(REPORTS, user_id, limit + 1)


async def subscriptions(conn: Connection, user_id: int, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(SUBSCRIPTIONS, user_id, limit + 1)


async def problem_reports(conn: Connection, user_id: int, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(PROBLEM_REPORTS, user_id, limit + 1)


async def ban(conn: Connection, site_id: str, user_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(BAN, site_id, user_id)


async def drop_queued_deliveries(conn: Connection, site_id: str, user_id: int, email: str | None) -> int:
    return _count(await conn.execute(DROP_QUEUED_DELIVERIES, site_id, user_id, email))


async def tombstone(conn: Connection, user_id: int) -> tuple[int, set[int]]:
    """(comments changed, their articles' row ids)."""
    row = await one_row(conn, TOMBSTONE, user_id)
    return int(row["n"]), set(row["articles"])


async def remove_leaves(conn: Connection, user_id: int) -> tuple[int, set[int]]:
    row = await one_row(conn, REMOVE_LEAVES, user_id)
    return int(row["n"]), set(row["articles"])


async def drop_queued_jobs(conn: Connection, user_id: int) -> None:
    await conn.execute(DROP_JOBS, user_id)


async def anonymise_user(conn: Connection, user_id: int) -> None:
    await conn.execute(ANONYMISE_USER, user_id)


async def drop_votes(conn: Connection, user_id: int) -> int:
    return _count(await conn.execute(DROP_VOTES, user_id))


async def unlink_reports(conn: Connection, user_id: int) -> int:
    return _count(await conn.execute(UNLINK_REPORTS, user_id))


async def drop_subscriptions(conn: Connection, user_id: int) -> int:
    return _count(await conn.execute(DROP_SUBSCRIPTIONS, user_id))


async def clear_problem_reports(conn: Connection, user_id: int) -> int:
    return _count(await conn.execute(CLEAR_PROBLEM_REPORTS, user_id))


async def articles(conn: Connection, ids: set[int]) -> list[asyncpg.Record]:
    return await conn.fetch(ARTICLE_IDS, sorted(ids)) if ids else []


async def clear_comment_ips(conn: Connection, days: int, batch: int) -> int:
    return _count(await conn.execute(CLEAR_COMMENT_IPS, days, batch))


async def clear_problem_report_agents(conn: Connection, days: int, batch: int) -> int:
    return _count(await conn.execute(CLEAR_PROBLEM_REPORT_AGENTS, days, batch))


async def clear_old_problem_reports(conn: Connection, days: int, batch: int) -> int:
    return _count(await conn.execute(CLEAR_OLD_PROBLEM_REPORTS, days, batch))
