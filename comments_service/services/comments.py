"""Reading and writing threads: validation, rendering, transactions, cache versions, live events."""

from __future__ import annotations

import logging
from contextlib import nullcontext
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable, Mapping, NamedTuple

import asyncpg
import msgspec

from ..cache import Cache
from ..db import articles as article_repo
from ..db import comments as comment_repo
from ..db import posting as posting_repo
from ..db import users as user_repo
from ..db import votes as vote_repo
from ..db.posting import Poster
from ..domain import cursor as cursors
from ..domain import page_parts
from ..domain.page_parts import Header, PageParts
from ..domain.labels import label_is_clean
from ..domain.moderation import WriteAction
from ..domain.outcomes import explain_own_comment
from ..domain.models import (Article, Author, CommentRow, CommentView, LiveEvent, PostedComment, RepliesPage,
                             Site, ThreadPage, VoteResult)
from ..domain.thread import assemble, to_view
from ..errors import DomainError
from ..identity import Identity, Keyring
from ..ratelimit import RateLimiter
from ..settings import CommentSettings
from .offload import render_markdown_bounded
from .sites import SiteEntry, article_url
from .write_guard import UNKNOWN, WriteGuard

log = logging.getLogger("comments_service.comments")

_page_encoder = msgspec.json.Encoder()
_page_decoder = msgspec.json.Decoder(ThreadPage)
_MIN_TIME = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MAX_TIME = datetime(9999, 1, 1, tzinfo=timezone.utc)
_MAX_ID = 2**63 - 1


class Publication(NamedTuple):
    """A comment's publication, as seen once its counts moved."""

    article: Mapping[str, Any]  # the article's row with the count moved
    appended: bool  # an append (domain/page_parts.py)

    @classmethod
    def of(cls, row: CommentRow, article: Mapping[str, Any]) -> Publication:
        """``article``: read after (or returned by) the statement that moved the count."""
        return cls(article, row.parent_id is None and article_repo.is_append(row.created_at,
                                                                             article["last_root_at"]))


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    """Who makes a request: the verified identity (if any) and the client address."""

    identity: Identity | None
    ip: str | None


# What happens to a new comment once it is stored. The scoring pipeline replaces this hook:
# it returns "pending_scoring" and enqueues the job in the same transaction.
Admission = Callable[[asyncpg.Connection, CommentRow], Awaitable[None]]
ArticleView = Callable[[str, Mapping[str, Any], Article], Awaitable[Article]]

_OUTCOME_MESSAGES = {
    "published": "Your comment is published.",
    "pending_scoring": "Your comment was received and is being checked.",
    "held": "Your comment is awaiting moderation. Only you can see it until a moderator approves it.",
    "rejected": "Your comment was not published because it breaks the community guidelines.",
}


def outcome_message(status: str) -> str:
    return _OUTCOME_MESSAGES.get(status, "")


def validate_body(body: str, max_chars: int) -> str:
    """The text of a comment as it will be stored, or the reason it cannot be."""
    if "\x00" in body:
        raise DomainError("invalid_characters")
    text = body.strip()
    if not text:
        raise DomainError("empty_body")
    if len(text) > max_chars:
        raise DomainError("body_too_long", f"The comment is {len(text)} characters; the limit is {max_chars}.",
                          extra={"limit": max_chars})
    return text


def validate_label(text: str) -> str:
    """A name or title as it will be stored (domain/labels.py), or the reason it cannot be."""
    if not label_is_clean(text):
        raise DomainError("invalid_characters", "Names and titles may not contain control or text-direction "
                                                "characters.")
    return text.strip()


