"""Featured comments (an editor's pick) and an article's pinned comment: the limits, what the
moderators' routes take and return, and the live event readers get when either changes. How readers
see them is on the thread's first page (``ThreadPage.featured`` and ``ThreadPage.pinned``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from msgspec import Meta

from .models import Base, CommentRow
from .structs import Struct

# How many picks an article may have at once: readers see them all above the thread, so the list
# stays short, and a moderator is told to unfeature one before featuring another.
MAX_FEATURED = 10

FeaturedEventType = Literal["comment.featured", "comment.unfeatured", "comment.pinned", "comment.unpinned"]
Note = Annotated[str, Meta(max_length=1000, pattern=r"^[^\x00]*$", description="Free text kept in the audit log.")]


class FeatureRequest(Base):
    note: Note | None = None


class PinRequest(Base):
    comment_id: Annotated[int, Meta(ge=1, description="A published comment of the article.")]
    note: Note | None = None


class FeaturedPick(Base):
    comment_id: int
    featured_at: datetime
    featured_by: str | None = None


class FeatureState(Base):
    """One comment's place among its article's picks, after a feature, unfeature, pin or unpin."""

    comment_id: int
    article_id: Annotated[str, Meta(description="The site's own article id.")]
    site_id: str
    featured: bool
    pinned: bool
    featured_at: datetime | None = None
    featured_by: str | None = None
    # false: it already was as asked (nothing changed, nothing audited)
    changed: bool = True


class ArticleFeatured(Base):
    """An article's picks and pin as moderators see them: every pick, with who made it."""

    article_id: str
    site_id: str
    pinned_comment_id: int | None
    featured: list[FeaturedPick]
    limit: int = MAX_FEATURED


class ThreadPicks(Struct, frozen=True):
    """An article's pinned comment and picks as the thread's first page shows them (published only)."""

    pinned: CommentRow | None = None
    featured: list[CommentRow] = []


class FeaturedChange(Struct, frozen=True):
    """What an article's live readers are sent when a comment is featured, unfeatured, pinned or
    unpinned: widgets read the thread's first page again to show the picks as they now are."""

    type: FeaturedEventType
    comment_id: int
