"""What a reader's data request answers: everything the service holds about them on one site
(``GET /api/v1/me/data``), and what an erasure did (``DELETE /api/v1/me/data``, and the admins'
``DELETE /api/v1/moderation/users/{user_id}/data``). PRIVACY.md says what each field is kept for."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from .dsa_models import StatementView
from .structs import Struct

# The most rows of each kind one export carries. A reader writes at most thousands of comments, so
# one JSON document holds them; a longer history is cut at the newest EXPORT_LIMIT and says so
# (``truncated``), and the site's admins answer the rest by hand.
EXPORT_LIMIT = 10_000

ErasureMode = Literal["tombstone", "remove"]


class DataProfile(Struct, frozen=True):
    user_id: int | None  # None: a signed-in reader of whom nothing is stored yet
    name: str
    kind: str
    email: str | None = None
    role: str = "reader"
    created_at: datetime | None = None


class DataArticle(Struct, frozen=True):
    id: str  # the site's own id of the article
    title: str
    url: str


class DataComment(Struct, frozen=True):
    id: int
    article: DataArticle
    parent_id: int | None
    status: str
    status_reason: str | None
    body_markdown: str
    body_html: str
    created_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None
    score: int
    upvotes: int
    downvotes: int
    ip: str | None  # the address it was posted from, until the retention sweep clears it


class DataVote(Struct, frozen=True):
    comment_id: int
    value: int
    created_at: datetime


class DataReport(Struct, frozen=True):
    comment_id: int
    reason: str
    note: str | None
    created_at: datetime
    open: bool


class DataSubscription(Struct, frozen=True):
    id: int
    scope: str
    article_id: str
    comment_id: int | None
    email: str
    confirmed: bool
    created_at: datetime


class DataProblemReport(Struct, frozen=True):
    reference: str
    article_id: str | None
    comment_id: int | None
    description: str
    user_agent: str | None
    status: str
    created_at: datetime


class DataBan(Struct, frozen=True):
    until: datetime | None
    reason: str | None


class ReaderData(Struct, frozen=True, omit_defaults=True):
    """Everything held about one reader of one site. Moderators' private notes about them are the
    site's records and not part of it (PRIVACY.md)."""

    site_id: str
    generated_at: datetime
    profile: DataProfile
    comments: list[DataComment]
    votes: list[DataVote]
    reports: list[DataReport]
    subscriptions: list[DataSubscription]
    problem_reports: list[DataProblemReport]
    ban: DataBan | None
    limit: int  # the most rows of each list (EXPORT_LIMIT)
    # the kinds cut at ``limit`` rows ("comments", "votes", ...): their newest rows are here
    truncated: list[str]
    # statements of reasons (EU DSA, Art. 17) about the reader, as they read them in the widget
    statements: list[StatementView] = msgspec.field(default_factory=list)
    # a moderator shadow-restricted the reader: their new comments are held and shown to them alone
    # (SECURITY.md "Shadow restriction"); present only when true
    shadow_restricted: bool = False


class ErasureReceipt(Struct, frozen=True):
    """What an erasure changed; erasing again finds nothing more to change."""

    user_id: int | None  # None: nothing was ever stored for this reader
    mode: ErasureMode
    comments_tombstoned: int = 0  # comments that lost their text (those then removed among them)
    comments_removed: int = 0  # of those, deleted outright ("remove" sites, where no reply hangs under one)
    votes_removed: int = 0
    reports_unlinked: int = 0
    subscriptions_removed: int = 0
    problem_reports_cleared: int = 0
    articles_refreshed: int = 0


class RetentionResult(Struct, frozen=True):
    """One retention sweep: rows whose personal fields it cleared."""

    comment_ips: int = 0
    problem_report_agents: int = 0
    problem_reports: int = 0