class CommentService:
    def __init__(self, pool: asyncpg.Pool, cache: Cache, limiter: RateLimiter, keyring: Keyring,
                 settings: CommentSettings, guard: WriteGuard) -> None:
        self.pool = pool
        self.cache = cache
        self.limiter = limiter
        self.keyring = keyring
        self.settings = settings
        self.guard = guard
        self.initial_status: Callable[[], str] = lambda: "published"
        self.admitted: list[Admission] = []
        # After the insert committed: may wait briefly for a pending comment's first decision and
        # return the comment as it is then (the scoring pipeline sets it).
        self.settle: Callable[[CommentRow], Awaitable[CommentRow]] | None = None
        # the scoring pipeline sends edited text back through the queue (inside the edit transaction)
        self.edit_admission: Callable[[asyncpg.Connection, CommentRow], Awaitable[CommentRow]] | None = None
        # How a thread page shows its article (moderation: auto-closed articles read as closed).
        self.article_view: ArticleView | None = None

    # ---------------------------------------------------------------- reads
    async def thread(self, entry: SiteEntry, article_ext: str, *, sort: str, cursor: str | None, limit: int,
                     replies: int, viewer: Identity | None) -> bytes:
        site_id = entry.site.id
        after = self._top_after(sort, cursor)
        suffix = f"{sort}:{cursor or ''}:{limit}:{replies}"

        async def load() -> PageParts:
            async with self.pool.acquire() as conn:
                page, lasting, version = await self._load_thread(conn, site_id, article_ext, sort, after, limit,
                                                                 replies)
            return page_parts.split(page, _page_encoder, lasting=lasting, version=version)

        async def load_header() -> Header:
            async with self.pool.acquire() as conn:
                record = await article_repo.get_by_external(conn, site_id, article_ext)
            return await self._header(site_id, article_ext, record)

        body = await self.cache.get_page(site_id, article_ext, suffix, load, load_header)
        if viewer is not None and cursor is None:
            body = await self._with_own_unpublished(body, site_id, article_ext, viewer)
        return body

    def _top_after(self, sort: str, cursor: str | None) -> tuple:
        if cursor is None:
            return {"oldest": (_MIN_TIME, 0), "newest": (_MAX_TIME, _MAX_ID), "top": (2**31 - 1, _MAX_ID)}[sort]
        try:
            c = cursors.decode(cursor, sort)
        except cursors.CursorError as exc:
            raise DomainError("invalid_cursor", str(exc)) from None
        return (c.key, c.id) if sort == "top" else (cursors.from_micros(c.key), c.id)

    async def _load_thread(self, conn: asyncpg.Connection, site_id: str, article_ext: str, sort: str,
                           after: tuple, limit: int, replies: int) -> tuple[ThreadPage, bool, int]:
        """The page, whether appends cannot change it, and the article's version it was read at
        (domain/page_parts.py)."""
        # one statement, one round trip: the article, the top-level page and the reply levels
        # (a refill after every write to a hot article; each round trip waits its turn on a busy loop)
        record, roots, nested = await comment_repo.thread_page(conn, site_id, article_ext, sort, after, limit,
                                                               replies, self.settings.reply_levels)
        article = await self._article_view(site_id, article_ext, record)
        if record is None:
            return ThreadPage(article=article, sort=sort, comments=[]), False, 0
        more = len(roots) > limit
        roots = roots[:limit]
        next_cursor = None
        lasting = False
        if more:
            last = roots[-1]
            key = last.score if sort == "top" else cursors.micros(last.created_at)
            next_cursor = cursors.encode(cursors.Cursor(sort, key, last.id))
            # the article row was read in the same statement (snapshot) as the page, as is_lasting needs
            lasting = sort == "oldest" and article_repo.is_lasting(last.created_at, record["last_root_at"])
        return ThreadPage(article=article, sort=sort, comments=assemble(roots, nested),
                          next_cursor=next_cursor), lasting, record["version"]

    async def _article_view(self, site_id: str, article_ext: str, record: Mapping[str, Any] | None) -> Article:
        """The article as a thread page shows it (record: its row, None when it does not exist)."""
        if record is None:
            return Article(id=article_ext, title="", url="", comments_open=True, premoderation=False,
                           comment_count=0, exists=False)
        article = article_repo.to_article(record)
        if self.article_view is not None:
            article = await self.article_view(site_id, record, article)
        return article

    async def _header(self, site_id: str, article_ext: str, record: Mapping[str, Any] | None) -> Header:
        article = await self._article_view(site_id, article_ext, record)
        return Header(_page_encoder.encode(article), record["version"] if record is not None else 0)

    async def _nested_replies(self, conn: asyncpg.Connection, parent_ids: list[int], per_parent: int) -> list[CommentRow]:
        """The first replies of each parent, level by level, down to ``reply_levels`` below it."""
        found: list[CommentRow] = []
        for _ in range(self.settings.reply_levels):
            if not parent_ids:
                break
            level = await comment_repo.children_of(conn, parent_ids, per_parent)
            found.extend(level)
            parent_ids = [r.id for r in level if r.reply_count]
        return found

    async def _with_own_unpublished(self, body: bytes, site_id: str, article_ext: str, viewer: Identity) -> bytes:
        async with self.pool.acquire() as conn:
            user_id = viewer.user_id or await self._known_user_id(conn, viewer)
            if user_id is None:
                return body
            record = await article_repo.get_by_external(conn, site_id, article_ext)
            if record is None:
                return body
            own = await comment_repo.own_unpublished(conn, record["id"], user_id)
        if not own:
            return body
        page = _page_decoder.decode(body)
        page.own_pending = [to_view(r) for r in own]
        return _page_encoder.encode(page)

    async def replies(self, entry: SiteEntry, comment_id: int, *, cursor: str | None, limit: int,
                      replies: int) -> RepliesPage:
        if cursor:
            try:
                c = cursors.decode(cursor, "replies")
            except cursors.CursorError as exc:
                raise DomainError("invalid_cursor", str(exc)) from None
            after = (cursors.from_micros(c.key), c.id)
        else:
            after = (_MIN_TIME, 0)
        async with self.pool.acquire() as conn:
            parent, _ = await self.comment_and_article(conn, comment_id, entry.site.id)
            if parent.status not in ("published", "deleted"):  # hidden comments read as missing
                raise DomainError("comment_not_found")
            rows = await comment_repo.replies_page(conn, parent.id, after, limit + 1)
            page, more = rows[:limit], len(rows) > limit
            nested = await self._nested_replies(conn, [r.id for r in page if r.reply_count], replies)
        views = assemble(page, nested)
        next_cursor = None
        if more:
            last = page[-1]
            next_cursor = cursors.encode(cursors.Cursor("replies", cursors.micros(last.created_at), last.id))
        return RepliesPage(comment_id=comment_id, replies=views, next_cursor=next_cursor)

    async def counts(self, entry: SiteEntry, article_ids: list[str]) -> dict[str, int]:
        unique = list(dict.fromkeys(article_ids))

        async def load(missing: list[str]) -> dict[str, int]:
            async with self.pool.acquire() as conn:
                return await article_repo.counts(conn, entry.site.id, missing)

        return await self.cache.get_counts(entry.site.id, unique, load)

    # ---------------------------------------------------------------- writes
    def _validate_body(self, body: str) -> str:
        return validate_body(body, self.settings.max_body_chars)

    async def post(self, entry: SiteEntry, actor: Actor, article_ext: str, *, body: str, parent_id: int | None,
                   author_name: str | None, article_url: str | None, article_title: str | None) -> PostedComment:
        site = entry.site
        text = self._validate_body(body)
        identity = actor.identity
        if identity is None:
            if not site.guest_commenting:
                raise DomainError("auth_required" if site.has_sso else "guests_not_allowed")
            name = validate_label(author_name or "")
            if not name:
                raise DomainError("author_name_required")
            # every guest post makes a new guest identity: their number per address is limited
            # like the posts themselves, or one address could mint voters at will
            await self.limiter.check("guest", user=None, ip=actor.ip)
        await self.limiter.check("post", user=self._subject(identity), ip=actor.ip)
        html = await render_markdown_bounded(text, allow_images=site.allow_images)
        guest_token = None
        # The busiest path, a top-level post by an SSO reader to an existing article with nothing
        # admitted alongside it, runs without a transaction of its own: it reads everything it
        # checks in one statement and writes only after every check passed (the user row, when
        # new or changed, then the insert, which moves the counts that follow it). Two round trips
        # fewer (BEGIN, COMMIT), which on a busy process are two waits, and the hot article's row
        # is locked only while that one statement commits. (A reply keeps the old sequence, whose
        # parent row lock comes before the user's, as in a vote.)
        sso_top = identity is not None and identity.kind == "sso" and parent_id is None
        async with self.pool.acquire() as conn:
            context = None
            if sso_top:
                context = await posting_repo.context(
                    conn, site.id, article_ext, identity.external_id, identity.name, identity.email, identity.role)
            alone = context is not None and context.article is not None and not self.admitted
            async with nullcontext() if alone else conn.transaction():
                if context is not None:
                    article = context.article
                else:
                    article = await article_repo.get_by_external(conn, site.id, article_ext)
                if article is None:
                    url, title = self._article_details(site, article_url, article_title)
                    article = await article_repo.get_or_create(conn, site.id, article_ext, url, title)
                parent = None
                if parent_id is not None:
                    parent = await comment_repo.get(conn, parent_id, for_update=True)
                    # a hidden (held, pending, rejected) parent reads as missing: no probing for hidden comments
                    if (parent is None or parent.article_id != article["id"]
                            or parent.status not in ("published", "deleted")):
                        raise DomainError("parent_not_found")
                    if parent.status not in ("published",):
                        raise DomainError("parent_not_replyable")
                    if parent.depth + 1 > self.settings.max_depth:
                        raise DomainError("thread_too_deep", extra={"max_depth": self.settings.max_depth})
                if identity is None:
                    user_id = await user_repo.create_guest(conn, site.id, name)
                    guest_token = self.keyring.issue_guest_token(site.id, user_id, name,
                                                                 self.settings.guest_token_ttl_days)
                    poster = Poster(user_id, True, None)  # new: no ban can name them
                else:
                    poster = context.poster if context is not None else Poster(await self._user_id(conn, identity))
                await self.guard.check(conn, entry, "post", user_id=poster.id, kind="guest" if identity is None
                                       else identity.kind, article=article, address=actor.ip,
                                       ban=poster.ban if poster.ban_known else UNKNOWN)
                if context is not None and not context.stored:
                    poster = poster._replace(id=await self._user_id(conn, identity))
                user_id = poster.id
                user = Author(id=user_id, name=name if identity is None else identity.name)
                row, counted = await comment_repo.insert(
                    conn, article_id=article["id"], parent=parent, author_id=user_id, body_markdown=text,
                    body_html=html, status=self.initial_status(), status_reason=None, author_ip=actor.ip,
                )
                for admit in self.admitted:
                    await admit(conn, row)
        published = None
        if counted is not None:  # published at once: the insert moved the counts and returned the article
            article = counted
            published = Publication.of(row, counted)
        if row.status == "published":
            await self.after_visible_change(site.id, article_ext, row, published=published)
        elif row.status == "pending_scoring" and self.settle is not None:
            row = await self.settle(row)
            if row.status == "published":  # the worker's decision moved the article's count
                async with self.pool.acquire() as conn:
                    article = await article_repo.get_by_external(conn, site.id, article_ext)
        log.info("comment posted", extra={"comment_id": row.id, "site": site.id, "status": row.status})
        category = explain_own_comment(row.status, row.status_reason)[1] if row.status in ("held", "rejected") else None
        return PostedComment(comment=to_view(row), status=row.status, message=outcome_message(row.status),
                      article=article_repo.to_article(article), user=user, guest_token=guest_token,
                      reason_category=category)

    @staticmethod
    def _article_details(site: Site, url: str | None, title: str | None) -> tuple[str, str]:
        if not url or not title or not title.strip():
            raise DomainError("article_details_required")
        return article_url(site, url), validate_label(title)

    @staticmethod
    async def publications(conn: asyncpg.Connection, rows: list[CommentRow]) -> list[Publication]:
        """After the transactions that published ``rows`` by a status change committed (the
        counters moved at commit, migrations/0005_counts_at_commit.sql): each one's article as it
        is now, and whether the publication was an append (after_visible_change keeps cached pages
        it cannot change). One read for all: a row read after every commit is valid for each."""
        articles = await article_repo.by_ids(conn, list({row.article_id for row in rows})) if rows else {}
        return [Publication.of(row, articles[row.article_id]) for row in rows]

    async def after_visible_change(self, site_id: str, article_ext: str, row: CommentRow | None,
                                   event: str = "published", *, published: Publication | None = None) -> None:
        """After commit, before answering: retire cached pages and tell live readers. ``published``:
        the publication (from the insert, or from publications()). After an append only the cached
        pages it can change are retired, and the article's header as that row shows it goes to the
        cache with its version, so that no reader needs to read it again."""
        live = None
        appended = None
        if event == "published" and published is not None and published.appended:
            appended = await self._header(site_id, article_ext, published.article)
        if row is not None and event == "published":
            live = _page_encoder.encode(LiveEvent(
                type="comment.published", comment_id=row.id, parent_id=row.parent_id, append=appended is not None,
                article_version=appended.version if appended is not None else None))
        await self.cache.bump(site_id, article_ext, live, appended=appended)

    async def edit(self, entry: SiteEntry, actor: Actor, comment_id: int, body: str) -> CommentView:
        text = self._validate_body(body)
        identity = self._require_identity(actor)
        await self.limiter.check("edit", user=self._subject(identity), ip=actor.ip)
        html = await render_markdown_bounded(text, allow_images=entry.site.allow_images)
        async with self.pool.acquire() as conn, conn.transaction():
            before, article = await self._own_comment_for_change(conn, entry, identity, comment_id, "edit",
                                                                 actor.ip)
            await comment_repo.update_body(conn, before.id, text, html)
            row = await comment_repo.get(conn, before.id)
            if self.edit_admission is not None:
                # new words are judged like a new comment: an edit must not slip abuse past scoring
                row = await self.edit_admission(conn, row)
            article_ext = article["external_id"]
        if before.status == "published":
            await self.after_visible_change(entry.site.id, article_ext, row, event="edited")
        if row.status == "pending_scoring" and self.settle is not None:
            row = await self.settle(row)
        return to_view(row)

    async def delete(self, entry: SiteEntry, actor: Actor, comment_id: int) -> None:
        identity = self._require_identity(actor)
        async with self.pool.acquire() as conn, conn.transaction():
            row, article = await self._own_comment_for_change(conn, entry, identity, comment_id, "delete",
                                                              actor.ip)
            await comment_repo.set_status(conn, row.id, "deleted", "deleted_by_author")
            article_ext = article["external_id"]
        if row.status == "published":
            await self.after_visible_change(entry.site.id, article_ext, row, event="deleted")

    async def vote(self, entry: SiteEntry, actor: Actor, comment_id: int, value: int) -> VoteResult:
        identity = self._require_identity(actor)
        await self.limiter.check("vote", user=self._subject(identity), ip=actor.ip)
        async with self.pool.acquire() as conn, conn.transaction():
            row, article = await self.comment_and_article(conn, comment_id, entry.site.id, for_update=True)
            if row.status != "published":
                raise DomainError("comment_not_found")
            user_id = await self._user_id(conn, identity)
            if row.author_id == user_id:
                raise DomainError("vote_own_comment")
            if value != 0:  # taking a vote back is always allowed: it only undoes what counted
                await self.guard.check(conn, entry, "vote", user_id=user_id, kind=identity.kind, article=article,
                                       address=actor.ip)
            score, up, down = await vote_repo.cast(conn, row.id, user_id, value)
            article_ext = article["external_id"]
        await self.after_visible_change(entry.site.id, article_ext, row, event="voted")
        return VoteResult(comment_id=row.id, score=score, upvotes=up, downvotes=down, your_vote=value)

    # ---------------------------------------------------------------- helpers
    @staticmethod
    def _subject(identity: Identity | None) -> str | None:
        if identity is None:
            return None
        return f"{identity.site_id}:{identity.kind}:{identity.user_id or identity.external_id}"

    @staticmethod
    def _require_identity(actor: Actor) -> Identity:
        if actor.identity is None:
            raise DomainError("auth_required")
        return actor.identity

    async def _user_id(self, conn: asyncpg.Connection, identity: Identity) -> int:
        if identity.kind == "guest":
            if identity.user_id is None or not await user_repo.guest_exists(conn, identity.user_id, identity.site_id):
                raise DomainError("token_invalid", "The guest token refers to no guest of this site.")
            return identity.user_id
        return await user_repo.ensure_sso_user(conn, identity.site_id, identity.external_id, identity.name,
                                               identity.email, identity.role)

    async def user_id_of(self, identity: Identity) -> int | None:
        async with self.pool.acquire() as conn:
            return await self._known_user_id(conn, identity)

    async def _known_user_id(self, conn: asyncpg.Connection, identity: Identity) -> int | None:
        if identity.kind == "guest":
            return identity.user_id
        return await user_repo.sso_user_id(conn, identity.site_id, identity.external_id)

    @staticmethod
    async def comment_and_article(conn: asyncpg.Connection, comment_id: int, site_id: str, *,
                                  for_update: bool = False) -> tuple[CommentRow, asyncpg.Record]:
        """A comment of the site and its article's row; comment_not_found for any other."""
        row = await comment_repo.get(conn, comment_id, for_update=for_update)
        article = await article_repo.by_id(conn, row.article_id) if row is not None else None
        if article is None or article["site_id"] != site_id:
            raise DomainError("comment_not_found")
        return row, article

    async def _own_comment_for_change(self, conn: asyncpg.Connection, entry: SiteEntry, identity: Identity,
                                      comment_id: int, action: WriteAction,
                                      address: str | None) -> tuple[CommentRow, asyncpg.Record]:
        row, article = await self.comment_and_article(conn, comment_id, entry.site.id, for_update=True)
        user_id = await self._known_user_id(conn, identity)
        if user_id is None or row.author_id != user_id:
            # someone else's hidden comment answers as a missing one does: no probing for what is hidden
            if row.status not in ("published", "deleted"):
                raise DomainError("comment_not_found")
            raise DomainError("not_author")
        await self.guard.check(conn, entry, action, user_id=user_id, kind=identity.kind, article=article,
                               address=address)
        if row.status in ("deleted", "rejected"):
            raise DomainError("comment_not_editable")
        if datetime.now(timezone.utc) - row.created_at > timedelta(seconds=self.settings.edit_window_seconds):
            raise DomainError("edit_window_closed",
                              extra={"edit_window_seconds": self.settings.edit_window_seconds})
        return row, article
