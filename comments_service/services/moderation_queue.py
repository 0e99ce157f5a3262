"""The moderation queue and decisions: what waits for a moderator (held, reported), and approving,
rejecting (single, bulk) and undoing. Every decision is written to the audit log in the same
transaction as the change it records; what readers see changes through services/publishing.py."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import asyncpg

from ..db import audit as audit_repo
from ..db import comments as comment_repo
from ..db import moderation as mod_repo
from ..db.articles import external_id_of, get_by_external
from ..db.connection import Connection
from ..domain import cursor as cursors
from ..domain import moderation as rules
from ..domain.models import CommentRow
from ..domain.moderation_models import (
    AuthorHistory,
    BulkResult,
    DecisionResult,
    QueueArticle,
    QueueComment,
    QueueCounts,
    QueueItem,
    QueuePage,
    QueueParent,
    ReasonCode,
    ReasonCodes,
    ReportSummary,
)
from ..domain.scoring_models import stored_scores
from ..errors import DomainError
from .publishing import Publisher, VisibleChange, VisibleEvent
from .sites import SiteDirectory
from .staff_scope import StaffLike, require_site, scope_of, site_settings

log = logging.getLogger("comments_service.moderation")

_MIN_TIME = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_ID = 2**63 - 1
UNDO_WINDOW = timedelta(minutes=10)


class ModerationQueue:
    def __init__(self, pool: asyncpg.Pool, sites: SiteDirectory, publisher: Publisher) -> None:
        self.pool = pool
        self.sites = sites
        self.publisher = publisher

    # ---------------------------------------------------------------- queues
    async def queue(self, staff: StaffLike, *, site_id: str | None, state: str, sort: str,
                    external_id: str | None, cursor: str | None, limit: int) -> QueuePage:
        scope = scope_of(staff, site_id)
        threshold = rules.report_threshold(await site_settings(self.sites, scope))
        if cursor:
            try:
                c = cursors.decode_queue(cursor, state, sort)
            except cursors.CursorError as exc:
                raise DomainError("invalid_cursor", str(exc)) from None
            after = (cursors.from_micros(int(c.key)), c.id) if sort == "oldest" else (c.key, c.id)
        else:
            after = (_MIN_TIME, 0) if sort == "oldest" else (float("inf"), _MAX_ID)
        async with self.pool.acquire() as conn:
            article_id = None
            if external_id is not None:
                if scope is None:
                    raise DomainError("site_required", "Filtering by article needs the site parameter.")
                record = await get_by_external(conn, scope, external_id)
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
            key = cursors.micros(last["created_at"]) if sort == "oldest" else last["max_score"]
            next_cursor = cursors.encode(cursors.QueueCursor(state=state, sort=sort, key=key, id=last["id"]))
        return QueuePage(state=state, sort=sort, items=items, next_cursor=next_cursor)

    async def _items(self, conn: Connection, rows: list[asyncpg.Record]) -> list[QueueItem]:
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
        now = datetime.now(UTC)
        items = []
        for r in rows:
            a, u = articles[r["article_id"]], authors[r["author_id"]]
            settings = await site_settings(self.sites, a["site_id"])
            p = parents.get(r["parent_id"]) if r["parent_id"] else None
            items.append(QueueItem(
                comment=QueueComment(
                    id=r["id"], site_id=r["site_id"], parent_id=r["parent_id"], depth=r["depth"],
                    body_html=r["body_html"], body_markdown=r["body_markdown"], status=r["status"],
                    status_reason=r["status_reason"], created_at=r["created_at"], edited_at=r["edited_at"],
                    scores=stored_scores(r["toxicity"]), max_score=r["max_score"] if r["max_score"] >= 0 else None,
                    model=r["toxicity_model"], moderated_at=r["moderated_at"], moderated_by=r["moderated_by"],
                    campaign_id=r["campaign_id"], language=r["language"],
                    language_confidence=r["language_confidence"]),
                article=QueueArticle(
                    id=a["external_id"], title=a["title"], url=a["url"], premoderation=a["premoderation"],
                    comments_open=rules.is_open(a["comments_open"], a["auto_close"], a["created_at"], settings, now,
                                                a["close_at"])),
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
        scope = scope_of(staff, site_id)
        threshold = rules.report_threshold(await site_settings(self.sites, scope))
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
        async with self.pool.acquire() as conn, conn.transaction():
            result, visible = await self._decide_in(conn, staff, comment_id, action, reason, note, override)
        await self.publisher.announce([visible] if visible else [])
        return result

    async def decide_many(self, staff: StaffLike, comment_ids: list[int], action: str, *,
                          reason: str | None = None, note: str | None = None,
                          override: bool = False, site_id: str | None = None) -> BulkResult:
        """Each comment in its own short transaction: one failure never undoes the others, and
        locks are held for one row at a time."""
        scope_of(staff, site_id)
        self._check_action(action, reason)
        results: list[DecisionResult] = []
        visible: list[VisibleChange] = []
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
        await self.publisher.announce(visible)
        failed = sum(1 for r in results if r.outcome == "error")
        return BulkResult(action=action, results=results, succeeded=len(results) - failed, failed=failed)

    async def reject_for_ban(self, conn: Connection, staff: StaffLike,
                             comment_id: int) -> tuple[DecisionResult, VisibleChange | None]:
        """Inside a ban's transaction: one of the banned user's comments rejected."""
        return await self._decide_in(conn, staff, comment_id, "reject", "other", None, True,
                                     status_reason=rules.BANNED_USER_REASON)

    async def decide_in(self, conn: Connection, staff: StaffLike, comment_id: int, action: str, *,
                        reason: str | None = None, note: str | None = None,
                        override: bool = False) -> tuple[DecisionResult, VisibleChange | None]:
        """A decision inside the caller's transaction (services/dsa.py: a notice's or an appeal's
        decision commits with it); the caller announces the visible change after commit."""
        self._check_action(action, reason)
        return await self._decide_in(conn, staff, comment_id, action, reason, note, override)

    async def _decide_in(self, conn: Connection, staff: StaffLike, comment_id: int, action: str,
                         reason: str | None, note: str | None, override: bool,
                         status_reason: str | None = None) -> tuple[DecisionResult, VisibleChange | None]:
        # The row lock serialises moderators acting on one comment: the second one reads what the
        # first one decided and either finds nothing to do or is told it was already decided.
        row = await comment_repo.get(conn, comment_id, for_update=True)
        if row is None:
            raise DomainError("comment_not_found")
        state = await mod_repo.moderation_state(conn, comment_id)
        site_id = state["site_id"]
        require_site(staff, site_id)
        if action == "undo":
            return await self._undo_in(conn, staff, row, site_id)
        # a comment being scored is the worker's until it has an outcome; only a ban may take it
        if row.status == "deleted" or (row.status == "pending_scoring" and status_reason is None):
            raise DomainError("not_decidable", f"The comment is {row.status.replace('_', ' ')}.")
        target = rules.target_status(action)
        if not rules.awaiting(row.status, state["open_reports"]):
            # another moderator decided it first (or the automatic moderation did): say who
            decider = state["moderated_by"]
            if row.status == target:
                name = await audit_repo.decider_name(conn, row.id, decider) if decider else None
                return DecisionResult(comment_id=row.id, outcome="unchanged", status=row.status, decided_by=decider,
                                      decided_by_name=name, decided_at=state["moderated_at"]), None
            if not override:
                name = await audit_repo.decider_name(conn, row.id, decider) if decider else None
                who = name or decider or "the automatic moderation"
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
                                status=target, changed=True, decided_by=staff.id, decided_by_name=staff.name,
                                decided_at=decided_at)
        return result, visible

    async def _undo_in(self, conn: Connection, staff: StaffLike, row: CommentRow,
                       site_id: str) -> tuple[DecisionResult, VisibleChange | None]:
        last = await audit_repo.last_for_comment(conn, row.id)
        if (last is None or last["action"] not in ("approve", "reject") or last["after_status"] != row.status
                or datetime.now(UTC) - last["created_at"] > UNDO_WINDOW):
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
                              decided_by=staff.id, decided_by_name=staff.name, decided_at=datetime.now(UTC)), visible

    async def _recount(self, conn: Connection, row: CommentRow, before: str, after: str,
                       site_id: str) -> VisibleChange | None:
        """What readers' caches must forget after commit (counters follow visibility at commit)."""
        if before == after:
            return None
        event: VisibleEvent
        if after == "published":
            event = "published"
        elif before == "published":
            event = "removed"
        else:
            return None
        external_id = await external_id_of(conn, row.article_id)
        if external_id is None:
            return None
        return VisibleChange(site_id=site_id, external_id=external_id, row=row, event=event)




def _when(value: datetime | str | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)
