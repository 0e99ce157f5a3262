"""Shapes the moderation service returns: queue items, decisions, user standing, audit entries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from msgspec import Meta

from .models import Base


class QueueArticle(Base):
    id: str  # the site's own article id
    title: str
    url: str
    comments_open: bool
    premoderation: bool


class QueueParent(Base):
    id: int
    author_name: str
    body_html: str
    status: str


class AuthorHistory(Base):
    id: int
    name: str
    kind: str
    published: int = 0
    held: int = 0
    rejected: int = 0
    banned: bool = False
    banned_until: datetime | None = None
    trusted: bool = False
    premoderate: bool = False


class ReportSummary(Base):
    count: int
    reasons: dict[str, int]
    notes: list[str] = []


class QueueComment(Base):
    id: int
    site_id: str
    parent_id: int | None
    depth: int
    body_html: str
    body_markdown: str
    status: str
    status_reason: str | None
    created_at: datetime
    edited_at: datetime | None = None
    scores: dict[str, float] | None = None
    max_score: float | None = None
    model: str | None = None
    moderated_at: datetime | None = None
    moderated_by: str | None = None
    # the copy-paste campaign it belongs to (services/campaigns.py decides one in one action)
    campaign_id: int | None = None
    # its language as the scoring worker detected it (ISO 639-1; None: not detected, or not scored)
    # and the detector's confidence: a model scores only languages it reads (domain/policy LanguageRules)
    language: str | None = None
    language_confidence: float | None = None


class QueueItem(Base):
    comment: QueueComment
    article: QueueArticle
    author: AuthorHistory
    parent: QueueParent | None = None
    reports: ReportSummary | None = None


class QueuePage(Base):
    state: str
    sort: str
    items: list[QueueItem]
    next_cursor: str | None = None


class QueueCounts(Base):
    held: int
    reported: int
    cap: int  # counts stop here: "cap" means "cap or more"


class DecisionResult(Base):
    comment_id: int
    outcome: str  # approved | rejected | undone | unchanged | error
    status: str | None = None
    changed: bool = False
    decided_by: str | None = None  # the moderator's id ("token:<id>", "sso:<site>:<sub>"); None: automatic
    decided_by_name: str | None = None  # their name, for "already decided by ..."
    decided_at: datetime | None = None
    error: str | None = None  # a catalogue code, for bulk results
    message: str | None = None


class BulkResult(Base):
    action: str
    results: list[DecisionResult]
    succeeded: int
    failed: int


class UserStanding(Base):
    user_id: int
    site_id: str
    name: str
    kind: str
    banned: bool
    banned_until: datetime | None = None
    ban_reason: str | None = None
    premoderated: bool = False
    trusted: bool = False
    # a moderator restricted the reader: their new comments are held and shown to them alone
    # (SECURITY.md "Shadow restriction"); the reader is told so when they ask (troubleshooter, data)
    shadow_restricted: bool = False


class BanResult(Base):
    standing: UserStanding
    rejected_comments: int = 0


class ArticleSettings(Base):
    id: str
    site_id: str
    title: str
    url: str
    comments_open: bool  # effective: includes auto-close
    premoderation: bool
    auto_close: bool
    closes_at: datetime | None = None  # when comments close by themselves: close_at or the site's auto-close
    close_at: datetime | None = None  # the closing date a moderator set


class AuditEntry(Base):
    id: int
    site_id: str
    actor_id: str
    actor_name: str
    action: str
    created_at: datetime
    comment_id: int | None = None
    user_id: int | None = None
    article_id: int | None = None
    before_status: str | None = None
    after_status: str | None = None
    reason: str | None = None
    note: str | None = None
    details: dict[str, Any] | None = None
    # what the entry is about, by name: the site's own id of the article, the reader's display name
    article_external_id: str | None = None
    user_name: str | None = None


class AuditFilters(Base):
    """The audit log's filters, shared by its page and its CSV download; ``article_id`` is the
    site's own id of the article."""

    comment_id: int | None = None
    user_id: int | None = None
    moderator: str | None = None
    action: str | None = None
    article_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def query(self, site_id: str | None, before_id: int | None) -> dict[str, Any]:
        """The filters as db/audit.query takes them."""
        return {"site_id": site_id, "comment_id": self.comment_id, "user_id": self.user_id,
                "actor_id": self.moderator, "action": self.action, "article": self.article_id,
                "since": self.since, "until": self.until, "before_id": before_id}


