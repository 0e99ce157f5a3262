"""Moderation: queues, decisions (single, bulk, undo), user standing, reader reports, article
settings and the audit log. Every moderation action is written to the audit log in the same
transaction as the change it records."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping, Protocol

import asyncpg
import msgspec

from ..cache import Cache
from ..db import audit as audit_repo
from ..db import comments as comment_repo
from ..db import moderation as mod_repo
from ..db import reports as report_repo
from ..db.articles import external_id_of, get_by_external
from ..domain import cursor as thread_cursors
from ..domain import moderation as rules
from ..domain.models import Article, CommentRow
from ..domain.moderation_models import (
    ArticleSettings, AuditEntry, AuditPage, AuthorHistory, BanResult, BulkResult, DecisionResult, QueueArticle,
    QueueComment, QueueCounts, QueueItem, QueuePage, QueueParent, ReasonCode, ReasonCodes, ReportReceipt,
    ReportSummary, UserStanding,
)
from ..errors import DomainError
from ..ratelimit import RateLimiter
from .comments import Actor, CommentService, validate_label
from .sites import SiteDirectory, SiteEntry, article_url
from .write_guard import WriteGuard

log = logging.getLogger("comments_service.moderation")

_MIN_TIME = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MAX_ID = 2**63 - 1
UNDO_WINDOW = timedelta(minutes=10)


class StaffLike(Protocol):
    """A verified moderator or admin (api.auth.Staff)."""

    id: str
    name: str
    role: str
    site_id: str | None

    def can_act_on(self, site_id: str) -> bool: ...


# An article whose cached pages must be retired after commit, the row whose visibility changed, and
# the event.
_Visible = tuple[str, str, CommentRow | None, str]


class ModerationService:
    def __init__(self, pool: asyncpg.Pool, cache: Cache, limiter: RateLimiter, sites: SiteDirectory,
                 comments: CommentService, guard: WriteGuard) -> None:
        self.pool = pool
        self.guard = guard
        self.cache = cache
        self.limiter = limiter
        self.sites = sites
        self.comments = comments

    # ---------------------------------------------------------------- scope
    @staticmethod
    def _require(staff: StaffLike, site_id: str) -> None:
        if not staff.can_act_on(site_id):
            raise DomainError("forbidden", "This moderator may not act on that site.")

    def _scope(self, staff: StaffLike, site_id: str | None) -> str | None:
        """The site a listing covers: the one asked for, else the staff's own, else all sites."""
        if site_id is not None:
            self._require(staff, site_id)
            return site_id
        return staff.site_id

    async def _site_settings(self, site_id: str | None) -> dict:
        return (await self.sites.get(site_id)).site.settings if site_id else {}

    # ---------------------------------------------------------------- queues
    async def queue(self, staff: StaffLike, *, site_id: str | None, state: str, sort: str,
                    article_ext: str | None, cursor: str | None, limit: int) -> QueuePage:
        scope = self._scope(staff, site_id)
        threshold = rules.report_threshold(await self._site_settings(scope))
        if cursor:
            try:
                c = rules.decode_cursor(cursor, state, sort)
            except rules.CursorError as exc:
                raise DomainError("invalid_cursor", str(exc)) from None
            after = (thread_cursors.from_micros(int(c.key)), c.id) if sort == "oldest" else (c.key, c.id)
        else:
            after = (_MIN_TIME, 0) if sort == "oldest" else (float("inf"), _MAX_ID)
        async with self.pool.acquire() as conn:
            article_id = None
            if article_ext is not None:
                if scope is None:
                    raise DomainError("site_required", "Filtering by article needs the site parameter.")
                record = await get_by_external(conn, scope, article_ext)
                if record is None:
                    return QueuePage(state=state, sort=sort, items=[])
                article_id = record["id"]
            rows = await mod_repo.queue_page(conn, state, sort, site_id=scope, article_id=article_id,
                                             threshold=threshold, after=after, limit=limit + 1)
            more, rows = len(rows) > limit, rows[:limit]
            items = await self._items(conn, rows)
        next_cursor = None
        if more:
            last = rows[-1]
            key = thread_cursors.micros(last["created_at"]) if sort == "oldest" else last["max_score"]
            next_cursor = rules.encode_cursor(rules.QueueCursor(state, sort, key, last["id"]))
        return QueuePage(state=state, sort=sort, items=items, next_cursor=next_cursor)

    async def _items(self, conn: asyncpg.Connection, rows: list[asyncpg.Record]) -> list[QueueItem]:
        if not rows:
            return []
        articles = await mod_repo.articles_by_id(conn, list({r["article_id"] for r in rows}))
        parents = await mod_repo.parents_by_id(conn, list({r["parent_id"] for r in rows if r["parent_id"]}))
        authors = await mod_repo.authors_by_id(conn, list({r["author_id"] for r in rows}))
        reports: dict[int, ReportSummary] = {}
        for rep in await mod_repo.open_reports_of(conn, [r["id"] for r in rows if r["open_reports"]]):
            summary = reports.setdefault(rep["comment_id"], ReportSummary(count=0, reasons={}))
            summary.count += 1
            summary.reasons[rep["reason"]] = summary.reasons.get(rep["reason"], 0) + 1
            if rep["note"] and len(summary.notes) < 5:
                summary.notes.append(rep["note"])
        now = datetime.now(timezone.utc)
        items = []
        for r in rows:
            a, u = articles[r["article_id"]], authors[r["author_id"]]
            settings = await self._site_settings(a["site_id"])
            p = parents.get(r["parent_id"]) if r["parent_id"] else None
            items.append(QueueItem(
                comment=QueueComment(
                    id=r["id"], site_id=r["site_id"], parent_id=r["parent_id"], depth=r["depth"],
                    body_html=r["body_html"], body_markdown=r["body_markdown"], status=r["status"],
                    status_reason=r["status_reason"], created_at=r["created_at"], edited_at=r["edited_at"],
                    scores=_scores(r["toxicity"]), max_score=r["max_score"] if r["max_score"] >= 0 else None,
                    model=r["toxicity_model"], moderated_at=r["moderated_at"], moderated_by=r["moderated_by"]),
                article=QueueArticle(
                    id=a["external_id"], title=a["title"], url=a["url"], premoderation=a["premoderation"],
                    comments_open=rules.is_open(a["comments_open"], a["auto_close"], a["created_at"], settings, now)),
                author=AuthorHistory(
                    id=u["id"], name=u["display_name"], kind=u["kind"], published=u["published"], held=u["held"],
                    rejected=u["rejected"], banned=u["banned"], banned_until=u["banned_until"] if u["banned"] else None,
                    trusted=u["trusted"], premoderate=u["premoderate"]),
                parent=QueueParent(id=p["id"], author_name=p["author_name"], body_html=p["body_html"],
                                   status=p["status"]) if p else None,
                reports=reports.get(r["id"]),
            ))
        return items

    async def counts(self, staff: StaffLike, site_id: str | None) -> QueueCounts:
        scope = self._scope(staff, site_id)
        threshold = rules.report_threshold(await self._site_settings(scope))
        async with self.pool.acquire() as conn:
            row = await mod_repo.count_waiting(conn, scope, threshold)
        return QueueCounts(held=row["held"], reported=row["reported"], cap=mod_repo.COUNT_CAP)

    @staticmethod
    def reason_codes() -> ReasonCodes:
        def codes(table: dict[str, str]) -> list[ReasonCode]:
            return [ReasonCode(code=k, label=v) for k, v in table.items()]

        return ReasonCodes(reject=codes(rules.REJECT_REASONS), report=codes(rules.REPORT_REASONS),
                           hold=codes(rules.HOLD_REASONS))

    # ---------------------------------------------------------------- decisions
    @staticmethod
    def _check_action(action: str, reason: str | None) -> None:
        if action == "reject" and reason not in rules.REJECT_REASONS:
            raise DomainError("invalid_request", "A rejection needs a reason code from "
                                                 "/api/v1/moderation/reason-codes.")

    async def decide(self, staff: StaffLike, comment_id: int, action: str, *, reason: str | None = None,
                     note: str | None = None, override: bool = False) -> DecisionResult:
        self._check_action(action, reason)
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                result, visible = await self._decide_in(conn, staff, comment_id, action, reason, note, override)
        await self._announce([visible] if visible else [])
        return result

    async def decide_many(self, staff: StaffLike, comment_ids: list[int], action: str, *,
                          reason: str | None = None, note: str | None = None,
                          override: bool = False, site_id: str | None = None) -> BulkResult:
        """Each comment in its own short transaction: one failure never undoes the others, and
        locks are held for one row at a time."""
        self._scope(staff, site_id)
        self._check_action(action, reason)
        results: list[DecisionResult] = []
        visible: list[_Visible] = []
        async with self.pool.acquire() as conn:
            for comment_id in dict.fromkeys(comment_ids):
                try:
                    async with conn.transaction():
                        result, change = await self._decide_in(conn, staff, comment_id, action, reason, note,
                                                               override)
                except DomainError as err:
                    result, change = DecisionResult(comment_id=comment_id, outcome="error", error=err.code,
                                                    message=err.message), None
                results.append(result)
                if change:
                    visible.append(change)
        await self._announce(visible)
        failed = sum(1 for r in results if r.outcome == "error")
        return BulkResult(action=action, results=results, succeeded=len(results) - failed, failed=failed)

    async def _decide_in(self, conn: asyncpg.Connection, staff: StaffLike, comment_id: int, action: str,
                         reason: str | None, note: str | None, override: bool,
                         status_reason: str | None = None) -> tuple[DecisionResult, _Visible | None]:
        # The row lock serialises moderators acting on one comment: the second one reads what the
        # first one decided and either finds nothing to do or is told it was already decided.
        row = await comment_repo.get(conn, comment_id, for_update=True)
        if row is None:
            raise DomainError("comment_not_found")
        state = await mod_repo.moderation_state(conn, comment_id)
        site_id = state["site_id"]
        self._require(staff, site_id)
        if action == "undo":
            return await self._undo_in(conn, staff, row, site_id)
        # a comment being scored is the worker's until it has an outcome; only a ban may take it
        if row.status == "deleted" or (row.status == "pending_scoring" and status_reason is None):
            raise DomainError("not_decidable", f"The comment is {row.status.replace('_', ' ')}.")
        target = rules.target_status(action)
        if not rules.awaiting(row.status, state["open_reports"]):
            if row.status == target:
                return DecisionResult(comment_id=row.id, outcome="unchanged", status=row.status,
                                      decided_by=state["moderated_by"], decided_at=state["moderated_at"]), None
            if not override:
                who = state["moderated_by"] or "the automatic moderation"
                raise DomainError("already_decided", f"The comment is already {row.status} (decided by {who}).")
        new_reason = status_reason or (rules.APPROVED_REASON if action == "approve" else reason)
        decided_at = await mod_repo.apply_decision(conn, row.id, target, new_reason, staff.id)
        action_id = await audit_repo.record(
            conn, site_id=site_id, actor_id=staff.id, actor_name=staff.name, action=action, comment_id=row.id,
            user_id=row.author_id, article_id=row.article_id, before_status=row.status, after_status=target,
            reason=reason if action == "reject" else None, note=note,
            details={"before_reason": row.status_reason, "before_moderated_at": state["moderated_at"],
                     "before_moderated_by": state["moderated_by"], "open_reports": state["open_reports"]})
        await mod_repo.resolve_reports(conn, row.id, action_id)
        visible = await self._recount(conn, row, row.status, target, site_id)
        result = DecisionResult(comment_id=row.id, outcome="approved" if action == "approve" else "rejected",
                                status=target, changed=True, decided_by=staff.id, decided_at=decided_at)
        return result, visible

    async def _undo_in(self, conn: asyncpg.Connection, staff: StaffLike, row: CommentRow,
                       site_id: str) -> tuple[DecisionResult, _Visible | None]:
        last = await audit_repo.last_for_comment(conn, row.id)
        if (last is None or last["action"] not in ("approve", "reject") or last["after_status"] != row.status
                or datetime.now(timezone.utc) - last["created_at"] > UNDO_WINDOW):
            raise DomainError("nothing_to_undo")
        details = last["details"] or {}
        reopened, first_report = await mod_repo.reopen_reports(conn, last["id"])
        before = last["before_status"]
        await mod_repo.restore(conn, row.id, status=before, reason=details.get("before_reason"),
                               moderated_at=_when(details.get("before_moderated_at")),
                               moderated_by=details.get("before_moderated_by"), open_reports=reopened,
                               reported_at=first_report)
        await audit_repo.record(conn, site_id=site_id, actor_id=staff.id, actor_name=staff.name, action="undo",
                                comment_id=row.id, user_id=row.author_id, article_id=row.article_id,
                                before_status=row.status, after_status=before, details={"undoes": last["id"]})
        visible = await self._recount(conn, row, row.status, before, site_id)
        return DecisionResult(comment_id=row.id, outcome="undone", status=before, changed=True,
                              decided_by=staff.id, decided_at=datetime.now(timezone.utc)), visible

    async def _recount(self, conn: asyncpg.Connection, row: CommentRow, before: str, after: str,
                       site_id: str) -> _Visible | None:
        """What readers' caches must forget after commit (counters follow visibility at commit)."""
        if before == after:
            return None
        if after == "published":
            event = "published"
        elif before == "published":
            event = "removed"
        else:
            return None
        return site_id, await external_id_of(conn, row.article_id), row, event

    async def _announce(self, visible: list[_Visible]) -> None:
        """After commit."""
        if not visible:
            return
        rows = [row for _, _, row, event in visible if event == "published"]
        async with self.pool.acquire() as conn:
            published = dict(zip((row.id for row in rows), await self.comments.publications(conn, rows)))
        for site_id, article_ext, row, event in visible:
            await self.comments.after_visible_change(site_id, article_ext, row, event=event,
                                                     published=published.get(row.id) if row else None)

    # ---------------------------------------------------------------- users
    async def _user_of(self, conn: asyncpg.Connection, staff: StaffLike, user_id: int,
                       for_update: bool = False) -> asyncpg.Record:
        user = await mod_repo.user(conn, user_id, for_update=for_update)
        if user is None:
            raise DomainError("user_not_found")
        self._require(staff, user["site_id"])
        return user

    async def user_standing(self, site_id: str, user_id: int) -> UserStanding | None:
        """Whether a user of a site is banned (until when), premoderated or trusted; None if unknown.
        For the troubleshooter and the widget: no moderator needed."""
        async with self.pool.acquire() as conn:
            return await self._standing(conn, site_id, user_id)

    @staticmethod
    async def _standing(conn: asyncpg.Connection, site_id: str, user_id: int) -> UserStanding | None:
        user = await mod_repo.user(conn, user_id)
        if user is None or user["site_id"] != site_id:
            return None
        ban = await mod_repo.active_ban(conn, site_id, user_id)
        return UserStanding(user_id=user_id, site_id=site_id, name=user["display_name"], kind=user["kind"],
                            banned=ban is not None, banned_until=ban["until"] if ban else None,
                            ban_reason=ban["reason"] if ban else None, premoderated=user["premoderate"],
                            trusted=user["trusted"])

    async def standing_for(self, staff: StaffLike, user_id: int) -> UserStanding:
        async with self.pool.acquire() as conn:
            user = await self._user_of(conn, staff, user_id)
            return await self._standing(conn, user["site_id"], user_id)

    async def ban(self, staff: StaffLike, user_id: int, *, until: datetime | None, reason: str | None,
                  note: str | None, reject_existing: bool) -> BanResult:
        if until is not None and until <= datetime.now(timezone.utc):
            raise DomainError("invalid_request", "The ban's end time must be in the future.")
        visible: list[_Visible] = []
        rejected = 0
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                user = await self._user_of(conn, staff, user_id, for_update=True)
                site_id = user["site_id"]
                await mod_repo.upsert_ban(conn, site_id, user_id, until, reason, note, staff.id)
                await audit_repo.record(conn, site_id=site_id, actor_id=staff.id, actor_name=staff.name,
                                        action="ban", user_id=user_id, reason=reason, note=note,
                                        details={"until": until, "reject_existing": reject_existing})
                if reject_existing:
                    for comment_id in await mod_repo.comments_to_reject(conn, user_id, site_id):
                        result, change = await self._decide_in(conn, staff, comment_id, "reject", "other", None,
                                                               True, status_reason=rules.BANNED_USER_REASON)
                        rejected += result.changed
                        if change:
                            visible.append(change)
                standing = await self._standing(conn, site_id, user_id)
        await self._announce(visible)
        return BanResult(standing=standing, rejected_comments=rejected)

    async def unban(self, staff: StaffLike, user_id: int) -> UserStanding:
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                user = await self._user_of(conn, staff, user_id, for_update=True)
                if await mod_repo.delete_ban(conn, user["site_id"], user_id):
                    await audit_repo.record(conn, site_id=user["site_id"], actor_id=staff.id,
                                            actor_name=staff.name, action="unban", user_id=user_id)
                return await self._standing(conn, user["site_id"], user_id)

    async def set_user_flags(self, staff: StaffLike, user_id: int, *, trusted: bool | None,
                             premoderate: bool | None, note: str | None = None) -> UserStanding:
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                user = await self._user_of(conn, staff, user_id, for_update=True)
                await mod_repo.set_user_flags(conn, user_id, trusted, premoderate)
                for name, value, old in (("trust", trusted, user["trusted"]),
                                         ("premoderate", premoderate, user["premoderate"])):
                    if value is not None and value != old:
                        await audit_repo.record(conn, site_id=user["site_id"], actor_id=staff.id,
                                                actor_name=staff.name, action=name if value else f"un{name}",
                                                user_id=user_id, note=note)
                return await self._standing(conn, user["site_id"], user_id)

    # ---------------------------------------------------------------- the read path
    @staticmethod
    def _open(entry: SiteEntry, article: Mapping[str, Any]) -> bool:
        """``article``: a row of articles as db/articles reads it (auto_close and created_at included)."""
        return rules.is_open(article["comments_open"], article["auto_close"], article["created_at"],
                             entry.site.settings, datetime.now(timezone.utc))

    async def article_view(self, site_id: str, record: Mapping[str, Any], article: Article) -> Article:
        """CommentService read hook: an auto-closed article reads as closed."""
        entry = await self.sites.get(site_id)
        if not article.comments_open or rules.auto_close_days(entry.site.settings) is None:
            return article
        if self._open(entry, record):
            return article
        return msgspec.structs.replace(article, comments_open=False)

    # ---------------------------------------------------------------- reports
    async def report(self, entry: SiteEntry, actor: Actor, comment_id: int, reason: str,
                     note: str | None) -> ReportReceipt:
        identity = actor.identity
        if identity is None:
            raise DomainError("auth_required")
        await self.limiter.check("report", user=CommentService._subject(identity), ip=actor.ip)
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                row, article = await CommentService.comment_and_article(conn, comment_id, entry.site.id)
                if row.status != "published":
                    raise DomainError("comment_not_found")
                reporter = await self.comments._user_id(conn, identity)
                await self.guard.check(conn, entry, "report", user_id=reporter, kind=identity.kind, article=article,
                                       address=actor.ip)
                if not await report_repo.add(conn, comment_id, reporter, reason, (note or "").strip() or None):
                    raise DomainError("already_reported")
        return ReportReceipt(comment_id=comment_id, reason=reason, state="received")

    # ---------------------------------------------------------------- articles and sites
    async def update_article(self, staff: StaffLike, site_id: str, article_ext: str, *,
                             comments_open: bool | None, premoderation: bool | None,
                             title: str | None = None, url: str | None = None,
                             note: str | None = None) -> ArticleSettings:
        self._require(staff, site_id)
        entry = await self.sites.get(site_id)
        if url is not None:
            url = article_url(entry.site, url)
        if title is not None:
            title = validate_label(title)
            if not title:
                raise DomainError("invalid_request", "The title is blank.")
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                before = await mod_repo.article_for_update(conn, site_id, article_ext)
                if before is None:
                    raise DomainError("article_not_found")
                after = await mod_repo.update_article(conn, before["id"], comments_open, premoderation, title, url)
                changes = {k: [before[k], after[k]]
                           for k in ("comments_open", "premoderation", "auto_close", "title", "url")
                           if before[k] != after[k]}
                if changes:
                    await audit_repo.record(conn, site_id=site_id, actor_id=staff.id, actor_name=staff.name,
                                            action="article_settings", article_id=before["id"], note=note,
                                            details=changes)
        await self.cache.bump(site_id, article_ext)
        days = rules.auto_close_days(entry.site.settings)
        closes_at = after["created_at"] + timedelta(days=days) if days and after["auto_close"] else None
        return ArticleSettings(
            id=article_ext, site_id=site_id, title=after["title"], url=after["url"],
            premoderation=after["premoderation"], auto_close=after["auto_close"],
            closes_at=closes_at,
            comments_open=rules.is_open(after["comments_open"], after["auto_close"], after["created_at"],
                                        entry.site.settings, datetime.now(timezone.utc)))

    async def update_site_settings(self, staff: StaffLike, site_id: str, changes: dict) -> dict:
        self._require(staff, site_id)
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                settings = await mod_repo.merge_site_settings(conn, site_id, changes)
                if settings is None:
                    raise DomainError("unknown_site")
                await audit_repo.record(conn, site_id=site_id, actor_id=staff.id, actor_name=staff.name,
                                        action="site_settings", details=changes)
        self.sites.forget(site_id)
        return settings

    # ---------------------------------------------------------------- audit
    async def audit(self, staff: StaffLike, *, site_id: str | None, comment_id: int | None, user_id: int | None,
                    moderator: str | None, action: str | None, since: datetime | None, until: datetime | None,
                    cursor: str | None, limit: int) -> AuditPage:
        scope = self._scope(staff, site_id)
        before_id = None
        if cursor:
            try:
                before_id = thread_cursors.decode_id(cursor)
            except thread_cursors.CursorError:
                raise DomainError("invalid_cursor") from None
        filters = {"site_id": scope, "comment_id": comment_id, "user_id": user_id, "actor_id": moderator,
                   "action": action, "since": since, "until": until, "before_id": before_id}
        async with self.pool.acquire() as conn:
            rows = await audit_repo.query(conn, filters, limit + 1)
        entries = [AuditEntry(**{k: r[k] for k in AuditEntry.__struct_fields__}) for r in rows[:limit]]
        return AuditPage(entries=entries, next_cursor=str(entries[-1].id) if len(rows) > limit else None)


def _scores(toxicity) -> dict[str, float] | None:
    if not isinstance(toxicity, dict):
        return None
    source = toxicity.get("scores") if isinstance(toxicity.get("scores"), dict) else toxicity
    scores = {k: float(v) for k, v in source.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return scores or None


def _when(value) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)
