"""What a moderator's console is told live (services/moderation_events.py): a comment entered or
left a queue, who else looks at which comment, and picks and pins another moderator changed."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from .models import Base

QueueState = Literal["held", "reported"]


class QueueNew(Base):
    """``queue:new``: a comment now waits in the ``state`` queue; ``article_id`` is the site's own
    id of its article (a console showing that article's thread offers to load it)."""

    comment_id: int
    site_id: str
    state: QueueState
    article_id: str | None = None


class QueueDecided(Base):
    """``queue:decided``: a comment left the ``state`` queue. ``outcome``: approved or rejected (by
    ``decided_by``, a moderator's name, when one decided it), or deleted (by its author), edited
    (back to scoring), or the status it has now."""

    comment_id: int
    site_id: str
    state: QueueState
    outcome: str
    status: str
    decided_by: str | None = None
    decided_by_id: str | None = None
    decided_at: datetime | None = None


class PresenceViewers(Base):
    """``presence``: the other staff members looking at a comment now (names; empty: nobody)."""

    comment_id: int
    site_id: str
    viewers: list[str]


class PresenceResult(Base):
    """The answer to "I look at this comment": who else looks at it."""

    comment_id: int | None
    site_id: str | None
    viewers: list[str]


class FeaturedChanged(Base):
    """``featured``: a comment of an article (the site's id) was featured or unfeatured, pinned or
    unpinned; consoles showing that article redraw its picks."""

    site_id: str
    article_id: str
    comment_id: int
    featured: bool
    pinned: bool
