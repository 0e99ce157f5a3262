"""Readers' data rights and the retention of personal data (PRIVACY.md).

``DataRights``: a reader's export of everything held about them on a site, and erasure, asked by
the reader themselves or by a site's admin for one of its readers (a request that came by email).
An erasure is one transaction: their comments become tombstones (or, on sites whose ``erasure``
setting says "remove", go, except where replies hang under them), their name and email go, their
votes go (a comment keeps its totals), their reports stay with the comments but name nobody, their
subscriptions go, their problem reports are cleared, and the audit log records that it happened
under their user id alone. Moderators' notes and the audit log stay: they are the site's records.

``Retention``: the notifier's hourly sweep clears comments' addresses and problem reports' user
agents after ``COMMENTS_IP_RETENTION_DAYS``, and problem reports' personal fields after
``COMMENTS_PROBLEM_REPORT_RETENTION_DAYS``, in small batches."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import asyncpg

from ..db import audit as audit_repo
from ..db import dsa as dsa_repo
from ..db import privacy as repo
from ..domain.privacy_models import (
    EXPORT_LIMIT,
    DataArticle,
    DataBan,
    DataComment,
    DataProblemReport,
    DataProfile,
    DataReport,
    DataSubscription,
    DataVote,
    ErasureMode,
    ErasureReceipt,
    ReaderData,
    RetentionResult,
)
from ..errors import DomainError
from ..identity import Identity
from ..ratelimit import RateLimiter
from ..settings import PrivacySettings
from .comments import Actor
from .dsa import statement_view
from .publishing import Publisher
from .readers import Readers
from .sites import SiteDirectory, SiteEntry
from .staff_scope import StaffLike, one_site

log = logging.getLogger("comments_service.privacy")

CONFIRMATION = "erase"
ERASED_NAME = "[deleted]"
ERASED = "user_erased"
# a reader's chain of their own replies is at most the thread's depth; the loop stops well past it
_MAX_REMOVAL_ROUNDS = 64


def erasure_mode(settings: dict[str, Any]) -> ErasureMode:
    return "remove" if settings.get("erasure") == "remove" else "tombstone"


class DataRights:
    def __init__(self, pool: asyncpg.Pool, sites: SiteDirectory, publisher: Publisher, limiter: RateLimiter) -> None:
        self.pool = pool
        self.sites = sites
        self.publisher = publisher
        self.limiter = limiter

    # ---------------------------------------------------------------- export
    async def export(self, entry: SiteEntry, actor: Actor) -> ReaderData:
        identity = _signed_in(actor)
        await self.limiter.check("data_export", user=Readers.subject(identity), ip=actor.ip)
        site_id = entry.site.id
        async with self.pool.acquire() as conn, conn.transaction(readonly=True, isolation="repeatable_read"):
            user_id = await Readers.known_user_id(conn, identity)
            user = await repo.user(conn, user_id) if user_id is not None else None
            if user is None or user["site_id"] != site_id:
                # nothing stored yet (an SSO reader who never wrote): what the token says is all
                return ReaderData(site_id=site_id, generated_at=_now(), comments=[], votes=[], reports=[],
                                  subscriptions=[], problem_reports=[], ban=None, limit=EXPORT_LIMIT, truncated=[],
                                  profile=DataProfile(user_id=None, name=identity.name, kind=identity.kind,
                                                      email=identity.email, role=identity.role))
            uid = user["id"]
            comments = await repo.comments(conn, uid, EXPORT_LIMIT)
            votes = await repo.votes(conn, uid, EXPORT_LIMIT)
            reports = await repo.reports(conn, uid, EXPORT_LIMIT)
            subscriptions = await repo.subscriptions(conn, uid, EXPORT_LIMIT)
            problems = await repo.problem_reports(conn, uid, EXPORT_LIMIT)
            ban = await repo.ban(conn, site_id, uid)
            statement_rows = await dsa_repo.statements_of_user(conn, site_id, uid, None, EXPORT_LIMIT + 1)
            appeals = await dsa_repo.appeals_of_statements(conn, [r["id"] for r in statement_rows])
            statements = [statement_view(r, appeals.get(r["id"])) for r in statement_rows]
        cut = [name for name, rows in (("comments", comments), ("votes", votes), ("reports", reports),
                                       ("subscriptions", subscriptions), ("problem_reports", problems),
                                       ("statements", statements)) if len(rows) > EXPORT_LIMIT]
        return ReaderData(
            site_id=site_id, generated_at=_now(), shadow_restricted=user["shadow_restricted"],
            profile=DataProfile(user_id=uid, name=user["display_name"], kind=user["kind"], email=user["email"],
                                role=user["role"], created_at=user["created_at"]),
            comments=[DataComment(
                id=c["id"], article=DataArticle(id=c["external_id"], title=c["title"], url=c["url"]),
                parent_id=c["parent_id"], status=c["status"], status_reason=c["status_reason"],
                body_markdown=c["body_markdown"], body_html=c["body_html"], created_at=c["created_at"],
                edited_at=c["edited_at"], deleted_at=c["deleted_at"], score=c["score"], upvotes=c["upvotes"],
                downvotes=c["downvotes"], ip=c["ip"]) for c in comments[:EXPORT_LIMIT]],
            votes=[DataVote(comment_id=v["comment_id"], value=v["value"], created_at=v["created_at"])
                   for v in votes[:EXPORT_LIMIT]],
            reports=[DataReport(comment_id=r["comment_id"], reason=r["reason"], note=r["note"],
                                created_at=r["created_at"], open=r["open"]) for r in reports[:EXPORT_LIMIT]],
            subscriptions=[DataSubscription(
                id=s["id"], scope=s["scope"], article_id=s["external_id"], comment_id=s["comment_id"],
                email=s["email"], confirmed=s["confirmed"], created_at=s["created_at"])
                for s in subscriptions[:EXPORT_LIMIT]],
            problem_reports=[DataProblemReport(
                reference=p["reference"], article_id=p["article_external_id"], comment_id=p["comment_id"],
                description=p["description"], user_agent=p["user_agent"], status=p["status"],
                created_at=p["created_at"]) for p in problems[:EXPORT_LIMIT]],
            ban=DataBan(until=ban["until"], reason=ban["reason"]) if ban is not None else None,
            limit=EXPORT_LIMIT, truncated=cut,
            statements=statements[:EXPORT_LIMIT])

    # --------------------------------------------------------------- erasure
    async def erase_own(self, entry: SiteEntry, actor: Actor, confirm: str | None) -> ErasureReceipt:
        """The reader's own request: the signed-in reader (SSO or guest token) of this site."""
        identity = _signed_in(actor)
        _confirmed(confirm)
        mode = erasure_mode(entry.site.settings)
        async with self.pool.acquire() as conn:
            user_id = await Readers.known_user_id(conn, identity)
        receipt = None
        if user_id is not None:
            receipt = await self._erase(entry.site.id, user_id, mode, actor_id=f"user:{user_id}",
                                        actor_name="the reader")
        # nothing stored for this reader (an SSO reader who never wrote): nothing to erase
        return receipt or ErasureReceipt(user_id=None, mode=mode)

    async def erase_user(self, staff: StaffLike, site_id: str | None, user_id: int,
                         confirm: str | None) -> ErasureReceipt:
        """An admin's request for a reader of their site (one who asked by email, say)."""
        scope = one_site(staff, site_id, "Erasing a reader's data needs the site query parameter.")
        _confirmed(confirm)
        entry = await self.sites.get(scope)
        receipt = await self._erase(scope, user_id, erasure_mode(entry.site.settings), actor_id=staff.id,
                                    actor_name=staff.name)
        if receipt is None:
            raise DomainError("user_not_found")  # another site's reader answers as a missing one
        return receipt

    async def _erase(self, site_id: str, user_id: int, mode: ErasureMode, *, actor_id: str,
                     actor_name: str) -> ErasureReceipt | None:
        """None: the site has no such user."""
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                # the reader's row lock: their own writes (which read it) wait, and two erasures take turns
                user = await repo.user(conn, user_id, for_update=True)
                if user is None or user["site_id"] != site_id:
                    return None
                # first: what they are still to be sent is found by their address and their comments
                await repo.drop_queued_deliveries(conn, site_id, user_id, user["email"])
                tombstoned, touched = await repo.tombstone(conn, user_id)
                removed = 0
                if mode == "remove":
                    for _ in range(_MAX_REMOVAL_ROUNDS):
                        gone, articles = await repo.remove_leaves(conn, user_id)
                        if not gone:
                            break
                        removed += gone
                        touched |= articles
                await repo.drop_queued_jobs(conn, user_id)
                await repo.anonymise_user(conn, user_id)
                receipt = ErasureReceipt(
                    user_id=user_id, mode=mode, comments_tombstoned=tombstoned, comments_removed=removed,
                    votes_removed=await repo.drop_votes(conn, user_id),
                    reports_unlinked=await repo.unlink_reports(conn, user_id),
                    subscriptions_removed=await repo.drop_subscriptions(conn, user_id),
                    problem_reports_cleared=await repo.clear_problem_reports(conn, user_id),
                    articles_refreshed=len(touched))
                # the user id and counts only: the audit log outlives the erasure and must not undo it
                await audit_repo.record(conn, site_id=site_id, actor_id=actor_id, actor_name=actor_name,
                                        action=ERASED, user_id=user_id,
                                        details={"mode": mode, "comments_tombstoned": tombstoned,
                                                 "comments_removed": removed, "votes_removed": receipt.votes_removed,
                                                 "reports_unlinked": receipt.reports_unlinked})
            refreshed = await repo.articles(conn, touched)
        # after commit: every cached page of those articles goes (names and bodies were on them)
        for article in refreshed:
            await self.publisher.article_changed(article["site_id"], article["external_id"])
        return receipt


