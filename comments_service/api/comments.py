"""Public routes: threads, replies, posting, editing, deleting, votes and counts."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import Provide
from litestar.params import Parameter
from litestar.types import Receive, Scope, Send

from ..domain.models import Author, CommentView, PostedComment, RepliesPage, ThreadPage, VoteResult
from ..errors import DomainError
from ..services.comments import Actor
from ..services.sites import SiteEntry
from .deps import SiteParam, actor_of, client_ip, provide_actor, provide_site_entry, services_of, site_entry_of
from .schemas import CommentCreate, CommentUpdate, CountsRequest, CountsResponse, Me, VoteCreate

Limit = Annotated[int | None, Parameter(ge=1, le=100, required=False, description="Page size.")]
Replies = Annotated[int | None, Parameter(ge=0, le=20, required=False, description="Replies shown per comment.")]
Cursor = Annotated[str | None, Parameter(max_length=200, required=False, description="From next_cursor.")]


class PublicCommentsController(Controller):
    path = "/api/v1"
    tags = ["comments"]
    dependencies = {"site_entry": Provide(provide_site_entry), "actor": Provide(provide_actor)}

    @get("/articles/{article_id:str}/comments", summary="Read a page of an article's thread")
    async def thread(self, request: Request, article_id: Annotated[str, Parameter(max_length=200)],
                     sort: Literal["oldest", "newest", "top"] = "oldest", limit: Limit = None,
                     cursor: Cursor = None, replies: Replies = None, site: SiteParam = None) -> Response[ThreadPage]:
        # the site and the reader are resolved here rather than through the controller's
        # dependencies: the hottest route then pays for one signature conversion instead of three
        services = services_of(request)
        cfg = services.settings.comments
        site_entry = await site_entry_of(request)
        actor = actor_of(request, site_entry)
        body = await services.comments.thread(
            site_entry, _article_key(article_id), sort=sort, cursor=cursor, limit=limit or cfg.page_size,
            replies=cfg.replies_per_comment if replies is None else replies, viewer=actor.identity)
        return JSONBytes(body, "private, max-age=0" if actor.identity else "public, max-age=2")

    @get("/comments/{comment_id:int}/replies", summary="Read more replies of one comment")
    async def replies(self, request: Request, site_entry: SiteEntry, comment_id: int, cursor: Cursor = None,
                      limit: Limit = None, replies: Replies = None) -> RepliesPage:
        services = services_of(request)
        cfg = services.settings.comments
        return await services.comments.replies(
            site_entry, comment_id, cursor=cursor, limit=limit or cfg.page_size,
            replies=cfg.replies_per_comment if replies is None else replies)

    @post("/articles/{article_id:str}/comments", summary="Post a comment or a reply", status_code=201)
    async def create(self, request: Request, article_id: Annotated[str, Parameter(max_length=200)],
                     data: CommentCreate, site: SiteParam = None) -> Response[PostedComment]:
        # resolved and encoded in the handler, as for thread(): a breaking story's posts share one
        # process with its readers, and Litestar's generic response path costs more than the encoding
        services = services_of(request)
        site_entry = await site_entry_of(request)
        posted = await services.comments.post(
            site_entry, actor_of(request, site_entry), _article_key(article_id), body=data.body,
            parent_id=data.parent_id, author_name=data.author_name, article_url=data.article_url,
            article_title=data.article_title)
        return JSONBytes(_json_encoder.encode(posted))

    @patch("/comments/{comment_id:int}", summary="Edit one's own comment within the edit window")
    async def edit(self, request: Request, site_entry: SiteEntry, actor: Actor, comment_id: int,
                   data: CommentUpdate) -> CommentView:
        return await services_of(request).comments.edit(site_entry, actor, comment_id, data.body)

    @delete("/comments/{comment_id:int}", summary="Delete one's own comment within the edit window")
    async def remove(self, request: Request, site_entry: SiteEntry, actor: Actor, comment_id: int) -> None:
        await services_of(request).comments.delete(site_entry, actor, comment_id)

    @post("/comments/{comment_id:int}/votes", summary="Vote a comment up or down", status_code=200)
    async def vote(self, request: Request, site_entry: SiteEntry, actor: Actor, comment_id: int,
                   data: VoteCreate) -> VoteResult:
        return await services_of(request).comments.vote(site_entry, actor, comment_id, data.value)

    @post("/counts", summary="Comment counts for many articles", status_code=200)
    async def counts(self, request: Request, data: CountsRequest, site: SiteParam = None) -> Response[CountsResponse]:
        # the site is looked up here rather than through the site_entry dependency: one signature
        # conversion per request instead of two (a front page asks for counts on every view)
        services = services_of(request)
        await services.limiter.check("counts", user=None, ip=client_ip(request))
        entry = await site_entry_of(request)
        counts = await services.comments.counts(entry, data.article_ids)
        return JSONBytes(_json_encoder.encode(CountsResponse(counts=counts)))

    @get("/me", summary="Who the widget is signed in as")
    async def me(self, request: Request, actor: Actor) -> Me:
        identity = actor.identity
        if identity is None:
            return Me(user=None, kind=None, role="reader")
        user_id = await services_of(request).comments.user_id_of(identity)
        return Me(user=Author(id=user_id, name=identity.name) if user_id else None, kind=identity.kind,
                  role=identity.role)


_json_encoder = msgspec.json.Encoder()


class _SendBytes:
    """The smallest ASGI response: a start message and one body message."""

    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body, "more_body": False})


class JSONBytes(Response):
    """JSON the service already encoded (cached page or count bytes), sent as they are.

    Litestar's own path for a ``Response`` builds header containers and an ``ASGIResponse`` per
    request; for these bytes only content-type and content-length are needed. Anything beyond that
    (route-level headers or cookies, a background task, HEAD) takes Litestar's path unchanged.
    """

    __slots__ = ("_cache_control",)

    def __init__(self, body: bytes, cache_control: str | None = None) -> None:
        # the fields Response.__init__ would set, without its normalising of arguments these never need
        self.content = body
        self.background = None
        self.cookies = []
        self.encoding = "utf-8"
        self.headers = {"Cache-Control": cache_control} if cache_control else {}
        self.media_type = "application/json"
        self.status_code = None
        self.response_type_encoders = {}
        self._cache_control = cache_control

    def to_asgi_response(self, app: Any = None, request: Any = None, *, background: Any = None, cookies: Any = None,
                         headers: Any = None, status_code: int | None = None, **kwargs: Any) -> Any:
        if background or cookies or headers or self.cookies or self.background or (
                request is not None and request.scope["method"] == "HEAD"):
            return super().to_asgi_response(app, request, background=background, cookies=cookies, headers=headers,
                                            status_code=status_code, **kwargs)
        body: bytes = self.content
        encoded = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if self._cache_control:
            encoded.append((b"cache-control", self._cache_control.encode()))
        return _SendBytes(self.status_code or status_code or 200, encoded, body)


_CONTROL_CHARS = re.compile(r"[\x00-\x1f]")


def _article_key(raw: str) -> str:
    if not raw or _CONTROL_CHARS.search(raw):
        raise DomainError("invalid_request", "The article id is empty or contains control characters.")
    return raw
