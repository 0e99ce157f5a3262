"""What follows a change readers can see, wherever it was made (a reader's post, edit, delete or
vote, a moderator's decision, the scoring worker's verdict): after the change committed, cached
pages it can change are retired (a CDN's copies too) and live readers are told. The comment, moderation and scoring
services all publish through here, so none of them calls another."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import asyncpg
import msgspec

from ..cache import Cache
from ..db import articles as article_repo
from ..db.connection import Connection, Row
from ..domain.models import CommentRow, CommentView, LiveEvent
from ..domain.page_parts import Header
from ..domain.structs import Struct
from ..domain.thread import to_view
from .article_view import ArticleView
from .cdn_purge import Cdn

_encoder = msgspec.json.Encoder()

VisibleEvent = Literal["published", "removed", "edited", "deleted", "voted"]


class Publication(Struct, frozen=True):
    """A comment's publication, as seen once its counts moved."""

    article: Row  # the article's row with the count moved
    appended: bool  # an append (domain/page_parts.py)

    @classmethod
    def of(cls, row: CommentRow, article: Row) -> Publication:
        """``article``: read after (or returned by) the statement that moved the count."""
        return cls(article=article, appended=row.parent_id is None and article_repo.is_append(
            row.created_at, article["last_root_at"]))


class VisibleChange(Struct, frozen=True):
    """A committed change to what readers of an article see: the row that changed and how."""

    site_id: str
    external_id: str
    row: CommentRow
    event: VisibleEvent


class LiveChange(Struct, frozen=True, omit_defaults=True):
    """What an article's live readers are sent when a published comment changes or leaves the
    thread (a publication is a ``LiveEvent``): ``comment.edited`` carries the comment as every
    reader now sees it, or nothing when the edit sent it back to scoring (it is hidden from readers
    until it is published again); ``comment.deleted`` (by its author) leaves a tombstone;
    ``comment.removed`` (by a moderator) takes it out of the thread. Widgets follow these without
    reloading, and move the article's count and their new-comments bar with them."""

    type: Literal["comment.edited", "comment.deleted", "comment.removed"]
    comment_id: int
    parent_id: int | None
    comment: CommentView | None = None


def _change_event(row: CommentRow, event: VisibleEvent) -> bytes | None:
    if event == "edited":
        view = to_view(row) if row.status == "published" else None
        return _encoder.encode(LiveChange(type="comment.edited", comment_id=row.id, parent_id=row.parent_id,
                                          comment=view))
    if event in ("deleted", "removed"):
        return _encoder.encode(LiveChange(type="comment.deleted" if event == "deleted" else "comment.removed",
                                          comment_id=row.id, parent_id=row.parent_id))
    return None  # votes move only scores: readers see them on their next read


class Publisher:
    def __init__(self, pool: asyncpg.Pool, cache: Cache, articles: ArticleView, cdn: Cdn | None = None) -> None:
        self.pool = pool
        self.cache = cache
        self.articles = articles
        self.cdn = cdn  # a CDN in front: its copies of the article go too, off the request path

    async def header(self, site_id: str, external_id: str, record: Row | None) -> Header:
        """A page's article header as readers see it, with the article row's version."""
        article = await self.articles.of(site_id, external_id, record)
        return Header(body=_encoder.encode(article), version=record["version"] if record is not None else 0)

    @staticmethod
    async def publications(conn: Connection, rows: Sequence[CommentRow]) -> list[Publication]:
        """After the transactions that published ``rows`` by a status change committed (the
        counters moved at commit, migrations/0005_counts_at_commit.sql): each one's article as it
        is now, and whether the publication was an append (after_visible_change keeps cached pages
        it cannot change). One read for all: a row read after every commit is valid for each."""
        articles = await article_repo.by_ids(conn, list({row.article_id for row in rows})) if rows else {}
        return [Publication.of(row, articles[row.article_id]) for row in rows]

    async def after_visible_change(self, site_id: str, external_id: str, row: CommentRow | None,
                                   event: VisibleEvent = "published", *,
                                   published: Publication | None = None) -> None:
        """After commit, before answering: retire cached pages and tell live readers. ``published``:
        the publication (from the insert, or from publications()). After an append only the cached
        pages it can change are retired, and the article's header as that row shows it goes to the
        cache with its version, so that no reader needs to read it again."""
        live = None
        appended = None
        if event == "published" and published is not None and published.appended:
            appended = await self.header(site_id, external_id, published.article)
        if row is not None and event == "published":
            live = _encoder.encode(LiveEvent(
                type="comment.published", comment_id=row.id, parent_id=row.parent_id, append=appended is not None,
                article_version=appended.version if appended is not None else None))
        elif row is not None:
            live = _change_event(row, event)
        await self.cache.bump(site_id, external_id, live, appended=appended)
        if self.cdn is not None:
            self.cdn.purge(site_id, external_id, lazy=event == "voted")

    async def announce(self, changes: Sequence[VisibleChange], conn: Connection | None = None) -> None:
        """After the commits that made ``changes``: each one's publication, then its fan-out.
        ``conn``: a connection the caller holds (one is taken from the pool otherwise)."""
        if not changes:
            return
        rows = [change.row for change in changes if change.event == "published"]
        if rows:
            if conn is None:
                async with self.pool.acquire() as own:
                    found = await self.publications(own, rows)
            else:
                found = await self.publications(conn, rows)
            published = dict(zip((row.id for row in rows), found, strict=False))
        else:
            published = {}
        for change in changes:
            await self.after_visible_change(change.site_id, change.external_id, change.row, change.event,
                                            published=published.get(change.row.id))

    async def article_changed(self, site_id: str, external_id: str, live_event: bytes | None = None) -> None:
        """An article's own settings, or its picks and pin, changed: every cached page goes.
        ``live_event``: told to the article's live readers in the same round trip."""
        await self.cache.bump(site_id, external_id, live_event)
        if self.cdn is not None:
            self.cdn.purge(site_id, external_id)
