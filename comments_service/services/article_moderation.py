"""The console's articles: where a site's comments are busy, and an article's thread as its readers
see it, with every comment's status, scores, author and reports beside it, so that a moderator
decides in context. Changing an article (close, premoderation, a closing date) is
ModerationSettings.update_article; deciding a comment is ModerationQueue.decide."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import asyncpg

from ..db import article_list as repo
from ..db.connection import Row
from ..domain import cursor as cursors
from ..domain import moderation as rules
from ..domain.article_models import (
    MAX_QUERY,
    ArticleList,
    ArticleSort,
    ArticleSummary,
    ArticleThread,
    ListCursor,
    ThreadAuthor,
    ThreadComment,
    ThreadExtra,
    ThreadPosition,
    decode_list,
    decode_thread,
    encode,
)
from ..domain.labels import label_is_clean
from ..domain.scoring_models import stored_scores
from ..errors import DomainError
from .sites import SiteDirectory
from .staff_scope import StaffLike, one_site

_MIN_TIME = cursors.from_micros(cursors.MIN_MICROS)
_MAX_TIME = cursors.from_micros(cursors.MAX_MICROS)
_START: dict[str, tuple[Any, int]] = {"activity": (_MAX_TIME, cursors.INT64_MAX),
                                      "newest": (_MAX_TIME, cursors.INT64_MAX),
                                      "held": (2**31 - 1, cursors.INT64_MAX)}


class ArticleModeration:
    def __init__(self, pool: asyncpg.Pool, sites: SiteDirectory) -> None:
        self.pool = pool
        self.sites = sites

    async def _site(self, staff: StaffLike, site_id: str | None) -> tuple[str, dict[str, Any]]:
        scope = one_site(staff, site_id)
        return scope, (await self.sites.get(scope)).site.settings

    async def articles(self, staff: StaffLike, site_id: str | None, *, sort: ArticleSort, query: str | None,
                       cursor: str | None, limit: int) -> ArticleList:
        """A page of the site's articles in ``sort`` order; ``query``: words of the title, or the
        article's own id."""
        site, settings = await self._site(staff, site_id)
        if query is not None:
            query = query.strip()
            if not label_is_clean(query) or len(query) > MAX_QUERY:
                raise DomainError("invalid_request", "The search may not contain control characters.")
            query = query or None
        after: tuple[Any, int] = _START[sort]
        if cursor:
            try:
                c = decode_list(cursor, sort)
            except cursors.CursorError as exc:
                raise DomainError("invalid_cursor", str(exc)) from None
            after = (c.key if sort == "held" else cursors.from_micros(c.key), c.id)
        async with self.pool.acquire() as conn:
            rows = await repo.page(conn, site, sort, after=after, query=query, limit=limit + 1)
        now = datetime.now(UTC)
        items = [_summary(r, settings, now) for r in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            key = last["sort_key"] if sort == "held" else cursors.micros(last["sort_key"])
            next_cursor = encode(ListCursor(sort=sort, key=key, id=last["id"]))
        return ArticleList(site_id=site, sort=sort, items=items, next_cursor=next_cursor)

    async def thread(self, staff: StaffLike, site_id: str | None, external_id: str, *,
                     include: tuple[ThreadExtra, ...], cursor: str | None, limit: int) -> ArticleThread:
        """The article's comments in reader order (top-level oldest first, each followed by its
        replies depth-first), readers' own and those ``include`` asks for, a page of ``limit``."""
        site, settings = await self._site(staff, site_id)
        statuses: tuple[str, ...] = ()
        if "held" in include:
            statuses += ("held", "pending_scoring")
        if "rejected" in include:
            statuses += ("rejected",)
        start: tuple[datetime, int, list[int]] = (_MIN_TIME, 0, [])
        if cursor:
            try:
                position = decode_thread(cursor)
            except cursors.CursorError as exc:
                raise DomainError("invalid_cursor", str(exc)) from None
            start = (cursors.from_micros(position.root_key), position.root_id, position.path)
        async with self.pool.acquire() as conn:
            record = await repo.article(conn, site, external_id)
            if record is None:
                raise DomainError("article_not_found")
            rows = await repo.thread(conn, record["id"], statuses, start=start, limit=limit + 1)
        pinned = record["pinned_comment_id"]
        comments = [_comment(r, pinned) for r in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = encode(ThreadPosition(root_key=cursors.micros(last["root_created_at"]),
                                                root_id=last["path"][0], path=list(last["path"])))
        return ArticleThread(site_id=site, article=_summary(record, settings, datetime.now(UTC)),
                             include=[x for x in ("held", "rejected") if x in include], comments=comments,
                             next_cursor=next_cursor)


def _summary(r: Row, settings: Mapping[str, Any], now: datetime) -> ArticleSummary:
    return ArticleSummary(
        id=r["external_id"], title=r["title"], url=r["url"], premoderation=r["premoderation"],
        comments_open=rules.is_open(r["comments_open"], r["auto_close"], r["created_at"], settings, now,
                                    r["close_at"]),
        closes_at=rules.closes_at(r["auto_close"], r["created_at"], settings, r["close_at"]),
        close_at=r["close_at"], closed_by_moderator=not r["comments_open"], created_at=r["created_at"],
        published=r["comment_count"], held=r["held"], reported=r["reported"], last_comment_at=r["last_comment_at"])


def _comment(r: Row, pinned: int | None) -> ThreadComment:
    scores = stored_scores(r["toxicity"])
    return ThreadComment(
        id=r["id"], parent_id=r["parent_id"], depth=r["depth"], status=r["status"], body_html=r["body_html"],
        author=ThreadAuthor(id=r["author_id"], name=r["author_name"], kind=r["author_kind"], banned=r["banned"],
                            trusted=r["trusted"], premoderate=r["premoderate"]),
        created_at=r["created_at"], status_reason=r["status_reason"], edited_at=r["edited_at"],
        reply_count=r["reply_count"], score=r["score"], upvotes=r["upvotes"], downvotes=r["downvotes"],
        reports=r["open_reports"], scores=scores, max_score=max(scores.values()) if scores else None,
        moderated_at=r["moderated_at"], moderated_by=r["moderated_by"], featured=r["featured"],
        pinned=pinned is not None and pinned == r["id"])

