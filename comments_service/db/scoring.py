"""The scoring queue (scoring_jobs) and the first decision on each comment."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from ..domain.scoring_models import Job, QueueStats, ScoringContext
from .connection import Connection, one_row
from .moderation import BAN_IN_FORCE

# Channel a worker LISTENs on: a new job was committed. Payload empty: it only wakes workers.
JOBS_CHANNEL = "scoring_jobs"
# Channel API processes LISTEN on: comments got their first decision. Payload "id:status,...".
DECIDED_CHANNEL = "comment_decided"
NOTIFY_PAYLOAD_MAX = 7000  # PostgreSQL refuses payloads of 8000 bytes or more

ENQUEUE = f"""
WITH job AS (INSERT INTO scoring_jobs (comment_id) VALUES ($1) ON CONFLICT (comment_id) DO NOTHING RETURNING 1)
SELECT pg_notify('{JOBS_CHANNEL}', '') FROM job"""
# New comments first (priority 0; imported ones wait behind them), oldest first, SKIP LOCKED so that
# concurrent workers each take different rows without waiting.
CLAIM = """
WITH picked AS (
    SELECT comment_id FROM scoring_jobs WHERE state = 'queued'
    ORDER BY priority, created_at, comment_id LIMIT $2 FOR UPDATE SKIP LOCKED)
UPDATE scoring_jobs j SET state = 'claimed', claimed_by = $1, attempts = j.attempts + 1,
    claim_expires_at = now() + make_interval(secs => $3)
FROM picked WHERE j.comment_id = picked.comment_id
RETURNING j.comment_id, j.attempts"""
RELEASE_EXPIRED = """
UPDATE scoring_jobs SET state = 'queued', claimed_by = NULL, claim_expires_at = NULL
WHERE state = 'claimed' AND claim_expires_at < now() RETURNING comment_id, claimed_by"""
# Locks the jobs and keeps only those this worker still holds: a worker whose lease expired and
# was taken over gets nothing back and must not write a decision.
COMPLETE = """
UPDATE scoring_jobs SET state = 'done', scored_at = now(), claim_expires_at = NULL, model_id = $3,
    last_error = $4
WHERE comment_id = ANY($1::bigint[]) AND state = 'claimed' AND claimed_by = $2
RETURNING comment_id"""
# an edited comment scored before: its finished job goes back to the queue as new
REQUEUE_OR_ENQUEUE = f"""
WITH job AS (
    INSERT INTO scoring_jobs (comment_id) VALUES ($1)
    ON CONFLICT (comment_id) DO UPDATE SET state = 'queued', attempts = 0, claimed_by = NULL,
        claim_expires_at = NULL, created_at = now(), scored_at = NULL, last_error = NULL
    RETURNING 1)
SELECT pg_notify('{JOBS_CHANNEL}', '') FROM job"""
REQUEUE = """
UPDATE scoring_jobs SET state = 'queued', claimed_by = NULL, claim_expires_at = NULL
WHERE comment_id = ANY($1::bigint[])"""

# Everything the policy needs about a batch of comments, in one round trip. A surge holds what was
# written (posted or edited) once it had started: the post that tips an article into a surge counts
# it while its own comment is stored, so whether the worker or the surge came first is not a race.
CONTEXTS = f"""
SELECT c.id, c.article_id, c.parent_id, c.body_markdown, c.status, c.edited_at, c.author_id,
       extract(epoch FROM now() - c.created_at) AS age, c.campaign_id IS NOT NULL AS in_campaign,
       a.external_id AS external_id, a.premoderation, a.site_id, s.settings AS site_settings, s.allowed_origins,
       coalesce(a.surge_until > now() AND greatest(c.created_at, c.edited_at) >= a.surge_started_at, false)
           AS article_surge,
       u.kind AS user_kind, u.role AS user_role, u.trusted, u.premoderate, u.shadow_restricted,
       extract(epoch FROM now() - u.created_at) AS author_age,
       EXISTS (SELECT 1 FROM bans b WHERE b.site_id = a.site_id AND b.user_id = c.author_id
               AND {BAN_IN_FORCE}) AS banned,
       (SELECT count(*) FROM comments r WHERE r.author_id = c.author_id AND r.status = 'rejected'
            AND r.created_at > now() - make_interval(days => $2)) AS recent_rejections,
       (SELECT count(*) FROM comments p WHERE p.author_id = c.author_id AND p.status = 'published') AS published
FROM comments c
JOIN articles a ON a.id = c.article_id
JOIN sites s ON s.id = a.site_id
JOIN users u ON u.id = c.author_id
WHERE c.id = ANY($1::bigint[])"""
# Only a comment still waiting for its first decision, with the text that was scored, changes; and
# it is never published once its author is banned (a ban that came after the batch's contexts were
# read leaves the comment pending, so it is scored again and the policy sees the ban).
DECIDE = f"""
UPDATE comments c SET status = $2, status_reason = $3, toxicity = $4, toxicity_model = $5, decision_detail = $6
WHERE id = $1 AND status = 'pending_scoring' AND edited_at IS NOT DISTINCT FROM $7
  AND ($2 <> 'published' OR NOT EXISTS (
      SELECT 1 FROM bans b WHERE b.site_id = c.site_id AND b.user_id = c.author_id
      AND {BAN_IN_FORCE}))
