"""What a top-level post by an SSO reader checks before it writes, read in one round trip."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import asyncpg

from ..domain.structs import Struct
from . import articles as article_repo
from . import moderation as mod_repo
from . import users as user_repo
from .connection import Connection, one_row


class Poster(Struct, frozen=True):
    """Who posts, and their active ban when the posting context read it."""

    id: int | None  # None: an SSO reader not stored yet (so no ban can name them; ban_known is True)
    ban_known: bool = False  # False: ask (moderation checks bans itself)
    ban: Mapping[str, Any] | None = None  # the active ban ("until", "reason"), if any
    since: datetime | None = None  # when the stored user was made (services/surge.py counts new accounts)


class Context(Struct, frozen=True):
    article: asyncpg.Record | None  # None: the article does not exist yet
    poster: Poster
    stored: bool  # the poster's user row exists and matches the token: nothing to write


# Reads only: a post that a check refuses (closed article, ban, auto-close, missing article
# details) must leave nothing written, and the busiest post runs without a transaction to roll
# back. The user row is written after the checks (users.ensure_sso_user) when ``stored`` is false.
# Bans are unique per (site, user), so the join yields one row.
CONTEXT = f"""
WITH {user_repo.KNOWN_SSO_CTE}
SELECT known.id AS poster_id, known.created_at AS poster_since, coalesce(known.same, false) AS same,
       b.user_id IS NOT NULL AS banned,
       b.until AS ban_until, b.reason AS ban_reason,
       {", ".join(f"a.{c}" for c in article_repo.COLUMN_NAMES)}
FROM (SELECT) one
LEFT JOIN known ON true
LEFT JOIN articles a ON a.site_id = $1 AND a.external_id = $6
LEFT JOIN bans b ON b.site_id = $1 AND b.user_id = known.id AND {mod_repo.BAN_IN_FORCE}"""


async def context(conn: Connection, site_id: str, external_id: str, sub: str, name: str, email: str | None,
                  role: str) -> Context:
    row = await one_row(conn, CONTEXT, site_id, sub, name, email, role, external_id)
    ban = {"until": row["ban_until"], "reason": row["ban_reason"]} if row["banned"] else None
    return Context(article=row if row["id"] is not None else None,
                   poster=Poster(id=row["poster_id"], ban_known=True, ban=ban, since=row["poster_since"]),
                   stored=row["same"])
