"""The Digital Services Act: notices of illegal content (Art. 16) and the moderators' decisions on
them, statements of reasons (Art. 17) as their authors read them, appeals (Art. 20), and the
transparency report (Art. 15/24).

Statements are written by the database (migrations/0019_dsa.sql) in the transaction of every
rejection, automatic hold and ban, whichever path makes it; this service reads them, attaches
appeals, and acts on appeals through the moderation services, so that a reversal is audited,
retires cached pages and tells live readers exactly as a moderator's own decision does. Emails go
through the notification outbox's deliveries (services/notifications.py sends them)."""

from __future__ import annotations

import base64
import csv
import io
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import asyncpg

from .. import i18n
from ..db import audit as audit_repo
from ..db import dsa as repo
from ..db import notifications as notification_repo
from ..db.connection import Connection
from ..domain import dsa_models as m
from ..domain import moderation as rules
from ..domain.email_addresses import normalise
from ..domain.limits import address_group
from ..errors import DomainError
from ..identity import Identity, Keyring
from ..ratelimit import RateLimiter
from .audit_export import cell
from .comments import Actor
from .moderation_queue import ModerationQueue
from .publishing import Publisher, VisibleChange
from .readers import Readers
from .sites import SiteDirectory, SiteEntry
from .staff_scope import StaffLike, one_site, require_site
from .user_moderation import UserModeration

# no 0/O or 1/I: a reference is read out and typed back
_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_APPEAL_KEY_PURPOSE = "dsa-notice-appeal"
_APPEAL_KEY_BYTES = 16
LIST_LIMIT = 200
TRANSPARENCY_MAX_DAYS = 400

ListStatus = Literal["open", "decided", "all"]


