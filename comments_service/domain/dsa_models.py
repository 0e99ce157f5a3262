"""The Digital Services Act's shapes: notices of illegal content (Art. 16), statements of reasons
(Art. 17), appeals (Art. 20) and the transparency report (Art. 15/24), and the rules about them
that need no I/O."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from . import moderation as rules
from .models import Base

NoticeCategory = Literal["illegal_hate_speech", "terrorist_content", "child_sexual_abuse_material", "defamation",
                         "privacy_violation", "intellectual_property", "fraud_or_scam", "other_illegal"]
NOTICE_CATEGORIES: tuple[str, ...] = NoticeCategory.__args__  # type: ignore[attr-defined]
# Art. 16(2)(c): a notifier of child sexual abuse material may stay anonymous
ANONYMOUS_CATEGORIES = frozenset({"child_sexual_abuse_material"})
NoticeAction = Literal["remove", "keep"]
AppealOutcome = Literal["reverse", "confirm"]
Restriction = Literal["removal", "visibility_restriction", "suspension", "termination"]
Source = Literal["automated", "notice", "reader_report", "own_initiative"]

# Art. 20(1): a complaint may be lodged for at least six months after the decision
APPEAL_WINDOW = timedelta(days=183)
EXPLANATION_CHARS = 5000


def N_(msgid: str) -> str:  # gettext's name: English here, translated where it is sent
    return msgid


# the reader-facing words below are msgids (comments_service/i18n_sources reads N_ and the tables):
# services/dsa.statement_view translates them into the reader's language
INTERNAL_REDRESS = N_("You may appeal this decision free of charge within six months, from \"Why?\" or "
                       "\"Decisions about your comments\" under the comments on the site; a person, not an "
                       "automated system, decides the appeal.")
JUDICIAL_REDRESS = N_("You may also take the decision to a court of competent jurisdiction.")

_RESTRICTION_WORDS = {
    "removal": N_("Your comment was removed: readers no longer see it."),
    "visibility_restriction": N_("Your comment is held for review: readers do not see it until a moderator "
                                 "approves it."),
    "suspension": N_("Your account is suspended: you cannot post, edit or vote until the date given."),
    "termination": N_("Your account is banned: you cannot post, edit or vote until the ban is lifted."),
}


def reason_label(code: str | None) -> str | None:
    """The plain words for a reason code, where it is one of ours."""
    if code is None:
        return None
    return rules.REJECT_REASONS.get(code) or rules.HOLD_REASONS.get(code)


def appeal_until(created_at: datetime) -> datetime:
    return created_at + APPEAL_WINDOW


class Redress(Base):
    internal: str
    out_of_court: str | None
    judicial: str


class AppealSummary(Base):
    id: int
    created_at: datetime
    outcome: AppealOutcome | None = None
    explanation: str | None = None  # the reasoned decision on it
    decided_at: datetime | None = None


class StatementView(Base):
    """A statement of reasons as its author reads it."""

    id: int
    restriction: Restriction
    decision: str  # what the restriction means, in words
    comment_id: int | None
    article_id: str | None  # the site's own id of the comment's article
    until: datetime | None  # a suspension's end
    reason_code: str | None
    reason: str | None  # the reason code in words
    ground: str | None  # the site's rule for the reason, as it read when the decision was taken
    source: Source
    notice_category: str | None  # when the decision followed a notice: the kind of illegality alleged
    automated_detection: bool
    automated_decision: bool
    created_at: datetime
    lifted_at: datetime | None  # the restriction has ended
    appeal_until: datetime
    redress: Redress
    appeal: AppealSummary | None = None


class StatementList(Base):
    items: list[StatementView]


class NoticeReceipt(Base):
    reference: str
    received_at: datetime
    # keep it with the reference: together they let the notifier appeal a decision to keep the comment
    appeal_key: str


class NoticeComment(Base):
    id: int
    article_id: str | None
    status: str
    body_html: str
    author_id: int
    author_name: str
    created_at: datetime


class NoticeView(Base):
    id: int
    reference: str
    category: str
    explanation: str
    notifier_name: str | None
    notifier_email: str | None
    received_at: datetime
    age_seconds: int  # since received, or until decided: the response clock
    comment: NoticeComment | None
    decision: NoticeAction | None = None
    decision_reason: str | None = None
    decision_explanation: str | None = None
    decided_by: str | None = None
    decided_by_name: str | None = None
    decided_at: datetime | None = None


class NoticePage(Base):
    items: list[NoticeView]
    open: int  # how many wait for a decision (all of them, not only this page's)


class AppealView(Base):
    """An appeal as the moderators read it."""

    id: int
    appellant: Literal["author", "notifier"]
    explanation: str
    created_at: datetime
    age_seconds: int
    first_decided_by: str | None  # the staff member who took the decision appealed; None: automated
    first_decided_by_name: str | None
    statement: StatementView | None = None
    notice: NoticeView | None = None
    outcome: AppealOutcome | None = None
    outcome_explanation: str | None = None
    decided_by: str | None = None
    decided_by_name: str | None = None
    decided_at: datetime | None = None


class AppealPage(Base):
    items: list[AppealView]
    open: int


class AppealReceipt(Base):
    id: int
    created_at: datetime
    state: Literal["received"] = "received"


class CountRow(Base):
    key: str
    count: int


class TransparencyReport(Base):
    site_id: str
    period_from: datetime
    period_to: datetime
    notices_by_category: dict[str, int]
    notices_decided: dict[str, int]  # remove / keep
    median_notice_to_decision_seconds: float | None
    actions_by_reason: dict[str, int]  # statements of reasons by reason code (comments)
    actions_by_restriction: dict[str, int]
    detection: dict[str, int]  # automated / human
    decision: dict[str, int]  # automated / human
    source: dict[str, int]  # automated / notice / reader_report / own_initiative
    appeals_received: int
    appeals_by_outcome: dict[str, int]  # reverse / confirm / open
    median_appeal_handling_seconds: float | None
    bans: dict[str, int]  # suspension / termination


def restriction_words(restriction: str) -> str:
    return _RESTRICTION_WORDS.get(restriction, restriction)
