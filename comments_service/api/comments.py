"""Public routes: threads, replies, posting, editing, deleting, votes, reports, the nudge before
posting, counts and who the reader is."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody

from .. import i18n
from ..domain.article_ids import is_valid as is_valid_article_id
from ..domain.challenges import Challenge
from ..domain.models import AuthorCommentView, PostedComment, RepliesPage, ThreadPage, VoteResult
from ..domain.moderation_models import ReportReceipt
from ..errors import DomainError
from ..http_encodings import EncodedBody
from ..services.comments import CommentService, CommentSource, page_suffix
from ..services.nudge import NudgeService, ToxicityCheckResult
from ..services.reader_reports import ReaderReports
from .deps import actor_of, client_ip, reader_of, services_of, site_entry_of
from .fast_reads import COUNTS_REFUSAL
from .params import ArticlePath, Cursor, Limit, Replies, SiteParam, checked_article_id
from .public_answers import PRIVATE_PAGE, Conditions, PublicAnswer, SendBytes, answer
from .schemas import (
    CommentCreate,
    CommentUpdate,
    CountsRequest,
    CountsResponse,
    Me,
    MeUser,
    PublicSite,
    ReportCreate,
    ToxicityCheck,
    VoteCreate,
)


class PublicCommentsController(Controller):
    path = "/api/v1"
    tags = ["comments"]
    # Every route takes the site and the reader from the request (api/deps.reader_of): Litestar
    # resolves two or more injected values in a task group, which measured +125-130 µs a request
    # (BENCHMARKS.md, "Architecture"). The thread page, posting and counts take their service by
    # hand too (api/deps.services_of): the hottest routes then pay for no dependency resolution.
    @get("/articles/{article_id:str}/comments", summary="Read a page of an article's thread")
    async def thread(self, request: Request, article_id: ArticlePath,
                     sort: FromQuery[Literal["oldest", "newest", "top"]] = "oldest", limit: Limit = None,
                     cursor: Cursor = None, replies: Replies = None, site: SiteParam = None) -> Response[ThreadPage]:
        services = services_of(request)
        cfg = services.settings.comments
        site_entry = await site_entry_of(request)
        actor = actor_of(request, site_entry)
        external_id = checked_article_id(article_id)
        limit = limit or cfg.page_size
        replies = cfg.replies_per_comment if replies is None else replies
        body = await services.comments.thread(site_entry, external_id, sort=sort, cursor=cursor, limit=limit,
                                               replies=replies, viewer=actor.identity)
        # the process's cached copy where this is the public page (a signed-in reader's view differs
        # only by comments of their own awaiting review): its tag and encodings are made once
        held = services.cache.encoded_page(site_entry.site.id, external_id,
                                           page_suffix(sort, cursor, limit, replies), body)
        encoded = held or EncodedBody(body)
        conditions = Conditions.of(request.scope)
        if actor.identity:  # the reader's own view: no shared cache may keep it
            return PublicAnswer(*answer(encoded, PRIVATE_PAGE, conditions, compress=held is not None))
        return PublicAnswer(*answer(encoded, services.cdn.page_headers(site_entry.site.id, external_id), conditions,
                                    compress=held is not None))

    @get("/comments/{comment_id:int}/replies", summary="Read more replies of one comment")
    async def replies(self, comments: NamedDependency[CommentService], request: Request, comment_id: FromPath[int],
                      cursor: Cursor = None, limit: Limit = None, replies: Replies = None,
                      site: SiteParam = None) -> RepliesPage:
        site_entry = await site_entry_of(request)
        cfg = comments.settings
        return await comments.replies(
            site_entry, comment_id, cursor=cursor, limit=limit or cfg.page_size,
            replies=cfg.replies_per_comment if replies is None else replies)

    @post("/articles/{article_id:str}/comments", summary="Post a comment or a reply", status_code=201)
    async def create(self, request: Request, article_id: ArticlePath, data: JSONBody[CommentCreate],
                     site: SiteParam = None) -> Response[PostedComment]:
        # encoded here, as for thread(): a breaking story's posts share one process with its
        # readers, and Litestar's generic response path costs more than the encoding
        if data.website:  # the honeypot: a generic refusal, nothing written, nothing said about why
            raise DomainError("invalid_request")
        services = services_of(request)
        site_entry = await site_entry_of(request)
        posted = await services.comments.post(
            site_entry, actor_of(request, site_entry), checked_article_id(article_id), body=data.body,
            parent_id=data.parent_id, author_name=data.author_name, article_url=data.article_url,
            article_title=data.article_title, challenge=data.challenge, locale=i18n.scope_locale(request.scope))
        return JSONBytes(_json_encoder.encode(posted))

    @get("/challenge", summary="A proof-of-work challenge for a guest's next post (ALTCHA's format)",
         description="Public, per site, where guests may comment: 403 guests_not_allowed elsewhere, 204 (no "
                     "body) when guest posts need none (COMMENTS_GUEST_CHALLENGE off). It gets harder for an "
                     "address or network that asks or posts a lot, and 429 past a few a minute from one address. A "
                     "solution is good once, on this site, from the network (/24 or /48) that asked. Signed-in "
                     "readers never need one.",
         responses={204: ResponseSpec(None, description="Guest posts need no challenge here.")})
    async def challenge(self, request: Request, site: SiteParam = None) -> Response[Challenge | None]:
        services = services_of(request)
        site_entry = await site_entry_of(request)
        if not site_entry.site.guest_commenting:
            raise DomainError("guests_not_allowed")
        challenges = services.comments.challenges
        if challenges is None or not challenges.enabled:
            # a success, not a 404: the widget asks on every guest's first keystroke, and browsers
            # log every 4xx answer as a page error
            return Response(None, status_code=204, headers={"Cache-Control": "no-store"})
        ip = client_ip(request)
        await services.limiter.check("challenge", user=None, ip=ip)
        found = await challenges.issue(site_entry.site.id, ip)
        return Response(found, headers={"Cache-Control": "no-store"})

    @get("/comments/{comment_id:int}/source", summary="The markdown of one's own comment, for editing it",
         description="Only the comment's author gets it (403 not_author for anyone else); never cached.")
    async def source(self, comments: NamedDependency[CommentService], request: Request, comment_id: FromPath[int],
                     site: SiteParam = None) -> Response[CommentSource]:
        site_entry, actor = await reader_of(request)
        found = await comments.source(site_entry, actor, comment_id)
        return Response(found, headers={"Cache-Control": "private, no-store"})

    @patch("/comments/{comment_id:int}", summary="Edit one's own comment within the edit window")
    async def edit(self, comments: NamedDependency[CommentService], request: Request, comment_id: FromPath[int],
                   data: JSONBody[CommentUpdate], site: SiteParam = None) -> AuthorCommentView:
        site_entry, actor = await reader_of(request)
        return await comments.edit(site_entry, actor, comment_id, data.body)

    @delete("/comments/{comment_id:int}", summary="Delete one's own comment within the edit window")
    async def remove(self, comments: NamedDependency[CommentService], request: Request, comment_id: FromPath[int],
                     site: SiteParam = None) -> None:
        site_entry, actor = await reader_of(request)
        await comments.delete(site_entry, actor, comment_id)

    @post("/comments/{comment_id:int}/votes", summary="Vote a comment up or down", status_code=200)
    async def vote(self, comments: NamedDependency[CommentService], request: Request, comment_id: FromPath[int],
                   data: JSONBody[VoteCreate], site: SiteParam = None) -> VoteResult:
        site_entry, actor = await reader_of(request)
        return await comments.vote(site_entry, actor, comment_id, data.value)

    @post("/counts", summary="Comment counts for many articles", status_code=200)
    async def counts(self, request: Request, data: JSONBody[CountsRequest],
                     site: SiteParam = None) -> Response[CountsResponse]:
        services = services_of(request)
        await services.limiter.check("counts", user=None, ip=client_ip(request))
        entry = await site_entry_of(request)
        counts = await services.comments.counts(entry, data.article_ids)
        return JSONBytes(_json_encoder.encode(CountsResponse(counts=counts)),
                         cdn=services.cdn.public_headers(entry.site.id, data.article_ids))

    @get("/counts", summary="Comment counts for many articles, as a CDN can cache them",
         description="The same answer as POST /counts, for `article_ids`: the ids separated by newlines "
                     "(%0A; an article id has no control characters), at most 200.")
    async def counts_get(self, request: Request, article_ids: FromQuery[str],
                         site: SiteParam = None) -> Response[CountsResponse]:
        services = services_of(request)
        refusal = request.scope["state"].pop(COUNTS_REFUSAL, None)  # the fast path asked already
        if refusal is not None:
            raise refusal
        await services.limiter.check("counts", user=None, ip=client_ip(request))
        ids = list(dict.fromkeys(article_ids.split("\n")))
        if not 0 < len(ids) <= 200 or not all(map(is_valid_article_id, ids)):
            raise DomainError("invalid_request", "article_ids must be 1 to 200 article ids, one a line.")
        entry = await site_entry_of(request)
        counts = await services.comments.counts(entry, ids)
        return PublicAnswer(*answer(EncodedBody(_json_encoder.encode(CountsResponse(counts=counts))),
                                    services.cdn.public_headers(entry.site.id, ids), Conditions.of(request.scope),
                                    compress=False))

    @post("/comments/{comment_id:int}/reports", summary="Report a comment to the moderators (once per reader)",
          status_code=201)
    async def report(self, reader_reports: NamedDependency[ReaderReports], request: Request,
                     comment_id: FromPath[int], data: JSONBody[ReportCreate], site: SiteParam = None) -> ReportReceipt:
        site_entry, actor = await reader_of(request)
        return await reader_reports.report(site_entry, actor, comment_id, data.reason, data.note)

    @post("/toxicity/check", summary="Would this draft likely be held for review?", status_code=200)
    async def check_toxicity(self, nudge: NamedDependency[NudgeService], request: Request,
                             data: JSONBody[ToxicityCheck], site: SiteParam = None) -> ToxicityCheckResult:
        site_entry, actor = await reader_of(request)
        result = await nudge.check(site_entry, actor, data.body)
        if result.message is None:
            return result
        return msgspec.structs.replace(result, message=i18n.translate(result.message, i18n.scope_locale(request.scope)))

    @get("/site", summary="What the widget needs to know of the site before drawing",
         description="Public: the site's default language (for a reader whose page and browser name none of "
                     "the widget's languages) and whether guests may comment. Cacheable for five minutes.")
    async def site_info(self, request: Request, site: SiteParam = None) -> Response[PublicSite]:
        services = services_of(request)
        found = (await site_entry_of(request)).site
        language = found.settings.get("default_language")
        answer = PublicSite(id=found.id, default_language=language if language in i18n.LOCALES else i18n.DEFAULT,
                            guest_commenting=found.guest_commenting)
        # a CDN keeps it as long as browsers do, keyed to the site (a settings change purges it),
        # apart per Origin: the CORS headers differ
        cdn = [(k, v) for k, v in services.cdn.public_headers(found.id, []) if k != b"cache-control"]
        return JSONBytes(_json_encoder.encode(answer), "public, max-age=300", cdn=cdn)

    @get("/me", summary="Who the widget is signed in as")
    async def me(self, comments: NamedDependency[CommentService], request: Request, site: SiteParam = None) -> Me:
        _, actor = await reader_of(request)
        identity = actor.identity
        if identity is None:
            return Me(user=None, kind=None, role="reader")
        # the token's name, stored or not: a signed-in reader is greeted before their first comment
        standing = await comments.standing_of(identity, actor.ip)
        return Me(user=MeUser(id=standing.user_id, name=identity.name), kind=identity.kind, role=identity.role,
                  banned=standing.banned, banned_until=standing.banned_until)


_json_encoder = msgspec.json.Encoder()


class JSONBytes(Response):
    """JSON the service already encoded (cached page or count bytes), sent as they are.

    Litestar's own path for a ``Response`` builds header containers and an ``ASGIResponse`` per
    request; for these bytes only content-type and content-length are needed. Anything beyond that
    (route-level headers or cookies, a background task, HEAD) takes Litestar's path unchanged.
    """

    __slots__ = ("_cache_control", "_cdn")

    def __init__(self, body: bytes, cache_control: str | None = None,
                 cdn: list[tuple[bytes, bytes]] | None = None) -> None:
        """``cdn``: a public answer's caching headers (services/cdn_purge.Cdn.public_headers), with
        or in place of ``cache_control``."""
        # the fields Response.__init__ would set, without its normalising of arguments these never need
        self.content = body
        self.background = None
        self.cookies = []
        self.encoding = "utf-8"
        self.headers = {"Cache-Control": cache_control} if cache_control else {}
        self._cdn = cdn
        self.media_type = "application/json"
        self.status_code = None
        self.response_type_encoders = {}
        self._cache_control = cache_control

    def to_asgi_response(self, app: Any = None, request: Any = None, *, background: Any = None, cookies: Any = None,
                         headers: Any = None, status_code: int | None = None, **kwargs: Any) -> Any:
        if background or cookies or headers or self.cookies or self.background or (
                request is not None and request.scope["method"] == "HEAD"):
            if self._cdn:
                self.headers = {**self.headers, **{name.decode(): value.decode() for name, value in self._cdn}}
            return super().to_asgi_response(app, request, background=background, cookies=cookies, headers=headers,
                                            status_code=status_code, **kwargs)
        body: bytes = self.content
        encoded = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if self._cache_control:
            encoded.append((b"cache-control", self._cache_control.encode()))
        if self._cdn:
            encoded += self._cdn
        return SendBytes(self.status_code or status_code or 200, encoded, body)
