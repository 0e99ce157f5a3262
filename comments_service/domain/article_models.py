"""The console's articles: the list a moderator scans for where comments are busy, and an article's
thread as readers see it with what a moderator needs beside each comment. Also their cursors, which
use domain/cursor.py's encoding (a JSON array, unpadded URL-safe base64) with shapes of their own."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from .cursor import INT64_MAX, MAX_MICROS, MIN_MICROS, CursorError, decode
from .cursor import encode as encode  # the one codec; callers take it from here with the shapes
from .models import Base
from .structs import Struct

# activity: the article whose newest published or held comment is the most recent comes first
# (articles without any, last); newest: the newest article first; held: the most held comments first
ArticleSort = Literal["activity", "newest", "held"]
ARTICLE_SORTS: tuple[ArticleSort, ...] = ("activity", "newest", "held")
# what a moderator's thread shows beyond what readers see; readers' own (published, and deleted
# comments that replies hang under) always
ThreadExtra = Literal["held", "rejected"]
MAX_QUERY = 200


class ArticleSummary(Base):
    """One row of the articles list."""

    id: str  # the site's own article id
    title: str
    url: str
    comments_open: bool  # effective: a closing date or the site's auto-close passed reads as closed
    premoderation: bool
    created_at: datetime
    published: int  # comments readers see
    held: int  # held for a moderator
    reported: int  # published, with open reader reports
    closes_at: datetime | None = None  # when comments close by themselves, if they do
    close_at: datetime | None = None  # the closing date a moderator set
    closed_by_moderator: bool = False  # closed by hand (not by a date)
    last_comment_at: datetime | None = None  # the newest published or held comment


class ArticleList(Base):
    site_id: str
    sort: str
    items: list[ArticleSummary]
    next_cursor: str | None = None


class ThreadAuthor(Base):
    id: int
    name: str
    kind: str  # sso | guest
    banned: bool = False
    trusted: bool = False
    premoderate: bool = False


class ThreadComment(Base):
    """A comment where readers would see it, with its status and what moderators weigh."""

    id: int
    parent_id: int | None
    depth: int
    status: str  # published | deleted | held | pending_scoring | rejected
    body_html: str
    author: ThreadAuthor
    created_at: datetime
    status_reason: str | None = None
    edited_at: datetime | None = None
    reply_count: int = 0
    score: int = 0
    upvotes: int = 0
    downvotes: int = 0
    reports: int = 0  # open reader reports
    scores: dict[str, float] | None = None
    max_score: float | None = None
    moderated_at: datetime | None = None
    moderated_by: str | None = None
    featured: bool = False
    pinned: bool = False


class ArticleThread(Base):
    site_id: str
    article: ArticleSummary
    include: list[str]
    comments: list[ThreadComment]  # reader order: top-level oldest first, each followed by its replies depth-first
    next_cursor: str | None = None


# ------------------------------------------------------------------ cursors
class ListCursor(Struct, array_like=True, frozen=True):
    sort: str
    key: int  # activity and newest: a time in microseconds since the epoch; held: the held count
    id: int  # the article's row id


class ThreadPosition(Struct, array_like=True, frozen=True):
    """The last comment a page showed: its top-level comment's (created_at, id) and its path."""

    root_key: int  # the top-level comment's created_at in microseconds since the epoch
    root_id: int
    path: list[int]


_list_decoder = msgspec.json.Decoder(ListCursor)
_thread_decoder = msgspec.json.Decoder(ThreadPosition)
MAX_PATH = 64  # deeper than any thread the service stores (max_depth)


def decode_list(token: str, sort: str) -> ListCursor:
    cursor = decode(token, _list_decoder)
    if cursor.sort != sort:
        raise CursorError(f"cursor is for {cursor.sort!r}, not {sort!r}")
    low, high = (0, 2**31 - 1) if sort == "held" else (MIN_MICROS, MAX_MICROS)
    if not (low <= cursor.key <= high and 0 <= cursor.id <= INT64_MAX):
        raise CursorError("cursor out of range")
    return cursor


def decode_thread(token: str) -> ThreadPosition:
    cursor = decode(token, _thread_decoder)
    if not (MIN_MICROS <= cursor.root_key <= MAX_MICROS and 0 <= cursor.root_id <= INT64_MAX
            and 0 < len(cursor.path) <= MAX_PATH and all(0 <= p <= INT64_MAX for p in cursor.path)):
        raise CursorError("cursor out of range")
    return cursor
