"""Moderator routes about articles as a whole: the list of a site's articles with their counts, and
an article's thread with every comment's status. Changing an article stays PATCH
/moderation/articles/{article_id} (api/moderation.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from ..domain.article_models import MAX_QUERY, ArticleList, ArticleThread, ThreadExtra
from ..errors import DomainError
from ..services.article_moderation import ArticleModeration
from .auth import ModeratorRoutes, staff_of
from .params import ArticlePath, Cursor, SiteParam, checked_article_id

_EXTRAS: tuple[ThreadExtra, ...] = ("held", "rejected")


def _include(raw: str | None) -> tuple[ThreadExtra, ...]:
    if raw is None:
        return ("held",)
    asked = {part.strip() for part in raw.split(",") if part.strip()}
    unknown = asked - set(_EXTRAS)
    if unknown:
        raise DomainError("invalid_request", "include takes held and rejected, separated by commas.")
    return tuple(x for x in _EXTRAS if x in asked)


class ArticleModerationController(ModeratorRoutes):
    path = "/api/v1/moderation"

    @get("/articles", summary="A site's articles with open/closed, premoderation and comment counts",
         description="sort: activity (the article with the most recent published or held comment first; "
                     "articles without comments last), newest (newest article first) or held (most held "
                     "comments first). q: words of the title, or the article's own id.")
    async def articles(self, article_moderation: NamedDependency[ArticleModeration], request: Request,
                       site: SiteParam = None,
                       sort: Annotated[Literal["activity", "newest", "held"], QueryParameter(required=False)]
                       = "activity",
                       q: Annotated[str | None, QueryParameter(max_length=MAX_QUERY, required=False)] = None,
                       cursor: Cursor = None,
                       limit: Annotated[int, QueryParameter(ge=1, le=100, required=False)] = 25) -> ArticleList:
        return await article_moderation.articles(staff_of(request), site, sort=sort, query=q, cursor=cursor,
                                                 limit=limit)

    @get("/articles/{article_id:str}/thread",
         summary="An article's thread as readers see it, with held (and rejected) comments in place",
         description="Reader order: top-level comments oldest first, each followed by its replies depth-first. "
                     "include: held (the default; comments being scored too), rejected, both (held,rejected) "
                     "or none (include= : what readers see).")
    async def thread(self, article_moderation: NamedDependency[ArticleModeration], request: Request,
                     article_id: ArticlePath, site: SiteParam = None,
                     include: Annotated[str | None, QueryParameter(max_length=40, required=False)] = None,
                     cursor: Annotated[str | None, QueryParameter(max_length=2000, required=False,
                                                                  description="From next_cursor.")] = None,
                     limit: Annotated[int, QueryParameter(ge=1, le=200, required=False)] = 50) -> ArticleThread:
        return await article_moderation.thread(staff_of(request), site, checked_article_id(article_id),
                                               include=_include(include), cursor=cursor, limit=limit)