class AuditPage(Base):
    entries: list[AuditEntry]
    next_cursor: str | None = None


class ReasonCode(Base):
    code: str
    label: str


class ReasonCodes(Base):
    reject: list[ReasonCode]
    report: list[ReasonCode]
    hold: list[ReasonCode]


class ReportReceipt(Base):
    comment_id: int
    reason: str
    state: str


# a plain address: the notifier checks it whole when it writes the From header (domain/notification_mail)
_MAIL_FROM = r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9.-]{1,189}$"


class DsaSiteSettings(Base):
    """What a site's statements of reasons quote (services/dsa.py): each statement keeps the text as
    it read when the decision was taken."""

    rules: Annotated[dict[Annotated[str, Meta(pattern=r"^[a-z_]{1,40}$")],
                          Annotated[str, Meta(min_length=1, max_length=2000, pattern=r"^[^\x00]*$")]],
                     Meta(max_length=64, description=(
                         "The site's rule for each reason code (a rejection reason, a hold reason, or a ban's "
                         "reason), quoted to the author as the ground of a decision."))] = {}
    out_of_court: Annotated[str, Meta(max_length=2000, pattern=r"^[^\x00]*$", description=(
        "The out-of-court dispute settlement bodies the site's readers may turn to (Art. 21 DSA), "
        "quoted in every statement of reasons."))] | None = None


class SiteModerationSettings(Base):
    auto_close_days: Annotated[int, Meta(ge=0, le=36500, description="0 turns auto-close off.")] | None = None
    report_threshold: Annotated[int, Meta(ge=1, le=1000)] | None = None
    votes_from: Annotated[Literal["anyone", "established", "sso"], Meta(
        description="Whose votes count: any reader, established readers (signed in, or guests with a "
                    "published comment), or signed-in readers only.")] | None = None
    reports_from: Annotated[Literal["anyone", "established", "sso"], Meta(
        description="Whose reports count (as votes_from).")] | None = None
    banned_may_delete: Annotated[bool, Meta(
        description="Banned readers may still delete their own comments.")] | None = None
    established_after_minutes: Annotated[int, Meta(ge=0, le=525_600, description=(
        "With votes_from/reports_from 'established': how long a guest's published comment must have "
        "stood before their votes and reports count."))] | None = None
    sso_staff_roles: Annotated[bool, Meta(
        description="A moderator or admin role in an SSO token (with aud = the site) gives staff rights.",
    )] | None = None
    sso_require_aud: Annotated[bool, Meta(
        description="Every SSO token must name the site in its aud claim.")] | None = None
    explain_decisions: Annotated[bool, Meta(
        description="The answer to a post says what decided it (the toxicity model, the offline fallback, a "
                    "rule) and why, the matched word included. The demo site sets it.")] | None = None
    edit_window_seconds: Annotated[int, Meta(ge=0, le=604_800, description=(
        "How long after posting an author may edit or delete a comment (0: never); unset, the "
        "service's COMMENTS_EDIT_WINDOW_SECONDS."))] | None = None
    mail_from: Annotated[str, Meta(max_length=254, pattern=_MAIL_FROM, description=(
        "The sender of this site's notification emails (a plain address on the site's own mail domain); "
        "unset, the service's COMMENTS_MAIL_FROM."))] | None = None
    erasure: Annotated[Literal["tombstone", "remove"], Meta(description=(
        "What erasing a reader's data does to their comments (services/privacy.py): 'tombstone' (the "
        "default) keeps each in its place with no author or text; 'remove' deletes them, keeping a "
        "tombstone only where replies hang under one."))] | None = None
    default_language: Annotated[Literal["en", "ru", "uk", "fr", "de", "es", "tr", "ar", "fa"], Meta(description=(
        "The widget's language for a reader whose page and browser name none of the widget's "
        "languages (a Tajik browser on a Russian-language site, say); unset, English."))] | None = None
    dsa: Annotated[DsaSiteSettings, Meta(description=(
        "Digital Services Act texts: the site's rules by reason code and its out-of-court dispute "
        "settlement bodies, quoted in statements of reasons."))] | None = None
