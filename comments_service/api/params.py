"""Query and path parameters that several routes share, declared once: their bounds and descriptions
are part of the API's schema."""

from __future__ import annotations

from typing import Annotated

from litestar.params import PathParameter, QueryParameter

from ..domain import article_ids
from ..errors import DomainError
from .article_paths import SLASH_STAND_IN

SiteParam = Annotated[str | None, QueryParameter(name="site", required=False, max_length=64,
                                                 description="The id of the site embedding the comments.")]
RequiredSiteParam = Annotated[str, QueryParameter(name="site", min_length=1, max_length=64,
                                                  description="The site this is about.")]
Limit = Annotated[int | None, QueryParameter(ge=1, le=100, required=False, description="Page size.")]
Cursor = Annotated[str | None, QueryParameter(max_length=200, required=False, description="From next_cursor.")]
Replies = Annotated[int | None, QueryParameter(ge=0, le=20, required=False, description="Replies shown per comment.")]
# An article id in a path or a query string: ``checked_article_id()`` checks the rest of the rule
# (domain/article_ids.py) where a handler uses it.
ArticlePath = Annotated[str, PathParameter(max_length=article_ids.MAX_LENGTH)]
ArticleQuery = Annotated[str | None, QueryParameter(max_length=article_ids.MAX_LENGTH, required=False)]


def checked_article_id(raw: str) -> str:
    """``raw`` when it is a valid article id, else the 400 every route answers for one that is not.
    An id's slashes sent encoded in a path come as a stand-in (api/article_paths.py)."""
    raw = raw.replace(SLASH_STAND_IN, "/")
    if not article_ids.is_valid(raw):
        raise DomainError("invalid_request", "The article id is empty or contains control characters.")
    return raw
