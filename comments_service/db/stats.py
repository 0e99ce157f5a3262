"""The console's statistics: a site's comments, moderator decisions, reports and problem reports,
counted per UTC day over a period [since, until). Each query is one range scan of an index made for
it (migrations/0011_console_stats.sql) and groups in the database; nothing is counted in Python.

What the automatic moderation decided (the worker's policy, or publication on arrival when scoring
is off) is a comment's status as long as no moderator has changed it (``moderated_at`` is NULL: an
undone decision restores it to NULL); once one has, it is the status before the comment's first
moderator decision (``before_status`` of its oldest approve/reject in the audit log), with the
reason the policy gave then (``details.before_reason``). A comment its author deleted before any
moderator decision no longer says what the policy decided and is not counted."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import asyncpg

from .connection import Connection

_DAY = "(({t}) AT TIME ZONE 'UTC')::date"

# automatic outcomes by the day the comment was posted (the decision follows within seconds),
# and the reasons the policy gave for the held and rejected ones
AUTOMATIC = f"""
WITH automatic AS (
    SELECT {_DAY.format(t="c.created_at")} AS day, c.status AS outcome, c.status_reason AS reason
    FROM comments c
    WHERE c.site_id = $1 AND c.created_at >= $2 AND c.created_at < $3 AND c.moderated_at IS NULL
      AND c.status IN ('published', 'held', 'rejected')
    UNION ALL
    SELECT {_DAY.format(t="c.created_at")}, f.before_status, f.before_reason
    FROM comments c
    CROSS JOIN LATERAL (
        SELECT m.before_status, m.details ->> 'before_reason' AS before_reason FROM moderation_actions m
        WHERE m.comment_id = c.id AND m.action IN ('approve', 'reject') ORDER BY m.id LIMIT 1) f
    WHERE c.site_id = $1 AND c.created_at >= $2 AND c.created_at < $3 AND c.moderated_at IS NOT NULL
      AND f.before_status IN ('published', 'held', 'rejected'))
SELECT day, outcome, reason, count(*) AS n FROM automatic GROUP BY day, outcome, reason"""

# Moderator decisions by the day they were made: approvals and rejections in the audit log that
# changed the comment's status (keeping a reported comment published is not a publication) and
# were not undone. A decision on a held comment measures the wait from its posting to the decision.
DECISIONS = f"""
WITH undone AS (
    SELECT (u.details ->> 'undoes')::bigint AS id FROM moderation_actions u
    WHERE u.site_id = $1 AND u.action = 'undo' AND u.created_at >= $2 AND u.details ->> 'undoes' IS NOT NULL),
decided AS (
    SELECT {_DAY.format(t="m.created_at")} AS day, m.action, m.reason,
           CASE WHEN m.before_status = 'held' THEN extract(epoch FROM m.created_at - (
               SELECT c.created_at FROM comments c WHERE c.id = m.comment_id)) END AS waited
    FROM moderation_actions m
    WHERE m.site_id = $1 AND m.created_at >= $2 AND m.created_at < $3
      AND m.action IN ('approve', 'reject') AND m.before_status IS DISTINCT FROM m.after_status
      AND m.id NOT IN (SELECT id FROM undone))
SELECT GROUPING(day) = 0 AS by_day, GROUPING(reason) = 0 AS by_reason, day, reason,
       count(*) FILTER (WHERE action = 'approve') AS published,
       count(*) FILTER (WHERE action = 'reject') AS rejected,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY waited) AS median_wait
FROM decided
GROUP BY GROUPING SETS ((day), (), (reason))"""

# readers' reports of the site's comments, by day and by reason
REPORTS = f"""
SELECT GROUPING(day) = 0 AS by_day, day, reason, count(*) AS n
FROM (SELECT {_DAY.format(t="r.created_at")} AS day, r.reason
      FROM reports r JOIN comments c ON c.id = r.comment_id
      WHERE c.site_id = $1 AND r.created_at >= $2 AND r.created_at < $3) r
GROUP BY GROUPING SETS ((day), (reason))"""

PROBLEM_REPORTS = f"""
SELECT {_DAY.format(t="created_at")} AS day, count(*) AS n FROM problem_reports
WHERE site_id = $1 AND created_at >= $2 AND created_at < $3 GROUP BY 1"""


class PeriodCounts(NamedTuple):
    automatic: list[asyncpg.Record]
    decisions: list[asyncpg.Record]
    reports: list[asyncpg.Record]
    problem_reports: list[asyncpg.Record]


async def period(conn: Connection, site_id: str, since: datetime, until: datetime) -> PeriodCounts:
    """Every count of the period from one snapshot. JIT compilation is off for these statements: the
    planner's cost for a busy week passes jit_above_cost, and compiling (~40 ms) costs more than it
    saves on a grouping of some 100,000 index entries."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        # the median's sort of a quarter's decisions stays in memory
        await conn.execute("SET LOCAL jit = off; SET LOCAL work_mem = '32MB'")
        return PeriodCounts(automatic=await conn.fetch(AUTOMATIC, site_id, since, until),
                            decisions=await conn.fetch(DECISIONS, site_id, since, until),
                            reports=await conn.fetch(REPORTS, site_id, since, until),
                            problem_reports=await conn.fetch(PROBLEM_REPORTS, site_id, since, until))
