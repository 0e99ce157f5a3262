"""The Digital Services Act's tables: dsa_notices, statements_of_reasons (written by the triggers of
migrations/0019_dsa.sql), dsa_appeals, and the transparency report's counts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from .connection import Connection

# ------------------------------------------------------------------ notices

INSERT_NOTICE = """INSERT INTO dsa_notices (reference, site_id, comment_id, category, explanation, notifier_name,
    notifier_email, notifier_locale) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (reference) DO NOTHING RETURNING id, received_at"""
_NOTICE = """SELECT id, reference, site_id, comment_id, category, explanation, notifier_name, notifier_email,
    notifier_locale, received_at, decision, decision_reason, decision_explanation, decided_by, decided_by_name,
    decided_at FROM dsa_notices"""
# open notices first, oldest first (the response clock); then the decided, latest decision first
NOTICES_PAGE = _NOTICE + """ WHERE site_id = $1 AND ($2::text IS NULL OR ($2 = 'open') = (decided_at IS NULL))
ORDER BY decided_at IS NOT NULL, CASE WHEN decided_at IS NULL THEN received_at END, decided_at DESC, id
LIMIT $3"""
COUNT_OPEN_NOTICES = "SELECT count(*) FROM dsa_notices WHERE site_id = $1 AND decided_at IS NULL"
DECIDE_NOTICE = """UPDATE dsa_notices SET decision = $2, decision_reason = $3, decision_explanation = $4,
    decided_by = $5, decided_by_name = $6, decided_at = now() WHERE id = $1 RETURNING decided_at"""
NOTICE_COMMENTS = """SELECT c.id, c.status, c.body_html, c.author_id, u.display_name AS author_name, c.created_at,
    a.external_id FROM comments c JOIN users u ON u.id = c.author_id JOIN articles a ON a.id = c.article_id
WHERE c.id = ANY($1::bigint[])"""


async def insert_notice(conn: Connection, *, reference: str, site_id: str, comment_id: int, category: str,
                        explanation: str, name: str | None, email: str | None,
                        locale: str | None = None) -> asyncpg.Record | None:
    """The new notice's id and time; None when the reference is taken (the caller draws another).
    ``locale``: the language the notifier asked in, for the decision email."""
    return await conn.fetchrow(INSERT_NOTICE, reference, site_id, comment_id, category, explanation, name, email,
                               locale)


async def notices_page(conn: Connection, site_id: str, status: str | None, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(NOTICES_PAGE, site_id, status, limit)


async def count_open_notices(conn: Connection, site_id: str) -> int:
    return int(await conn.fetchval(COUNT_OPEN_NOTICES, site_id))


async def notice(conn: Connection, notice_id: int, *, for_update: bool = False) -> asyncpg.Record | None:
    return await conn.fetchrow(_NOTICE + " WHERE id = $1" + (" FOR UPDATE" if for_update else ""), notice_id)


async def notice_by_reference(conn: Connection, site_id: str, reference: str, *,
                              for_update: bool = False) -> asyncpg.Record | None:
    return await conn.fetchrow(_NOTICE + " WHERE site_id = $1 AND reference = $2"
                               + (" FOR UPDATE" if for_update else ""), site_id, reference)


async def decide_notice(conn: Connection, notice_id: int, *, decision: str, reason: str | None, explanation: str,
                        staff_id: str, staff_name: str) -> datetime:
    return await conn.fetchval(DECIDE_NOTICE, notice_id, decision, reason, explanation, staff_id, staff_name)


async def notice_comments(conn: Connection, comment_ids: Sequence[int]) -> dict[int, asyncpg.Record]:
    return {r["id"]: r for r in await conn.fetch(NOTICE_COMMENTS, list(comment_ids))}


async def answering_notice(conn: Connection, notice_id: int | None) -> None:
    """The decisions of this transaction answer the notice: the statement trigger records it (its
    source and notice); transaction-local, so it ends with the transaction."""
    await conn.execute("SELECT set_config('comments_service.dsa_notice', $1, true)",
                       "" if notice_id is None else str(notice_id))


# ------------------------------------------------------------------ statements of reasons

_STATEMENT = """SELECT s.id, s.site_id, s.user_id, s.comment_id, s.restriction, s.until, s.reason_code, s.rules_text,
    s.source, s.notice_id, n.category AS notice_category, s.automated_detection, s.automated_decision, s.decided_by,
    s.out_of_court, s.created_at, s.lifted_at, a.external_id AS article_id
