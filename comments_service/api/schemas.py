"""Request and response bodies of the public API (msgspec Structs; unknown fields refused)."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from ..domain.models import Author, Base

ArticleKey = Annotated[str, Meta(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")]


class CommentCreate(Base):
    body: Annotated[str, Meta(max_length=100_000, description="Markdown text of the comment.")]
    parent_id: Annotated[int, Meta(ge=1)] | None = None
    author_name: Annotated[str, Meta(max_length=80)] | None = None
    article_url: Annotated[str, Meta(max_length=2000)] | None = None
    article_title: Annotated[str, Meta(max_length=500)] | None = None


class CommentUpdate(Base):
    body: Annotated[str, Meta(max_length=100_000)]


class VoteCreate(Base):
    value: Annotated[int, Meta(ge=-1, le=1, description="1 up, -1 down, 0 withdraws the vote.")]


class CountsRequest(Base):
    article_ids: Annotated[list[ArticleKey], Meta(min_length=1, max_length=500)]


class CountsResponse(Base):
    counts: dict[str, int]


class Me(Base):
    user: Author | None
    kind: str | None
    role: str