class Retention:
    """Clears personal fields past their retention, a batch per statement (db/privacy.py)."""

    def __init__(self, pool: asyncpg.Pool, settings: PrivacySettings) -> None:
        self.pool = pool
        self.settings = settings

    async def sweep(self) -> RetentionResult:
        cfg = self.settings
        result = RetentionResult(
            comment_ips=await self._batches(repo.clear_comment_ips, cfg.ip_retention_days),
            problem_report_agents=await self._batches(repo.clear_problem_report_agents, cfg.ip_retention_days),
            problem_reports=await self._batches(repo.clear_old_problem_reports, cfg.problem_report_retention_days))
        if result != RetentionResult():
            log.info("retention cleared personal data", extra={
                "comment_ips": result.comment_ips, "problem_report_agents": result.problem_report_agents,
                "problem_reports": result.problem_reports})
        return result

    async def _batches(self, clear: Any, days: int) -> int:
        total = 0
        for _ in range(self.settings.retention_max_batches):
            # each batch its own statement and transaction: locks last one batch
            async with self.pool.acquire() as conn:
                done = await clear(conn, days, self.settings.retention_batch)
            total += done
            if done < self.settings.retention_batch:
                break
        return total


def _signed_in(actor: Actor) -> Identity:
    if actor.identity is None:
        raise DomainError("auth_required", "Sign in (or use the guest token you posted with) to reach your data.")
    return actor.identity


def _confirmed(confirm: str | None) -> None:
    if confirm != CONFIRMATION:
        raise DomainError("erasure_not_confirmed")


def _now() -> datetime:
    return datetime.now(UTC)