FROM statements_of_reasons s
LEFT JOIN dsa_notices n ON n.id = s.notice_id
LEFT JOIN comments c ON c.id = s.comment_id
LEFT JOIN articles a ON a.id = c.article_id"""
STATEMENTS_OF_USER = _STATEMENT + """ WHERE s.user_id = $1 AND s.site_id = $2
    AND ($3::bigint IS NULL OR s.comment_id = $3) ORDER BY s.id DESC LIMIT $4"""


async def statements_of_user(conn: Connection, site_id: str, user_id: int, comment_id: int | None,
                             limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(STATEMENTS_OF_USER, user_id, site_id, comment_id, limit)


async def statement(conn: Connection, statement_id: int, *, for_update: bool = False) -> asyncpg.Record | None:
    if for_update:
        # lock the statement's own row (the joins are only read)
        await conn.execute("SELECT 1 FROM statements_of_reasons WHERE id = $1 FOR UPDATE", statement_id)
    return await conn.fetchrow(_STATEMENT + " WHERE s.id = $1", statement_id)


async def statements_by_ids(conn: Connection, ids: Sequence[int]) -> dict[int, asyncpg.Record]:
    return {r["id"]: r for r in await conn.fetch(_STATEMENT + " WHERE s.id = ANY($1::bigint[])", list(ids))}


_IN_FORCE = _STATEMENT + """ WHERE s.user_id = $1 AND s.site_id = $2 AND s.lifted_at IS NULL
    AND s.comment_id IS NOT DISTINCT FROM $3 ORDER BY s.id DESC LIMIT 1"""


async def statement_in_force(conn: Connection, site_id: str, user_id: int,
                             comment_id: int | None) -> asyncpg.Record | None:
    """The user's statement still in force on the comment, or on their account (comment_id None: a ban)."""
    return await conn.fetchrow(_IN_FORCE, user_id, site_id, comment_id)


async def lift_statement(conn: Connection, statement_id: int) -> None:
    await conn.execute("UPDATE statements_of_reasons SET lifted_at = coalesce(lifted_at, now()) WHERE id = $1",
                       statement_id)


# ------------------------------------------------------------------ appeals

INSERT_APPEAL = """INSERT INTO dsa_appeals (site_id, statement_id, notice_id, appellant, explanation, first_decided_by,
    locale) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING id, created_at"""
_APPEAL = """SELECT id, site_id, statement_id, notice_id, appellant, explanation, first_decided_by, created_at, outcome,
    outcome_explanation, decided_by, decided_by_name, decided_at, locale FROM dsa_appeals"""
APPEALS_PAGE = _APPEAL + """ WHERE site_id = $1 AND ($2::text IS NULL OR ($2 = 'open') = (decided_at IS NULL))
ORDER BY decided_at IS NOT NULL, CASE WHEN decided_at IS NULL THEN created_at END, decided_at DESC, id LIMIT $3"""
COUNT_OPEN_APPEALS = "SELECT count(*) FROM dsa_appeals WHERE site_id = $1 AND decided_at IS NULL"
DECIDE_APPEAL = """UPDATE dsa_appeals SET outcome = $2, outcome_explanation = $3, decided_by = $4, decided_by_name = $5,
    decided_at = now() WHERE id = $1 RETURNING decided_at"""


async def insert_appeal(conn: Connection, *, site_id: str, statement_id: int | None, notice_id: int | None,
                        appellant: str, explanation: str, first_decided_by: str | None,
                        locale: str | None = None) -> asyncpg.Record | None:
    """The new appeal's id and time; None when the decision was appealed already. ``locale``: the
    language the appellant asked in, for the decision email."""
    return await conn.fetchrow(INSERT_APPEAL, site_id, statement_id, notice_id, appellant, explanation,
                               first_decided_by, locale)


