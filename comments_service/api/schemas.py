"""Request and response bodies of the public API (msgspec Structs; unknown fields refused)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from msgspec import Meta

from ..domain import article_ids
from ..domain.article_ids import ArticleId
from ..domain.structs import Struct


class CommentCreate(Struct, forbid_unknown_fields=True):
    body: Annotated[str, Meta(max_length=100_000, description="Markdown text of the comment.")]
    parent_id: Annotated[int, Meta(ge=1)] | None = None
    author_name: Annotated[str, Meta(max_length=80)] | None = None
    article_url: Annotated[str, Meta(max_length=2000)] | None = None
    article_title: Annotated[str, Meta(max_length=500)] | None = None
    challenge: Annotated[str, Meta(max_length=1024, description=(
        "A guest's solved proof of work (ALTCHA's base64 payload) for a challenge from GET /api/v1/challenge; "
        "required of guests unless COMMENTS_GUEST_CHALLENGE is off, never of signed-in readers."))] | None = None
    # the widget's invisible field: people leave it empty, form-filling bots do not
    website: Annotated[str, Meta(max_length=2000)] | None = None


class CommentUpdate(Struct, forbid_unknown_fields=True):
    body: Annotated[str, Meta(max_length=100_000)]


class VoteCreate(Struct, forbid_unknown_fields=True):
    value: Annotated[int, Meta(ge=-1, le=1, description="1 up, -1 down, 0 withdraws the vote.")]


class CountsRequest(Struct, forbid_unknown_fields=True):
    article_ids: Annotated[list[ArticleId], Meta(min_length=1, max_length=200)]

    def __post_init__(self) -> None:
        # msgspec turns this ValueError into a validation error (400 invalid_request), as a pattern would
        bad = article_ids.first_invalid(self.article_ids)
        if bad is not None:
            raise ValueError(f"article_ids[{bad}] contains control characters")


class CountsResponse(Struct, forbid_unknown_fields=True):
    counts: dict[str, int]


class MeUser(Struct, forbid_unknown_fields=True):
    id: Annotated[int | None, Meta(description="None for a signed-in reader who has not written yet: nothing is "
                                               "stored of them until they do.")]
    name: str


class Me(Struct, forbid_unknown_fields=True):
    user: MeUser | None
    kind: str | None
    role: str
    banned: Annotated[bool, Meta(description="Whether the reader may not write here now (a ban, or for a guest "
                                             "the reach of a banned guest's ban to their network).")] = False
    banned_until: Annotated[datetime | None, Meta(description="When the ban ends; None while banned: until a "
                                                              "moderator lifts it.")] = None


class PublicSite(Struct):
    """What the widget may know of a site before it draws anything."""

    id: str
    default_language: Annotated[str, Meta(description="The language for readers whose page and browser name "
                                                      "none the widget has (the site's default_language, else en).")]
    guest_commenting: bool


class ReportCreate(Struct, forbid_unknown_fields=True):
    reason: Literal["offensive", "spam", "off_topic", "other"]
    note: Annotated[str, Meta(max_length=1000, pattern=r"^[^\x00]*$")] | None = None


class ToxicityCheck(Struct, forbid_unknown_fields=True):
    body: Annotated[str, Meta(max_length=100_000, description="The draft comment (Markdown).")]
