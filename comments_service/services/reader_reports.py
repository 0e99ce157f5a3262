"""Readers reporting a published comment to the site's moderators."""

from __future__ import annotations

import asyncpg

from ..db import reports as report_repo
from ..domain.moderation_models import ReportReceipt
from ..errors import DomainError
from ..ratelimit import RateLimiter
from .comments import Actor, PostPolicy
from .readers import Readers
from .sites import SiteEntry


class ReaderReports:
    def __init__(self, pool: asyncpg.Pool, limiter: RateLimiter, readers: Readers, policy: PostPolicy) -> None:
        self.pool = pool
        self.limiter = limiter
        self.readers = readers
        self.policy = policy

    async def report(self, entry: SiteEntry, actor: Actor, comment_id: int, reason: str,
                     note: str | None) -> ReportReceipt:
        identity = actor.identity
        if identity is None:
            raise DomainError("auth_required")
        await self.limiter.check("report", user=self.readers.subject(identity), ip=actor.ip)
        async with self.pool.acquire() as conn, conn.transaction():
            row, article = await self.readers.comment_of_site(conn, comment_id, entry.site.id)
            if row.status != "published":
                raise DomainError("comment_not_found")
            reporter = await self.readers.user_id(conn, identity)
            await self.policy.check(conn, entry, "report", user_id=reporter, kind=identity.kind, article=article,
                                   address=actor.ip)
            if not await report_repo.add(conn, comment_id, reporter, reason, (note or "").strip() or None):
                raise DomainError("already_reported")
        return ReportReceipt(comment_id=comment_id, reason=reason, state="received")
