"""Shapes of the moderators' view of a reader: finding them, and the author drawer's profile."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from .models import Base
from .moderation_models import AuditEntry, UserStanding

# what a search term matched: an exact user id, an exact SSO subject (or guest id), or the start of a name
MatchedBy = Literal["id", "subject", "name"]


class PersonHit(Base):
    user_id: int
    site_id: str
    name: str
    kind: str
    subject: str  # users.external_id: the SSO subject, or a guest's generated id
    matched_by: MatchedBy
    banned: bool = False
    banned_until: datetime | None = None
    trusted: bool = False
    premoderated: bool = False
    created_at: datetime | None = None


class PeopleSearch(Base):
    query: str
    people: list[PersonHit]
    # a name prefix matched more readers than returned: type more of the name
    more: bool = False


class CommentCounts(Base):
    published: int = 0
    held: int = 0
    rejected: int = 0
    deleted: int = 0
    pending_scoring: int = 0


class ProfileArticle(Base):
    id: str  # the site's own article id
    title: str
    url: str


class ProfileComment(Base):
    id: int
    article: ProfileArticle
    status: str
    status_reason: str | None
    created_at: datetime
    body_html: str  # sanitised when stored
    scores: dict[str, float] | None = None
    max_score: float | None = None
    open_reports: int = 0
    moderated_at: datetime | None = None
    moderated_by: str | None = None


class ProfileReport(Base):
    comment_id: int
    reason: str
    note: str | None
    created_at: datetime
    open: bool


class ReportsAgainst(Base):
    count: int  # every report on their comments
    open: int  # not yet resolved by a moderator's decision
    reasons: dict[str, int]
    recent: list[ProfileReport]


class ModeratorNote(Base):
    id: int
    user_id: int
    text: str
    author_id: str
    author_name: str
    created_at: datetime


class UserProfile(Base):
    standing: UserStanding
    subject: str
    created_at: datetime
    counts: CommentCounts
    recent_comments: list[ProfileComment]
    reports: ReportsAgainst
    # the audit log's entries about them and their comments, newest first
    decisions: list[AuditEntry]
    # bans, suspensions and lifted bans, newest first
    bans: list[AuditEntry]
    notes: list[ModeratorNote]
    notes_cap: int
    # the site lets moderators shadow-restrict readers (moderation.shadow_restriction)
    shadow_restriction: bool = False
