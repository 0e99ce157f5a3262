"""Reading and writing threads: validation, rendering, transactions. What a write does to cached
pages and live readers is services/publishing.py; whether a new comment is published at once or
scored first is the ``Admission`` the composition root chose (services/admission.py); whether a
reader may write at all is the ``PostPolicy`` (services/write_guard.py).

Longer than most modules on purpose: reads and writes of a thread share its cache versions and
cursors, and the post path's ordering (checks, insert, admission, publication) reads best whole."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from typing import Protocol

import asyncpg
import msgspec

from .. import i18n
from ..cache import Cache
from ..db import articles as article_repo
from ..db import comments as comment_repo
from ..db import posting as posting_repo
from ..db import votes as vote_repo
from ..db.connection import Connection, Row
from ..db.posting import Poster
from ..db.replicas import ReadPools
from ..domain import cursor as cursors
from ..domain import page_parts
from ..domain.labels import label_is_clean
from ..domain.limits import address_group
from ..domain.models import (
    Author,
    AuthorCommentView,
    CommentRow,
    PostedComment,
    RepliesPage,
    Site,
    SortOrder,
    ThreadPage,
    VoteResult,
)
from ..domain.moderation import WriteAction
from ..domain.outcomes import explain_own_comment
from ..domain.page_parts import Header, PageParts
from ..domain.policy import SHADOW_RESTRICTED
from ..domain.structs import Struct
from ..domain.thread import assemble, own_view, to_view
from ..errors import DomainError
from ..identity import Identity, Keyring
from ..ratelimit import RateLimiter
from ..settings import CommentSettings
from .admission import Admission
from .guest_challenge import GuestChallenge
from .offload import render_markdown_bounded, step_aside
from .own_pending import OwnPending, reader_key
from .publishing import Publication, Publisher, VisibleChange
from .readers import Readers, ReaderStanding
from .repeats import RepeatGuard, Sighting
from .sites import SiteEntry, article_url
from .surge import Surges
from .write_guard import UNKNOWN

log = logging.getLogger("comments_service.comments")

_page_encoder = msgspec.json.Encoder()
_page_decoder = msgspec.json.Decoder(ThreadPage)
_MIN_TIME = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_TIME = datetime(9999, 1, 1, tzinfo=UTC)
_MAX_ID = 2**63 - 1
# Where a keyset page starts: after this (created_at or score, id)
Position = tuple[datetime | int, int]


class Actor(Struct, frozen=True):
    """Who makes a request: the verified identity (if any) and the client address."""

    identity: Identity | None
    ip: str | None


class CommentSource(Struct, frozen=True):
    """A comment's markdown as its author wrote it: only ever sent to the author, never cached."""

    id: int
    body: str


class PostPolicy(Protocol):
    """Whether a reader may make a write (services/write_guard.py is the one implementation)."""

    async def check(self, conn: Connection, entry: SiteEntry, action: WriteAction, *,
                    user_id: int | None, kind: str, article: Row | None,
                    address: str | None, ban: Row | None = ...) -> None: ...


_OUTCOME_MESSAGES = {
    "published": "Your comment is published.",
    "pending_scoring": "Your comment was received and is being checked.",
    "held": "Your comment is awaiting moderation. Only you can see it until a moderator approves it.",
    "rejected": "Your comment was not published because it breaks the community guidelines.",
}
# held for a shadow-restricted author: true (it is posted, and shown to them) without saying in the
# moment that others cannot see it; it never says "published" (SECURITY.md "Shadow restriction")
_RESTRICTED_MESSAGE = "Your comment is posted."


def page_suffix(sort: str, cursor: str | None, limit: int, replies: int) -> str:
    """Which of an article's pages the cache holds under this name (cache.py's tail keys)."""
    return f"{sort}:{cursor or ''}:{limit}:{replies}"


def outcome_message(status: str, reason: str | None = None) -> str:
    if status == "held" and reason == SHADOW_RESTRICTED:
        return _RESTRICTED_MESSAGE
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


_AWAITING_REVIEW = frozenset({"pending_scoring", "held"})


