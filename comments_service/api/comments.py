"""Public routes: threads, replies, posting, editing, deleting, votes and counts."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import Provide
from litestar.params import Parameter

from ..domain.models import Author, CommentView, PostedComment, RepliesPage, ThreadPage, VoteResult
from ..errors import DomainError
from ..services.comments import Actor
from ..services.sites import SiteEntry
from .deps import provide_actor, provide_site_entry, services_of
from .schemas import CommentCreate, CommentUpdate, CountsRequest, CountsResponse, Me, VoteCreate

Limit = Annotated[int | None, Parameter(ge=1, le=100, required=False, description="Page size.")]
Replies = Annotated[int | None, Parameter(ge=0, le=20, required=False, description="Replies shown per comment.")]
Cursor = Annotated[str | None, Parameter(max_length=200, required=False, description="From next_cursor.")]


class PublicCommentsController(Controller):
    path = "/api/v1"
    tags = ["comments"]
    dependencies = {"site_entry": Provide(provide_site_entry), "actor": Provide(provide_actor)}

    @get("/articles/{article_id:str}/comments", summary="Read a page of an article's thread")
    async def thread(self, request: Request, site_entry: SiteEntry, actor: Actor,
                     article_id: Annotated[str, Parameter(max_length=200)],
                     sort: Literal["oldest", "newest", "top"] = "oldest", limit: Limit = None,
                     cursor: Cursor = None, replies: Replies = None) -> Response[ThreadPage]:
        services = services_of(request)
        cfg = services.settings.comments
        body = await services.comments.thread(
            site_entry, _article_key(article_id), sort=sort, cursor=cursor, limit=limit or cfg.page_size,
            replies=cfg.replies_per_comment if replies is None else replies, viewer=actor.identity)
        return Response(content=body, media_type="application/json",
                        headers={"Cache-Control": "private, max-age=0" if actor.identity else "public, max-age=2"})

    @get("/comments/{comment_id:int}/replies", summary="Read more replies of one comment")
    async def replies(self, request: Request, site_entry: SiteEntry, comment_id: int, cursor: Cursor = None,
                      limit: Limit = None, replies: Replies = None) -> RepliesPage:
        services = services_of(request)
        cfg = services.settings.comments
        return await services.comments.replies(
            site_entry, comment_id, cursor=cursor, limit=limit or cfg.page_size,
            replies=cfg.replies_per_comment if replies is None else replies)

    @post("/articles/{article_id:str}/comments", summary="Post a comment or a reply", status_code=201)
    async def create(self, request: Request, site_entry: SiteEntry, actor: Actor,
                     article_id: Annotated[str, Parameter(max_length=200)], data: CommentCreate) -> PostedComment:
        return await services_of(request).comments.post(
            site_entry, actor, _article_key(article_id), body=data.body, parent_id=data.parent_id,
            author_name=data.author_name, article_url=data.article_url, article_title=data.article_title)

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
    async def counts(self, request: Request, site_entry: SiteEntry, data: CountsRequest) -> CountsResponse:
        return CountsResponse(counts=await services_of(request).comments.counts(site_entry, data.article_ids))

    @get("/me", summary="Who the widget is signed in as")
    async def me(self, request: Request, actor: Actor) -> Me:
        identity = actor.identity
        if identity is None:
            return Me(user=None, kind=None, role="reader")
        user_id = await services_of(request).comments.user_id_of(identity)
        return Me(user=Author(id=user_id, name=identity.name) if user_id else None, kind=identity.kind,
                  role=identity.role)


def _article_key(raw: str) -> str:
    if not raw or any(ord(ch) < 0x20 for ch in raw):
        raise DomainError("invalid_request", "The article id is empty or contains control characters.")
    return raw
