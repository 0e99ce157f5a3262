"""Shapes the service reads and returns. Cached pages are these Structs encoded once with msgspec."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from msgspec import Meta

from .structs import Struct

CommentStatus = Literal["pending_scoring", "published", "held", "rejected", "deleted"]
SortOrder = Literal["oldest", "newest", "top"]
# what a site id may be (the sites table checks the same)
SITE_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"


class Base(Struct, forbid_unknown_fields=True):
    """The shapes the API reads and returns: a field a client sends that the shape lacks (a typo,
    a field of another version) is refused, never silently dropped."""


class Author(Base):
    id: int
    name: str


class Site(Base):
    id: str
    name: str
    allowed_origins: list[str]
    guest_commenting: bool
    allow_images: bool
    has_sso: bool
    settings: dict[str, Any] = {}


class Article(Base):
    id: str
    title: str
    url: str
    comments_open: bool
    premoderation: bool
    comment_count: int
    exists: bool = True
    # whether readers who are not signed in may comment here (the widget then neither shows the
    # guest form's proof of work nor asks for one)
    guest_commenting: bool = True


class CommentView(Base):
    id: int
    parent_id: int | None
    depth: int
    author: Author | None
    body_html: str
    status: CommentStatus
    created_at: datetime
    edited_at: datetime | None = None
    score: int = 0
    upvotes: int = 0
    downvotes: int = 0
    reply_count: int = 0
    deleted: bool = False
    replies: list[CommentView] = []
    replies_cursor: str | None = None


class AuthorCommentView(CommentView):
    """A comment as its own author sees it: readers' view, and whether it is held because a
    moderator shadow-restricted its author (SECURITY.md "Shadow restriction"): the widget then
    shows it in place without an "awaiting moderation" mark, and its Why? says the truth."""

    restricted: bool = False


class ThreadPage(Base):
    article: Article
    sort: SortOrder
    comments: list[CommentView]
    next_cursor: str | None = None
    own_pending: list[AuthorCommentView] = []
    # the first page only (no cursor), published comments only: domain/featured_models.py
    featured: Annotated[list[CommentView], Meta(description=(
        "On the first page (no cursor): the comments the moderators featured (editor's picks), newest pick "
        "first, at most 10; empty on later pages."))] = []
    pinned: Annotated[CommentView | None, Meta(description=(
        "On the first page (no cursor): the comment the moderators pinned to the top of the article, or null."
    ))] = None


class LiveEvent(Base):
    """What an article's live readers are sent when a comment of it is published (api/live.py)."""

    type: Literal["comment.published"]
    comment_id: int
    parent_id: int | None
    # a top-level comment at the end of the thread (domain/page_parts.py): an oldest-first reader
    # can show it on the last page without reloading the earlier ones
    append: bool = False
    # for an append, the article's version after it: processes use it to tell which article header
    # is newer (api/live.py); it only grows
    article_version: int | None = None


class RepliesPage(Base):
    comment_id: int
    replies: list[CommentView]
    next_cursor: str | None = None


class CommentRow(Base):
    """One row of the comments table as the repository returns it."""

    id: int
    article_id: int
    parent_id: int | None
    root_id: int | None
    depth: int
    path: list[int]
    author_id: int
    author_name: str
    body_markdown: str
    body_html: str
    status: CommentStatus
    status_reason: str | None
    reply_count: int
    score: int
    upvotes: int
    downvotes: int
    created_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None


class PostedComment(Base):
    """The answer to a new comment: its outcome and, for guests, the token to edit it later."""

    comment: AuthorCommentView
    status: str
    message: str
    article: Article
    user: Author
    guest_token: str | None = None
    reason_category: str | None = None  # coarse, for held/rejected: e.g. rejected_language, rejected_spam
    # what decided it (the toxicity model, the offline fallback, a rule) and why, in words; only on
    # sites whose settings say explain_decisions (the demo site), and said in the message too
    judged_by: str | None = None


class VoteResult(Base):
    comment_id: int
    score: int
    upvotes: int
    downvotes: int
    your_vote: int