RETURNING id"""
STATUS_OF = "SELECT status FROM comments WHERE id = $1"
DECISION_OF = "SELECT status, status_reason, toxicity_model, decision_detail FROM comments WHERE id = $1"

# Each count reads one of the partial indexes, so the stats cost nothing as done jobs pile up.
QUEUE_STATS = """
SELECT (SELECT count(*) FROM scoring_jobs WHERE state = 'queued') AS queued,
       (SELECT count(*) FROM scoring_jobs WHERE state = 'claimed') AS claimed,
       (SELECT count(*) FROM scoring_jobs WHERE state = 'claimed' AND claim_expires_at < now()) AS expired_claims,
       coalesce(extract(epoch FROM now() - least(
           (SELECT min(created_at) FROM scoring_jobs WHERE state = 'queued'),
           (SELECT min(created_at) FROM scoring_jobs WHERE state = 'claimed'))), 0) AS oldest_age,
       (SELECT count(*) FROM scoring_jobs WHERE state IN ('queued', 'claimed') AND attempts > 1) AS retried"""
RECENT_STATS = """
SELECT count(*) AS scored,
       coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM scored_at - created_at)), 0) AS p50,
       coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM scored_at - created_at)), 0) AS p99
FROM scoring_jobs WHERE state = 'done' AND scored_at > now() - make_interval(secs => $1)"""


async def enqueue(conn: Connection, comment_id: int) -> None:
    await conn.execute(ENQUEUE, comment_id)


async def claim(conn: Connection, worker_id: str, limit: int, lease_seconds: float) -> list[Job]:
    rows = await conn.fetch(CLAIM, worker_id, limit, float(lease_seconds))
    return sorted((Job(comment_id=r["comment_id"], attempts=r["attempts"]) for r in rows), key=lambda j: j.comment_id)


async def release_expired(conn: Connection) -> list[tuple[int, str]]:
    return [(r["comment_id"], r["claimed_by"]) for r in await conn.fetch(RELEASE_EXPIRED)]


async def complete(conn: Connection, worker_id: str, comment_ids: list[int], model_id: str,
                   error: str | None = None) -> set[int]:
    rows = await conn.fetch(COMPLETE, comment_ids, worker_id, model_id, error)
    return {r["comment_id"] for r in rows}


async def requeue_or_enqueue(conn: Connection, comment_id: int) -> None:
    await conn.execute(REQUEUE_OR_ENQUEUE, comment_id)


async def requeue(conn: Connection, comment_ids: list[int]) -> None:
    await conn.execute(REQUEUE, comment_ids)


async def contexts(conn: Connection, comment_ids: list[int], recent_days: int) -> dict[int, ScoringContext]:
    rows = await conn.fetch(CONTEXTS, comment_ids, recent_days)
    return {r["id"]: ScoringContext(
        comment_id=r["id"], article_id=r["article_id"], parent_id=r["parent_id"], text=r["body_markdown"],
        status=r["status"], edited_at=r["edited_at"], author_id=r["author_id"], external_id=r["external_id"],
        article_premoderation=r["premoderation"], site_id=r["site_id"], site_settings=r["site_settings"] or {},
        user_kind=r["user_kind"], user_role=r["user_role"], user_trusted=r["trusted"],
        user_premoderated=r["premoderate"], recent_rejections=r["recent_rejections"], published=r["published"],
        author_banned=r["banned"], site_origins=tuple(r["allowed_origins"] or ()),
        age_seconds=float(r["age"]), in_campaign=r["in_campaign"], article_surge=r["article_surge"],
        author_age_seconds=float(r["author_age"]), author_shadow_restricted=r["shadow_restricted"],
    ) for r in rows}


async def decide(conn: Connection, comment_id: int, *, status: str, reason: str,
                 scores: dict[str, float] | None, model_id: str, detail: dict[str, Any] | None,
                 edited_at: datetime | None) -> bool:
    """Write the first decision; False when the comment was edited, decided or removed meanwhile."""
    return await conn.fetchval(DECIDE, comment_id, status, reason, scores, model_id, detail, edited_at) is not None


async def status_of(conn: Connection, comment_id: int) -> str | None:
    return await conn.fetchval(STATUS_OF, comment_id)


async def decision_of(conn: Connection, comment_id: int) -> asyncpg.Record | None:
    """The comment's status, reason, scoring model and decision detail as the worker wrote them."""
    return await conn.fetchrow(DECISION_OF, comment_id)


async def notify_decided(conn: Connection, decided: list[tuple[int, str]]) -> None:
    """Tell API processes waiting on these comments (one NOTIFY per payload-sized chunk)."""
    chunk: list[str] = []
    size = 0
    for comment_id, status in decided:
        item = f"{comment_id}:{status}"
        if chunk and size + len(item) + 1 > NOTIFY_PAYLOAD_MAX:
            await conn.execute("SELECT pg_notify($1, $2)", DECIDED_CHANNEL, ",".join(chunk))
            chunk, size = [], 0
        chunk.append(item)
        size += len(item) + 1
    if chunk:
        await conn.execute("SELECT pg_notify($1, $2)", DECIDED_CHANNEL, ",".join(chunk))


def parse_decided(payload: str) -> list[tuple[int, str]]:
    out = []
    for item in filter(None, payload.split(",")):
        comment_id, _, status = item.partition(":")
        if comment_id.isdigit() and status:
            out.append((int(comment_id), status))
    return out


async def queue_stats(conn: Connection, window_seconds: float = 300.0) -> QueueStats:
    q = await one_row(conn, QUEUE_STATS)
    r = await one_row(conn, RECENT_STATS, float(window_seconds))
    return QueueStats(queued=q["queued"], claimed=q["claimed"], expired_claims=q["expired_claims"],
                      oldest_age_seconds=round(float(q["oldest_age"]), 3), retried=q["retried"],
                      scored_last_5m=r["scored"], p50_seconds_last_5m=round(float(r["p50"]), 4),
                      p99_seconds_last_5m=round(float(r["p99"]), 4))