def new_reference() -> str:
    """N-XXXX-XXXX: 40 random bits, enough that nobody finds another's notice by guessing (and
    the reference alone grants nothing: an appeal needs the key too)."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"N-{chars[:4]}-{chars[4:]}"


def _age(start: datetime, end: datetime | None) -> int:
    return max(0, int(((end or datetime.now(UTC)) - start).total_seconds()))


class Dsa:
    def __init__(self, pool: asyncpg.Pool, sites: SiteDirectory, limiter: RateLimiter, readers: Readers,
                 keyring: Keyring, decisions: ModerationQueue, users: UserModeration, publisher: Publisher) -> None:
        self.pool = pool
        self.sites = sites
        self.limiter = limiter
        self.readers = readers
        self.keyring = keyring
        self.decisions = decisions
        self.users = users
        self.publisher = publisher

    # ---------------------------------------------------------------- the appeal key of a notice
    def appeal_key(self, site_id: str, reference: str) -> str:
        """A MAC of the notice's reference under the service key: the notifier's credential for an
        appeal, given in the receipt and the decision email; nothing to store or leak from the table."""
        tag = self.keyring.mac(_APPEAL_KEY_PURPOSE, f"{site_id}\0{reference}".encode())[:_APPEAL_KEY_BYTES]
        return base64.b32encode(tag).decode().rstrip("=")

    def _appeal_key_matches(self, site_id: str, reference: str, key: str) -> bool:
        try:
            tag = base64.b32decode(key.strip().upper() + "=" * (-len(key.strip()) % 8))
        except ValueError:
            return False
        return self.keyring.mac_prefix_matches(_APPEAL_KEY_PURPOSE, f"{site_id}\0{reference}".encode(), tag)

    # ---------------------------------------------------------------- notices (Art. 16)
    async def notify(self, entry: SiteEntry, actor: Actor, *, comment_id: int, category: str, explanation: str,
                     name: str | None, email: str | None, good_faith: bool,
                     locale: str | None = None) -> m.NoticeReceipt:
        """``locale``: the language the notifier asked in (i18n.asked), for the decision email."""
        if not good_faith:
            raise DomainError("good_faith_required")
        explanation = explanation.strip()
        if not explanation:
            raise DomainError("invalid_request", i18n.N_("The notice needs an explanation of why the comment is "
                                                         "illegal."))
        name = (name or "").strip() or None
        address = None
        if email is not None and email.strip():
            address = normalise(email)
            if address is None:
                raise DomainError("invalid_email")
        if category not in m.ANONYMOUS_CATEGORIES and (name is None or address is None):
            raise DomainError("notifier_contact_required")
        site_id = entry.site.id
        await self.limiter.check("notice", user=self.readers.subject(actor.identity), ip=actor.ip)
        if actor.ip is not None:  # (a unix socket's clients have no address to tell them apart)
            await self.limiter.check("notice_once", user=f"{site_id}:{comment_id}@{address_group(actor.ip)}",
                                     ip=None)
        if address is not None:
            await self.limiter.check("notice_once", user=f"{site_id}:{comment_id}>{address.lower()}", ip=None)
            await self.limiter.check("notice_recipient", user=f"{site_id}:to:{address.lower()}", ip=None)
        async with self.pool.acquire() as conn, conn.transaction():
            row, _ = await self.readers.comment_of_site(conn, comment_id, site_id)
            # only what the notifier can see: a held or removed comment answers as a missing one,
            # so a notice never tells a stranger that a hidden comment exists
            if row.status != "published":
                raise DomainError("comment_not_found")
            for _ in range(8):
                reference = new_reference()
                made = await repo.insert_notice(conn, reference=reference, site_id=site_id, comment_id=comment_id,
                                                category=category, explanation=explanation, name=name,
                                                email=address, locale=i18n.supported(locale))
                if made is not None:
                    break
            else:  # pragma: no cover - 8 collisions in 2^40 references
                raise DomainError("service_unavailable")
        return m.NoticeReceipt(reference=reference, received_at=made["received_at"],
                               appeal_key=self.appeal_key(site_id, reference))

    async def notices(self, staff: StaffLike, site_id: str | None, status: ListStatus, limit: int) -> m.NoticePage:
        scope = one_site(staff, site_id)
        async with self.pool.acquire() as conn:
            rows = await repo.notices_page(conn, scope, None if status == "all" else status, limit)
            comments = await repo.notice_comments(conn, [r["comment_id"] for r in rows if r["comment_id"]])
            waiting = await repo.count_open_notices(conn, scope)
        return m.NoticePage(items=[_notice_view(r, comments) for r in rows], open=waiting)

    async def decide_notice(self, staff: StaffLike, notice_id: int, *, action: str, reason: str | None,
                            explanation: str) -> m.NoticeView:
        explanation = explanation.strip()
        if not explanation:
            raise DomainError("invalid_request", "A decision on a notice needs an explanation.")
        if action == "remove" and reason not in rules.REJECT_REASONS:
            raise DomainError("invalid_request", "Removing needs a reason code from /api/v1/moderation/reason-codes.")
        visible: list[VisibleChange] = []
        async with self.pool.acquire() as conn, conn.transaction():
            notice = await repo.notice(conn, notice_id, for_update=True)
            if notice is None or not staff.can_act_on(notice["site_id"]):
                raise DomainError("notice_not_found")
            if notice["decided_at"] is not None:
                raise DomainError("notice_already_decided")
            if action == "remove":
                if notice["comment_id"] is None:
                    raise DomainError("not_decidable", "The comment no longer exists.")
                await repo.answering_notice(conn, notice_id)
                _, change = await self.decisions.decide_in(conn, staff, notice["comment_id"], "reject",
                                                           reason=reason, note=explanation, override=True)
                await repo.answering_notice(conn, None)
                if change:
                    visible.append(change)
            decided_at = await repo.decide_notice(conn, notice_id, decision=action,
                                                  reason=reason if action == "remove" else None,
                                                  explanation=explanation, staff_id=staff.id, staff_name=staff.name)
            await audit_repo.record(conn, site_id=notice["site_id"], actor_id=staff.id, actor_name=staff.name,
                                    action="notice_decision", comment_id=notice["comment_id"], note=explanation,
                                    reason=reason if action == "remove" else None,
                                    details={"notice_id": notice_id, "reference": notice["reference"],
                                             "category": notice["category"], "decision": action})
            if notice["notifier_email"]:
                site = (await self.sites.get(notice["site_id"])).site
                await notification_repo.enqueue(
                    conn, site_id=notice["site_id"], channel="email", kind="notice_decision",
                    recipient=notice["notifier_email"], subscription_id=None, key=f"notice_decision:{notice_id}",
                    payload={"reference": notice["reference"], "category": notice["category"], "decision": action,
                             "explanation": explanation, "site_name": site.name, "locale": notice["notifier_locale"],
                             "appeal_key": self.appeal_key(notice["site_id"], notice["reference"])
                             if action == "keep" else None})
            decided = await repo.notice(conn, notice_id)
            comments = await repo.notice_comments(conn, [notice["comment_id"]] if notice["comment_id"] else [])
        await self.publisher.announce(visible)
        assert decided is not None and decided_at is not None
        return _notice_view(decided, comments)

    # ---------------------------------------------------------------- statements (Art. 17), the author's
    async def my_statements(self, entry: SiteEntry, identity: Identity | None, comment_id: int | None,
                            limit: int, locale: str = i18n.DEFAULT) -> m.StatementList:
        if identity is None:
            raise DomainError("auth_required")
        async with self.pool.acquire() as conn:
            user_id = await self.readers.known_user_id(conn, identity)
            if user_id is None:
                return m.StatementList(items=[])
            rows = await repo.statements_of_user(conn, entry.site.id, user_id, comment_id, limit)
            appeals = await repo.appeals_of_statements(conn, [r["id"] for r in rows])
        return m.StatementList(items=[statement_view(r, appeals.get(r["id"]), locale) for r in rows])

    async def in_force(self, site_id: str, user_id: int, comment_id: int | None,
                       locale: str = i18n.DEFAULT) -> m.StatementView | None:
        """The statement still in force on the user's comment, or on their account (``comment_id``
        None: their ban), for the troubleshooter to show its author (in ``locale``)."""
        async with self.pool.acquire() as conn:
            row = await repo.statement_in_force(conn, site_id, user_id, comment_id)
            if row is None:
                return None
            appeal = (await repo.appeals_of_statements(conn, [row["id"]])).get(row["id"])
        return statement_view(row, appeal, locale)

    async def appeal_statement(self, entry: SiteEntry, actor: Actor, statement_id: int,
                               explanation: str, locale: str | None = None) -> m.AppealReceipt:
        """``locale``: the language the author asked in, for the decision email."""
        identity = actor.identity
        if identity is None:
            raise DomainError("auth_required")
        explanation = _explanation(explanation)
        await self.limiter.check("appeal", user=self.readers.subject(identity), ip=actor.ip)
        async with self.pool.acquire() as conn, conn.transaction():
            user_id = await self.readers.known_user_id(conn, identity)
            statement = await repo.statement(conn, statement_id, for_update=True)
            # another reader's statement answers as a missing one: no probing whose decisions exist
            if statement is None or user_id is None or statement["user_id"] != user_id \
                    or statement["site_id"] != entry.site.id:
                raise DomainError("statement_not_found")
            if datetime.now(UTC) > m.appeal_until(statement["created_at"]):
                raise DomainError("appeal_too_late")
            if statement["lifted_at"] is not None:
                raise DomainError("statement_lifted")
            made = await repo.insert_appeal(conn, site_id=entry.site.id, statement_id=statement_id, notice_id=None,
                                            appellant="author", explanation=explanation,
                                            first_decided_by=statement["decided_by"], locale=i18n.supported(locale))
            if made is None:
                raise DomainError("already_appealed")
        return m.AppealReceipt(id=made["id"], created_at=made["created_at"])

    async def appeal_notice(self, entry: SiteEntry, actor: Actor, reference: str, key: str,
                            explanation: str, locale: str | None = None) -> m.AppealReceipt:
        """A notifier's appeal of a decision to keep what they reported: the reference and the
        appeal key (receipt, decision email) are the credential, no account needed. ``locale``: the
        language they asked in, for the decision email."""
        explanation = _explanation(explanation)
        await self.limiter.check("appeal", user=self.readers.subject(actor.identity), ip=actor.ip)
        site_id = entry.site.id
        if not self._appeal_key_matches(site_id, reference, key):
            raise DomainError("appeal_key_invalid")
        async with self.pool.acquire() as conn, conn.transaction():
            notice = await repo.notice_by_reference(conn, site_id, reference, for_update=True)
            if notice is None:
                raise DomainError("notice_not_found")
            if notice["decision"] != "keep":
                raise DomainError("notice_not_appealable")
            if datetime.now(UTC) > notice["decided_at"] + m.APPEAL_WINDOW:
                raise DomainError("appeal_too_late")
            made = await repo.insert_appeal(conn, site_id=site_id, statement_id=None, notice_id=notice["id"],
                                            appellant="notifier", explanation=explanation,
                                            first_decided_by=notice["decided_by"], locale=i18n.supported(locale))
            if made is None:
                raise DomainError("already_appealed")
        return m.AppealReceipt(id=made["id"], created_at=made["created_at"])

    # ---------------------------------------------------------------- appeals (Art. 20), the moderators'
    async def appeals(self, staff: StaffLike, site_id: str | None, status: ListStatus, limit: int) -> m.AppealPage:
        scope = one_site(staff, site_id)
        async with self.pool.acquire() as conn:
            rows = await repo.appeals_page(conn, scope, None if status == "all" else status, limit)
            waiting = await repo.count_open_appeals(conn, scope)
            items = await self._appeal_views(conn, scope, rows)
        return m.AppealPage(items=items, open=waiting)

    async def _appeal_views(self, conn: Connection, site_id: str, rows: list[asyncpg.Record]) -> list[m.AppealView]:
        statements = await repo.statements_by_ids(conn, [r["statement_id"] for r in rows if r["statement_id"]])
        notices = {n["id"]: n for n in [await repo.notice(conn, r["notice_id"]) for r in rows if r["notice_id"]] if n}
        comments = await repo.notice_comments(conn, [n["comment_id"] for n in notices.values() if n["comment_id"]])
        names = await repo.staff_names(conn, site_id, [r["first_decided_by"] for r in rows if r["first_decided_by"]])
        views = []
        for r in rows:
            statement = statements.get(r["statement_id"]) if r["statement_id"] else None
            notice = notices.get(r["notice_id"]) if r["notice_id"] else None
            views.append(m.AppealView(
                id=r["id"], appellant=r["appellant"], explanation=r["explanation"], created_at=r["created_at"],
                age_seconds=_age(r["created_at"], r["decided_at"]), first_decided_by=r["first_decided_by"],
                first_decided_by_name=names.get(r["first_decided_by"]) if r["first_decided_by"] else None,
                statement=statement_view(statement, None) if statement else None,
                notice=_notice_view(notice, comments) if notice else None, outcome=r["outcome"],
                outcome_explanation=r["outcome_explanation"], decided_by=r["decided_by"],
                decided_by_name=r["decided_by_name"], decided_at=r["decided_at"]))
        return views

    async def decide_appeal(self, staff: StaffLike, appeal_id: int, *, outcome: str,
                            explanation: str) -> m.AppealView:
        """A person decides (Art. 20(6): never solely by automated means; every staff route is a
        person's token or session), and not the one who took the decision appealed."""
        explanation = _explanation(explanation)
        visible: list[VisibleChange] = []
        async with self.pool.acquire() as conn, conn.transaction():
            appeal = await repo.appeal(conn, appeal_id, for_update=True)
            if appeal is None or not staff.can_act_on(appeal["site_id"]):
                raise DomainError("appeal_not_found")
            if appeal["decided_at"] is not None:
                raise DomainError("appeal_already_decided")
            if appeal["first_decided_by"] is not None and appeal["first_decided_by"] == staff.id:
                raise DomainError("appeal_same_decider")
            site_id = appeal["site_id"]
            # (address, who, the language they asked in: the appellant's with their appeal, a notifier's
            # with their notice)
            recipients: list[tuple[str, str, str | None]] = []
            if appeal["statement_id"] is not None:
                statement = await repo.statement(conn, appeal["statement_id"], for_update=True)
                assert statement is not None  # the appeal's foreign key
                if outcome == "reverse":
                    visible.extend(await self._reverse_statement(conn, staff, statement))
                email = await repo.user_email(conn, statement["user_id"])
                if email:
                    recipients.append((email, "author", appeal["locale"]))
                # a removal that answered a notice: its notifier learns what became of it
                answered = (await repo.notice(conn, statement["notice_id"])
                            if statement["notice_id"] is not None else None)
                if answered is not None and answered["notifier_email"]:
                    recipients.append((answered["notifier_email"], "notifier", answered["notifier_locale"]))
            else:
                notice = await repo.notice(conn, appeal["notice_id"], for_update=True)
                assert notice is not None
                if outcome == "reverse" and notice["comment_id"] is not None:
                    # the notifier was right: the comment comes down now, as an answer to the notice
                    await repo.answering_notice(conn, notice["id"])
                    try:
                        _, change = await self.decisions.decide_in(conn, staff, notice["comment_id"], "reject",
                                                                   reason="illegal", note=explanation, override=True)
                    except DomainError as err:
                        if err.code != "not_decidable":
                            raise
                        change = None  # its author deleted it meanwhile: it is down already
                    await repo.answering_notice(conn, None)
                    if change:
                        visible.append(change)
                if notice["notifier_email"]:
                    recipients.append((notice["notifier_email"], "notifier",
                                       appeal["locale"] or notice["notifier_locale"]))
            await repo.decide_appeal(conn, appeal_id, outcome=outcome, explanation=explanation, staff_id=staff.id,
                                     staff_name=staff.name)
            await audit_repo.record(conn, site_id=site_id, actor_id=staff.id, actor_name=staff.name,
                                    action="appeal_decision", note=explanation,
                                    details={"appeal_id": appeal_id, "statement_id": appeal["statement_id"],
                                             "notice_id": appeal["notice_id"], "outcome": outcome})
            site = (await self.sites.get(site_id)).site
            out_of_court = _dsa_settings(site.settings).get("out_of_court")
            for address, who, locale in recipients:
                await notification_repo.enqueue(
                    conn, site_id=site_id, channel="email", kind="appeal_decision", recipient=address,
                    subscription_id=None, key=f"appeal_decision:{appeal_id}:{who}",
                    payload={"outcome": outcome, "explanation": explanation, "site_name": site.name,
                             "out_of_court": out_of_court, "appellant": appeal["appellant"], "to": who,
                             "locale": locale})
            decided = await repo.appeal(conn, appeal_id)
            assert decided is not None  # locked above
            [view] = await self._appeal_views(conn, site_id, [decided])
        await self.publisher.announce(visible)
        return view

    async def _reverse_statement(self, conn: Connection, staff: StaffLike,
                                 statement: asyncpg.Record) -> list[VisibleChange]:
        """Undo what the statement explains: the comment approved, or the ban lifted (each through
        its moderation service: audited, and the trigger lifts the statement); a restriction that
        has already ended needs nothing more than the statement marked lifted."""
        if statement["lifted_at"] is None:
            if statement["comment_id"] is not None:
                _, change = await self.decisions.decide_in(conn, staff, statement["comment_id"], "approve",
                                                           override=True)
                await repo.lift_statement(conn, statement["id"])
                return [change] if change else []
            await self.users.unban_in(conn, staff, statement["user_id"])
        await repo.lift_statement(conn, statement["id"])
        return []

    # ---------------------------------------------------------------- transparency (Art. 15/24)
    async def transparency(self, staff: StaffLike, site_id: str | None, start: datetime | None,
                           end: datetime | None) -> m.TransparencyReport:
        scope = one_site(staff, site_id)
        require_site(staff, scope)
        end = end or datetime.now(UTC)
        if start is None:
            if end.year < 2:  # a year back from 0001 is no date at all
                raise DomainError("invalid_request", "to must be a date after year 1.")
            start = end - timedelta(days=365)
        if start.tzinfo is None or end.tzinfo is None:
            raise DomainError("invalid_request", "from and to need a time zone (for example 2026-01-01T00:00:00Z).")
        if start >= end or end - start > timedelta(days=TRANSPARENCY_MAX_DAYS):
            raise DomainError("invalid_request", f"from must be before to, at most {TRANSPARENCY_MAX_DAYS} days.")
        async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            counts = await repo.transparency(conn, scope, start, end)
        appeals = counts["appeals_by_outcome"]
        return m.TransparencyReport(site_id=scope, period_from=start, period_to=end,
                                    appeals_received=sum(appeals.values()), **counts)


def transparency_csv(report: m.TransparencyReport) -> str:
    """The report as rows of (section, key, value): one machine-readable table, any spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["section", "key", "value"])
    writer.writerow(["period", "from", report.period_from.isoformat()])
    writer.writerow(["period", "to", report.period_to.isoformat()])
    for section in ("notices_by_category", "notices_decided", "actions_by_reason", "actions_by_restriction",
                    "detection", "decision", "source", "appeals_by_outcome", "bans"):
        table: dict[str, int] = getattr(report, section)
        for key in sorted(table):
            # keys come from constrained columns today; a free-text one must still not run as a formula
            writer.writerow([section, cell(key), table[key]])
    for name in ("median_notice_to_decision_seconds", "appeals_received", "median_appeal_handling_seconds"):
        value = getattr(report, name)
        writer.writerow(["totals", name, "" if value is None else value])
    return out.getvalue()


def _explanation(text: str) -> str:
    text = text.strip()
    if not text:
        raise DomainError("invalid_request", i18n.N_("The explanation is empty."))
    return text


def _dsa_settings(settings: dict[str, Any]) -> dict[str, Any]:
    value = settings.get("dsa")
    return value if isinstance(value, dict) else {}


def _notice_view(r: asyncpg.Record, comments: dict[int, asyncpg.Record]) -> m.NoticeView:
    c = comments.get(r["comment_id"]) if r["comment_id"] else None
    return m.NoticeView(
        id=r["id"], reference=r["reference"], category=r["category"], explanation=r["explanation"],
        notifier_name=r["notifier_name"], notifier_email=r["notifier_email"], received_at=r["received_at"],
        age_seconds=_age(r["received_at"], r["decided_at"]),
        comment=m.NoticeComment(id=c["id"], article_id=c["external_id"], status=c["status"], body_html=c["body_html"],
                                author_id=c["author_id"], author_name=c["author_name"],
                                created_at=c["created_at"]) if c else None,
        decision=r["decision"], decision_reason=r["decision_reason"], decision_explanation=r["decision_explanation"],
        decided_by=r["decided_by"], decided_by_name=r["decided_by_name"], decided_at=r["decided_at"])


def statement_view(r: asyncpg.Record, appeal: asyncpg.Record | None, locale: str = i18n.DEFAULT) -> m.StatementView:
    """A statement as its author reads it (also in their data export, services/privacy.py), its
    words in ``locale``; the site's own rule (``ground``) as its admin wrote it."""
    tr = i18n.translator(locale)
    label = m.reason_label(r["reason_code"])
    label = tr(label) if label else None
    return m.StatementView(
        id=r["id"], restriction=r["restriction"], decision=tr(m.restriction_words(r["restriction"])),
        comment_id=r["comment_id"], article_id=r["article_id"], until=r["until"], reason_code=r["reason_code"],
        reason=label, ground=r["rules_text"] or label, source=r["source"], notice_category=r["notice_category"],
        automated_detection=r["automated_detection"], automated_decision=r["automated_decision"],
        created_at=r["created_at"], lifted_at=r["lifted_at"], appeal_until=m.appeal_until(r["created_at"]),
        redress=m.Redress(internal=tr(m.INTERNAL_REDRESS), out_of_court=r["out_of_court"],
                          judicial=tr(m.JUDICIAL_REDRESS)),
        appeal=m.AppealSummary(id=appeal["id"], created_at=appeal["created_at"], outcome=appeal["outcome"],
                               explanation=appeal["outcome_explanation"],
                               decided_at=appeal["decided_at"]) if appeal else None)
