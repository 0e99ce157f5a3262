"""Moderator routes for featured comments (editor's picks) and an article's pinned comment. Readers
see both on the thread's first page (``featured``, ``pinned``)."""

from __future__ import annotations

from litestar import Request, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from ..domain.featured_models import ArticleFeatured, FeatureRequest, FeatureState, PinRequest
from ..services.featuring import Featuring
from .auth import ModeratorRoutes, staff_of
from .params import ArticlePath, SiteParam, checked_article_id


class FeaturedController(ModeratorRoutes):
    path = "/api/v1/moderation"

    @post("/comments/{comment_id:int}/feature", summary="Feature a published comment (an editor's pick)",
          description="Readers see it at once in the article's featured comments, newest pick first. At most 10 "
                      "per article (409 featured_limit); only a published comment (409 not_featurable). "
                      "Featuring one already featured changes nothing (changed: false).",
          status_code=200)
    async def feature(self, featuring: NamedDependency[Featuring], request: Request, comment_id: FromPath[int],
                      data: JSONBody[FeatureRequest | None] = None) -> FeatureState:
        return await featuring.feature(staff_of(request), comment_id, note=data.note if data else None)

    @delete("/comments/{comment_id:int}/feature", summary="Stop featuring a comment", status_code=200)
    async def unfeature(self, featuring: NamedDependency[Featuring], request: Request,
                        comment_id: FromPath[int]) -> FeatureState:
        return await featuring.unfeature(staff_of(request), comment_id)

    @get("/articles/{article_id:str}/featured", summary="An article's featured comments and its pinned comment")
    async def featured(self, featuring: NamedDependency[Featuring], request: Request, article_id: ArticlePath,
                       site: SiteParam = None) -> ArticleFeatured:
        return await featuring.featured_of(staff_of(request), site, checked_article_id(article_id))

    @put("/articles/{article_id:str}/pin", summary="Pin a published comment to the top of an article",
         description="Replaces the article's pinned comment, if any. Only a published comment of this article "
                     "(404 comment_not_found, 409 not_featurable).")
    async def pin(self, featuring: NamedDependency[Featuring], request: Request, article_id: ArticlePath,
                  data: JSONBody[PinRequest], site: SiteParam = None) -> ArticleFeatured:
        return await featuring.pin(staff_of(request), site, checked_article_id(article_id),
                                   data.comment_id, note=data.note)

    @delete("/articles/{article_id:str}/pin", summary="Unpin an article's pinned comment", status_code=200)
    async def unpin(self, featuring: NamedDependency[Featuring], request: Request, article_id: ArticlePath,
                    site: SiteParam = None) -> ArticleFeatured:
        return await featuring.unpin(staff_of(request), site, checked_article_id(article_id))