class CommentService:
    def __init__(self, pool: asyncpg.Pool, cache: Cache, limiter: RateLimiter, keyring: Keyring,
                 settings: CommentSettings, *, policy: PostPolicy, admission: Admission, readers: Readers,
                 publisher: Publisher, challenges: GuestChallenge | None = None,
                 surges: Surges | None = None, repeats: RepeatGuard | None = None,
                 reads: ReadPools | None = None, own_pending: OwnPending | None = None) -> None:
        self.pool = pool
        # the public reads that miss the cache may go to a replica; the rest of this service, the
        # viewer's own pending comments included, reads and writes the primary
        self.reads = reads if reads is not None else ReadPools.primary_only(pool)
        self.cache = cache
        self.limiter = limiter
        self.keyring = keyring
        self.settings = settings
        self.policy = policy
        self.admission = admission
        self.readers = readers
        self.publisher = publisher
        self.challenges = challenges
        self.repeats = repeats  # None: no repeat or campaign checks
        self.surges = surges  # None: no surge rule (the scoring pipeline, which applies it, is off)
        # None: no process memory of signed-in readers with nothing awaiting review (no fast path)
        self.own_pending = own_pending
        self._background: set[asyncio.Future[None]] = set()

    # ---------------------------------------------------------------- reads
    async def thread(self, entry: SiteEntry, external_id: str, *, sort: SortOrder, cursor: str | None, limit: int,
                     replies: int, viewer: Identity | None) -> bytes:
        site_id = entry.site.id
        after = self._top_after(sort, cursor)
        suffix = page_suffix(sort, cursor, limit, replies)

        async def load() -> PageParts:
            page, lasting, version = await self.reads.read(lambda conn: self._load_thread(
                conn, site_id, external_id, sort, after, limit, replies, first_page=cursor is None))
            return page_parts.split(page, _page_encoder, lasting=lasting, version=version)

        async def load_header() -> Header:
            record = await self.reads.read(lambda conn: article_repo.get_by_external(conn, site_id, external_id))
            return await self.publisher.header(site_id, external_id, record)

        body = await self.cache.get_page(site_id, external_id, suffix, load, load_header)
        if viewer is not None and cursor is None:
            own_pending = self.own_pending
            begun = own_pending.begin() if own_pending is not None else 0
            body, any_own = await self._with_own_unpublished(body, site_id, external_id, viewer)
            if not any_own and own_pending is not None:
                # the reader's next views of this article may be answered from memory (api/fast_reads.py)
                own_pending.note_clear(site_id, external_id, reader_key(viewer), begun)
        return body

    def _top_after(self, sort: SortOrder, cursor: str | None) -> Position:
        if cursor is None:
            starts: dict[str, Position] = {"oldest": (_MIN_TIME, 0), "newest": (_MAX_TIME, _MAX_ID),
                                           "top": (2**31 - 1, _MAX_ID)}
            return starts[sort]
        try:
            c = cursors.decode_thread(cursor, sort)
        except cursors.CursorError as exc:
            raise DomainError("invalid_cursor", str(exc)) from None
        return (c.key, c.id) if sort == "top" else (cursors.from_micros(c.key), c.id)

    async def _load_thread(self, conn: Connection, site_id: str, external_id: str, sort: SortOrder,
                           after: Position, limit: int, replies: int, *,
                           first_page: bool = False) -> tuple[ThreadPage, bool, int]:
        """The page, whether appends cannot change it, and the article's version it was read at
        (domain/page_parts.py). A first page carries the article's pinned comment and picks: every
        change to them retires the cached pages (a structural bump), and no append can change them."""
        # one statement, one round trip: the article, the top-level page and the reply levels
        # (a refill after every write to a hot article; each round trip waits its turn on a busy loop)
        record, roots, nested, picks = await comment_repo.thread_page(
            conn, site_id, external_id, sort, after, limit, replies, self.settings.reply_levels,
            first_page=first_page)
        article = await self.publisher.articles.of(site_id, external_id, record)
        if record is None:
            return ThreadPage(article=article, sort=sort, comments=[]), False, 0
        more = len(roots) > limit
        roots = roots[:limit]
        next_cursor = None
        lasting = False
        if more:
            last = roots[-1]
            key = last.score if sort == "top" else cursors.micros(last.created_at)
            next_cursor = cursors.encode(cursors.ThreadCursor(kind=sort, key=key, id=last.id))
            # the article row was read in the same statement (snapshot) as the page, as is_lasting needs
            lasting = sort == "oldest" and article_repo.is_lasting(last.created_at, record["last_root_at"])
        return ThreadPage(article=article, sort=sort, comments=assemble(roots, nested), next_cursor=next_cursor,
                          featured=[to_view(r) for r in picks.featured],
                          pinned=to_view(picks.pinned) if picks.pinned is not None else None
                          ), lasting, record["version"]

    async def _nested_replies(self, conn: Connection, parent_ids: list[int], per_parent: int) -> list[CommentRow]:
        """The first replies of each parent, level by level, down to ``reply_levels`` below it."""
        found: list[CommentRow] = []
        for _ in range(self.settings.reply_levels):
            if not parent_ids:
                break
            level = await comment_repo.children_of(conn, parent_ids, per_parent)
            found.extend(level)
            parent_ids = [r.id for r in level if r.reply_count]
        return found

    async def _with_own_unpublished(self, body: bytes, site_id: str, external_id: str, viewer: Identity
                                    ) -> tuple[bytes, bool]:
        """The page with the reader's own comments awaiting review, and whether they have any."""
        # who the reader is (as Readers.known_user_id reads it) is looked up in the same statement
        sso_subject = viewer.external_id if viewer.kind != "guest" else None
        async with self.pool.acquire() as conn:
            own = await comment_repo.own_unpublished(conn, site_id, external_id, viewer.user_id, viewer.site_id,
                                                     sso_subject)
        if not own:
            return body, False
        page = _page_decoder.decode(body)
        page.own_pending = [own_view(r) for r in own]
        return _page_encoder.encode(page), True

    async def replies(self, entry: SiteEntry, comment_id: int, *, cursor: str | None, limit: int,
                      replies: int) -> RepliesPage:
        if cursor:
            try:
                c = cursors.decode_thread(cursor, "replies")
            except cursors.CursorError as exc:
                raise DomainError("invalid_cursor", str(exc)) from None
            after = (cursors.from_micros(c.key), c.id)
        else:
            after = (_MIN_TIME, 0)

        async def load(conn: Connection) -> tuple[list[CommentRow], list[CommentRow]]:
            parent, _ = await self.readers.comment_of_site(conn, comment_id, entry.site.id)
            if parent.status not in ("published", "deleted"):  # hidden comments read as missing
                raise DomainError("comment_not_found")
            rows = await comment_repo.replies_page(conn, parent.id, after, limit + 1)
            nested = await self._nested_replies(conn, [r.id for r in rows[:limit] if r.reply_count], replies)
            return rows, nested

        rows, nested = await self.reads.read(load)
        page, more = rows[:limit], len(rows) > limit
        views = assemble(page, nested)
        next_cursor = None
        if more:
            last = page[-1]
            next_cursor = cursors.encode(cursors.ThreadCursor(kind="replies", key=cursors.micros(last.created_at),
                                                                  id=last.id))
        return RepliesPage(comment_id=comment_id, replies=views, next_cursor=next_cursor)

    async def counts(self, entry: SiteEntry, external_ids: list[str]) -> dict[str, int]:
        unique = list(dict.fromkeys(external_ids))

        async def load(missing: list[str]) -> dict[str, int]:
            return await self.reads.read(lambda conn: article_repo.counts(conn, entry.site.id, missing))

        return await self.cache.get_counts(entry.site.id, unique, load)

    async def source(self, entry: SiteEntry, actor: Actor, comment_id: int) -> CommentSource:
        """The markdown of one's own comment, for editing it in any browser. The thread's pages are
        shared by every reader (and cached): the source travels only here, to its author."""
        identity = self._require_identity(actor)
        async with self.pool.acquire() as conn:
            row, _, _ = await self.readers.authored_comment(conn, identity, comment_id, entry.site.id)
        if row.status == "deleted":
            raise DomainError("comment_not_editable")
        return CommentSource(id=row.id, body=row.body_markdown)

    # ---------------------------------------------------------------- writes
    def _validate_body(self, body: str) -> str:
        return validate_body(body, self.settings.max_body_chars)

    async def post(self, entry: SiteEntry, actor: Actor, external_id: str, *, body: str, parent_id: int | None,
                   author_name: str | None, article_url: str | None, article_title: str | None,
                   challenge: str | None = None, locale: str = i18n.DEFAULT) -> PostedComment:
        """``locale`` (i18n.negotiate) is the language of the answer's message, never of its codes."""
        # steps aside (offload.step_aside) between its long stretches: after the request's parsing,
        # after the checks and rendering, and after the publication (never between the insert and
        # the publication: a post cancelled there would leave its readers' pages unretired)
        await step_aside()
        site = entry.site
        text = self._validate_body(body)
        identity = actor.identity
        self._require_guests_allowed(site, identity)
        if identity is None:
            name = validate_label(author_name or "")
            if not name:
                raise DomainError("author_name_required")
            # every guest post makes a new guest identity: their number per address is limited
            # like the posts themselves, or one address could mint voters at will
            await self.limiter.check("guest", user=None, ip=actor.ip)
        await self.limiter.check("post", user=self.readers.subject(identity), ip=actor.ip)
        if self.challenges is not None and (identity is None or identity.kind == "guest"):
            # a returning guest's post pays too: else one solved challenge buys a token that posts at will
            await self.challenges.check(site.id, challenge, actor.ip)
        repeat_check = None
        if self.repeats is not None:
            # a guest is a new identity at every post: their address is who repeats. The check's
            # Redis round trip runs while the markdown renders and the post's first read is made
            author = (("s:" + identity.external_id) if identity is not None and identity.kind == "sso"
                      else ("ip:" + address_group(actor.ip)) if actor.ip else None)
            repeat_check = asyncio.ensure_future(self.repeats.check(site, author, text))
        try:
            html = await render_markdown_bounded(text, allow_images=site.allow_images)
            await step_aside()
        except BaseException:
            await self._settle_repeat_check(repeat_check, failed=True)
            raise
        guest_token = None
        # The busiest path, a top-level post by an SSO reader to an existing article with nothing
        # admitted alongside it, runs without a transaction of its own: it reads everything it
        # checks in one statement and writes only after every check passed (the user row, when
        # new or changed, then the insert, which moves the counts that follow it). Two round trips
        # fewer (BEGIN, COMMIT), which on a busy process are two waits, and the hot article's row
        # is locked only while that one statement commits. (A reply runs in a transaction: its
        # parent's row lock is taken before the user's, in the order a vote takes them.)
        article: Row | None
        noting: asyncio.Future[None] | None = None
        async with self._taken_back_on_failure(repeat_check), self.pool.acquire() as conn:
            context = None
            if identity is not None and identity.kind == "sso" and parent_id is None:
                context = await posting_repo.context(
                    conn, site.id, external_id, identity.external_id, identity.name, identity.email, identity.role)
            # the repeat check, started before the markdown was rendered, is in by now; a campaign
            # is grouped in the post's own transaction (never a comment stored but not grouped)
            sighting = await repeat_check if repeat_check is not None else None
            campaign = sighting is not None and sighting.campaign
            alone = (context is not None and context.article is not None and not self.admission.writes_on_admit
                     and not campaign)
            async with nullcontext() if alone else conn.transaction():
                if context is not None:
                    article = context.article
                else:
                    article = await article_repo.get_by_external(conn, site.id, external_id)
                if article is None:
                    url, title = self._article_details(site, article_url, article_title)
                    article = await article_repo.get_or_create(conn, site.id, external_id, url, title)
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
                    user_id = await self.readers.new_guest(conn, site.id, name)
                    guest_token = self.keyring.issue_guest_token(site.id, user_id, name,
                                                                 self.settings.guest_token_ttl_days)
                    poster = Poster(id=user_id, ban_known=True)  # new: no ban can name them
                elif context is not None:
                    poster = context.poster
                else:
                    poster = Poster(id=await self.readers.user_id(conn, identity))
                await self.policy.check(conn, entry, "post", user_id=poster.id, kind="guest" if identity is None
                                       else identity.kind, article=article, address=actor.ip,
                                       ban=poster.ban if poster.ban_known else UNKNOWN)
                if identity is not None and (poster.id is None or (context is not None and not context.stored)):
                    user_id = await self.readers.user_id(conn, identity)  # stored or refreshed only now
                elif poster.id is not None:
                    user_id = poster.id
                user = Author(id=user_id, name=name if identity is None else identity.name)
                guest = identity is None or identity.kind == "guest"
                since = context.poster.since if context is not None else None
                if self.surges is not None and self.surges.counts(
                        site.id, site.settings, user_id, guest=guest, since=since):
                    # a new author's comment may start or prolong a surge (services/surge.py): its
                    # Redis round trip runs while the comment is inserted and committed
                    noting = self._surge_note(site, article["id"], user_id, guest=guest, since=since,
                                              address=actor.ip)
                row, counted = await comment_repo.insert(
                    conn, article_id=article["id"], parent=parent, author_id=user_id, body_markdown=text,
                    body_html=html, status=self.admission.initial_status, status_reason=None, author_ip=actor.ip,
                )
                withdrawn: list[VisibleChange] = []
                if campaign and sighting is not None and self.repeats is not None:
                    # before the scoring job is queued: the policy must see the campaign
                    withdrawn = await self.repeats.group(conn, sighting, row.id)
                await self.admission.admit(conn, row)
        self._forget_if_awaiting_review(row, site.id, external_id, identity)
        if withdrawn:  # the campaign's earlier comments left their threads
            await self.publisher.announce(withdrawn)
        published = None
        if counted is not None:  # published at once: the insert moved the counts and returned the article
            article = counted
            published = Publication.of(row, counted)
        if row.status == "published":
            await self.publisher.after_visible_change(site.id, external_id, row, published=published)
        elif row.status == "pending_scoring":
            row = await self.admission.settle(row)
            if row.status == "published":  # the worker's decision moved the article's count
                async with self.pool.acquire() as conn:
                    article = await article_repo.get_by_external(conn, site.id, external_id) or article
        if noting is not None:  # a surge this post started is in force before its author hears back
            # shielded: a reader who goes away mid-answer must not cut the count short
            await asyncio.shield(noting)
        await step_aside()
        log.info("comment posted", extra={"comment_id": row.id, "site": site.id, "status": row.status})
        category = explain_own_comment(row.status, row.status_reason)[1] if row.status in ("held", "rejected") else None
        # a site that explains its decisions (the demo) tells the author what decided and why
        tr = i18n.translator(locale)
        explained = await self.admission.judged_by(row, tr) if site.settings.get("explain_decisions") is True else None
        message = " ".join(part for part in (tr(outcome_message(row.status, row.status_reason)), explained) if part)
        return PostedComment(comment=own_view(row), status=row.status, message=message,
                      article=article_repo.to_article(article), user=user, guest_token=guest_token,
                      reason_category=category, judged_by=explained)

    def _forget_if_awaiting_review(self, row: CommentRow, site_id: str, external_id: str,
                                   identity: Identity | None) -> None:
        # before answering: the author's next view must show it, whichever process hears the
        # database's notification of it first (services/own_pending.py)
        if row.status in _AWAITING_REVIEW and self.own_pending is not None and identity is not None:
            self.own_pending.forget(site_id, external_id, reader_key(identity))

    @staticmethod
    def _article_details(site: Site, url: str | None, title: str | None) -> tuple[str, str]:
        if not url or not title or not title.strip():
            raise DomainError("article_details_required")
        return article_url(site, url), validate_label(title)

    async def edit(self, entry: SiteEntry, actor: Actor, comment_id: int, body: str) -> AuthorCommentView:
        text = self._validate_body(body)
        identity = self._require_identity(actor)
        self._require_guests_allowed(entry.site, identity)
        await self.limiter.check("edit", user=self.readers.subject(identity), ip=actor.ip)
        html = await render_markdown_bounded(text, allow_images=entry.site.allow_images)
        async with self.pool.acquire() as conn, conn.transaction():
            before, article = await self._own_comment_for_change(conn, entry, identity, comment_id, "edit",
                                                                 actor.ip)
            await comment_repo.update_body(conn, before.id, text, html)
            row = await comment_repo.get(conn, before.id)
            if row is None:  # locked by this transaction: cannot happen
                raise DomainError("comment_not_found")
            # new words are judged like a new comment: an edit must not slip abuse past scoring
            row = await self.admission.readmit(conn, row)
            external_id = article["external_id"]
        self._forget_if_awaiting_review(row, entry.site.id, external_id, identity)
        if before.status == "published":
            await self.publisher.after_visible_change(entry.site.id, external_id, row, event="edited")
        if row.status == "pending_scoring":
            row = await self.admission.settle(row)
        return own_view(row)

    async def delete(self, entry: SiteEntry, actor: Actor, comment_id: int) -> None:
        identity = self._require_identity(actor)
        async with self.pool.acquire() as conn, conn.transaction():
            row, article = await self._own_comment_for_change(conn, entry, identity, comment_id, "delete",
                                                              actor.ip)
            await comment_repo.set_status(conn, row.id, "deleted", "deleted_by_author")
            external_id = article["external_id"]
        if row.status == "published":
            await self.publisher.after_visible_change(entry.site.id, external_id, row, event="deleted")

    async def vote(self, entry: SiteEntry, actor: Actor, comment_id: int, value: int) -> VoteResult:
        identity = self._require_identity(actor)
        await self.limiter.check("vote", user=self.readers.subject(identity), ip=actor.ip)
        async with self.pool.acquire() as conn, conn.transaction():
            row, article = await self.readers.comment_of_site(conn, comment_id, entry.site.id, for_update=True)
            if row.status != "published":
                raise DomainError("comment_not_found")
            user_id = await self.readers.user_id(conn, identity)
            if row.author_id == user_id:
                raise DomainError("vote_own_comment")
            if value != 0:  # taking a vote back is always allowed: it only undoes what counted
                await self.policy.check(conn, entry, "vote", user_id=user_id, kind=identity.kind, article=article,
                                       address=actor.ip)
            score, up, down = await vote_repo.cast(conn, row.id, user_id, value)
            external_id = article["external_id"]
        await self.publisher.after_visible_change(entry.site.id, external_id, row, event="voted")
        return VoteResult(comment_id=row.id, score=score, upvotes=up, downvotes=down, your_vote=value)

    # ---------------------------------------------------------------- helpers
    def _surge_note(self, site: Site, article_id: int, author_id: int, *, guest: bool, since: datetime | None,
                    address: str | None) -> asyncio.Future[None]:
        """The surge count of a post, started before the comment is stored and awaited after. Its
        failure is logged, never raised: the comment is stored by then, or failed for its own
        reason, and a count must not answer its author with an error. A post that fails after it
        started has still been counted: an attempt on the article all the same."""
        surges = self.surges
        assert surges is not None

        async def note() -> None:
            try:
                await surges.note(site.id, site.settings, article_id, author_id, guest=guest, since=since,
                                  address=address)
            except Exception:
                log.exception("surge count failed", extra={"site": site.id, "author_id": author_id})

        task = asyncio.ensure_future(note())
        self._background.add(task)  # held until done: the loop keeps only weak references to tasks
        task.add_done_callback(self._background.discard)
        return task

    @asynccontextmanager
    async def _taken_back_on_failure(self, repeat_check: asyncio.Future[Sighting | None] | None
                                     ) -> AsyncIterator[None]:
        """A post refused after its text was recorded as recent is taken back out, so that sending
        it again is no repeat."""
        try:
            yield
        except BaseException:
            await self._settle_repeat_check(repeat_check, failed=True)
            raise

    async def _settle_repeat_check(self, repeat_check: asyncio.Future[Sighting | None] | None, *,
                                   failed: bool) -> None:
        """After a post failed: the check finished (its own refusal already raised, or its record
        taken back) or stopped, never left running or unread."""
        if repeat_check is None:
            return
        if not repeat_check.done():
            repeat_check.cancel()
        try:
            sighting = await repeat_check
        except (asyncio.CancelledError, Exception):  # the post's own failure is what is raised
            return
        if failed and sighting is not None and self.repeats is not None:
            await self.repeats.forget(sighting)

    @staticmethod
    def _require_identity(actor: Actor) -> Identity:
        if actor.identity is None:
            raise DomainError("auth_required")
        return actor.identity

    @staticmethod
    def _require_guests_allowed(site: Site, identity: Identity | None) -> None:
        """A site that takes no guests takes no guest's words: a returning guest's token stays
        valid for a year (guest_token_ttl_days) after the site turned guests off, and must not
        keep them writing."""
        if (identity is None or identity.kind == "guest") and not site.guest_commenting:
            raise DomainError("auth_required" if site.has_sso else "guests_not_allowed")

    async def standing_of(self, identity: Identity, address: str | None) -> ReaderStanding:
        return await self.readers.standing(identity, address)

    async def _own_comment_for_change(self, conn: Connection, entry: SiteEntry, identity: Identity,
                                      comment_id: int, action: WriteAction,
                                      address: str | None) -> tuple[CommentRow, asyncpg.Record]:
        row, article, user_id = await self.readers.authored_comment(conn, identity, comment_id, entry.site.id,
                                                                    for_update=True)
        await self.policy.check(conn, entry, action, user_id=user_id, kind=identity.kind, article=article,
                               address=address)
        if row.status in ("deleted", "rejected"):
            raise DomainError("comment_not_editable")
        # the site's own window when it sets one (site settings), else the service's
        window = entry.site.settings.get("edit_window_seconds")
        if not isinstance(window, int) or isinstance(window, bool):
            window = self.settings.edit_window_seconds
        if datetime.now(UTC) - row.created_at > timedelta(seconds=window):
            raise DomainError("edit_window_closed", extra={"edit_window_seconds": window})
        return row, article
