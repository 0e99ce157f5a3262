"""The statement a top-level post by an SSO reader starts with: everything it checks, in one round trip."""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple

import asyncpg

from . import articles as article_repo
from . import users as user_repo


class Poster(NamedTuple):
    """Who posts, and their active ban when the posting context read it."""

    id: int
    ban_known: bool = False  # False: ask (moderation checks bans itself)
    ban: Mapping[str, Any] | None = None  # the active ban ("until", "reason"), if any


# The article (NULL columns when it does not exist yet), the poster's SSO user (users.SSO_USER_CTES,
# $1-$5) and the poster's active ban (as moderation.ACTIVE_BAN reads it). poster_id is NULL only
# when the user row was created by a concurrent transaction after this statement's snapshot (the
# caller then asks again, as users.ensure_sso_user does).
CONTEXT = f"""
WITH {user_repo.SSO_USER_CTES}
SELECT sso_user.id AS poster_id, ban.banned, ban.until AS ban_until, ban.reason AS ban_reason,
       {", ".join(f"a.{c}" for c in article_repo.COLUMN_NAMES)}
FROM sso_user LEFT JOIN articles a ON a.site_id = $1 AND a.external_id = $6
LEFT JOIN LATERAL (SELECT true AS banned, b.until, b.reason FROM bans b
                   WHERE b.site_id = $1 AND b.user_id = sso_user.id
                     AND (b.until IS NULL OR b.until > now())) ban ON true"""


async def context(conn: asyncpg.Connection, site_id: str, external_id: str, sub: str, name: str, email: str | None,
                  role: str) -> tuple[asyncpg.Record | None, Poster | None]:
    """The article's row (None if absent) and the poster (None: ask users.ensure_sso_user)."""
    row = await conn.fetchrow(CONTEXT, site_id, sub, name, email, role, external_id)
    poster = None
    if row["poster_id"] is not None:
        ban = {"until": row["ban_until"], "reason": row["ban_reason"]} if row["banned"] else None
        poster = Poster(row["poster_id"], True, ban)
    return (row if row["id"] is not None else None), poster