async def appeals_page(conn: Connection, site_id: str, status: str | None, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(APPEALS_PAGE, site_id, status, limit)


async def count_open_appeals(conn: Connection, site_id: str) -> int:
    return int(await conn.fetchval(COUNT_OPEN_APPEALS, site_id))


async def appeal(conn: Connection, appeal_id: int, *, for_update: bool = False) -> asyncpg.Record | None:
    return await conn.fetchrow(_APPEAL + " WHERE id = $1" + (" FOR UPDATE" if for_update else ""), appeal_id)


async def appeals_of_statements(conn: Connection, ids: Sequence[int]) -> dict[int, asyncpg.Record]:
    rows = await conn.fetch(_APPEAL + " WHERE statement_id = ANY($1::bigint[])", list(ids))
    return {r["statement_id"]: r for r in rows}


async def decide_appeal(conn: Connection, appeal_id: int, *, outcome: str, explanation: str, staff_id: str,
                        staff_name: str) -> datetime:
    return await conn.fetchval(DECIDE_APPEAL, appeal_id, outcome, explanation, staff_id, staff_name)


# ------------------------------------------------------------------ who

async def staff_names(conn: Connection, site_id: str, staff_ids: Sequence[str]) -> dict[str, str]:
    """The name each staff member last acted under on the site (the audit log keeps it)."""
    rows = await conn.fetch(
        "SELECT DISTINCT ON (actor_id) actor_id, actor_name FROM moderation_actions "
        "WHERE site_id = $1 AND actor_id = ANY($2::text[]) ORDER BY actor_id, id DESC", site_id, list(staff_ids))
    return {r["actor_id"]: r["actor_name"] for r in rows}


async def user_email(conn: Connection, user_id: int) -> str | None:
    """An SSO reader's address as their latest token gave it (guests have none)."""
    value: str | None = await conn.fetchval("SELECT email FROM users WHERE id = $1", user_id)
    return value


# ------------------------------------------------------------------ the transparency report

# the names formatted in are this module's own constants, never input
_GROUPED = ("SELECT {key} AS key, count(*) AS n FROM {table} "
            "WHERE site_id = $1 AND {time} >= $2 AND {time} < $3{extra} GROUP BY 1")


async def _grouped(conn: Connection, key: str, table: str, time: str, site_id: str, start: datetime, end: datetime,
                   extra: str = "") -> dict[str, int]:
    sql = _GROUPED.format(key=key, table=table, time=time, extra=extra)
    return {str(r["key"]): int(r["n"]) for r in await conn.fetch(sql, site_id, start, end)}


async def transparency(conn: Connection, site_id: str, start: datetime, end: datetime) -> dict[str, Any]:
    """Every count of the report over [start, end), read in the caller's one snapshot."""
    s = "statements_of_reasons"
    comments = " AND comment_id IS NOT NULL"
    out: dict[str, Any] = {
        "notices_by_category": await _grouped(conn, "category", "dsa_notices", "received_at", site_id, start, end),
        "notices_decided": await _grouped(conn, "decision", "dsa_notices", "decided_at", site_id, start, end),
        "actions_by_reason": await _grouped(conn, "coalesce(reason_code, 'none')", s, "created_at", site_id, start,
                                            end, comments),
        "actions_by_restriction": await _grouped(conn, "restriction", s, "created_at", site_id, start, end),
        "detection": await _grouped(conn, "CASE WHEN automated_detection THEN 'automated' ELSE 'human' END", s,
                                    "created_at", site_id, start, end),
        "decision": await _grouped(conn, "CASE WHEN automated_decision THEN 'automated' ELSE 'human' END", s,
                                   "created_at", site_id, start, end),
        "source": await _grouped(conn, "source", s, "created_at", site_id, start, end),
        "appeals_by_outcome": await _grouped(conn, "coalesce(outcome, 'open')", "dsa_appeals", "created_at",
                                             site_id, start, end),
        "bans": await _grouped(conn, "restriction", s, "created_at", site_id, start, end, " AND comment_id IS NULL"),
    }
    out["median_notice_to_decision_seconds"] = await conn.fetchval(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM decided_at - received_at)) "
        "FROM dsa_notices WHERE site_id = $1 AND decided_at >= $2 AND decided_at < $3", site_id, start, end)
    out["median_appeal_handling_seconds"] = await conn.fetchval(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM decided_at - created_at)) "
        "FROM dsa_appeals WHERE site_id = $1 AND decided_at >= $2 AND decided_at < $3", site_id, start, end)
    return out
