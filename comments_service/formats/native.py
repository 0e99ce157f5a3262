"""Our own export (``services/export.py``: format ``comments_service.export``, version 1), read as a
source like any other, so that a site's threads can move between installations or be merged into a
site that already has comments (which the restore of a whole database cannot do).

The export is one JSON document holding the rows of one site: ``tables.sites``, ``users``,
``articles``, ``comments``, ``votes``. It is read and decoded whole (the exporter builds it whole
too). Articles are the threads; each is yielded just before its comments.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import msgspec

from ..domain.structs import Struct
from .records import (
    OUR_STATES,
    Record,
    Skipped,
    SourceAuthor,
    SourceComment,
    SourceFileError,
    SourceThread,
)
from .source_file import SourceFile

SYSTEM = "comments_service"
FORMAT = "comments_service.export"
VERSION = 1


class _Envelope(Struct):
    format: str | None = None
    version: object = None
    tables: msgspec.Raw = msgspec.Raw(b"")


class _Site(Struct):
    id: str


class _User(Struct):
    id: int
    kind: str
    external_id: str
    display_name: str = ""
    email: str | None = None


class _Article(Struct):
    id: int
    external_id: str
    url: str | None = None
    title: str | None = None
    comments_open: bool = True
    created_at: str | None = None


class _Comment(Struct):
    id: int
    article_id: int
    author_id: int
    status: str
    parent_id: int | None = None
    body_markdown: str = ""
    author_ip: str | None = None
    created_at: str | None = None


class _Tables(Struct):
    sites: list[_Site] = []
    users: list[_User] = []
    articles: list[_Article] = []
    comments: list[_Comment] = []


_envelope = msgspec.json.Decoder(_Envelope)
_tables = msgspec.json.Decoder(_Tables)


def read(source: SourceFile) -> Iterator[Record]:
    tables = _decode(source)
    if len(tables.sites) > 1:
        raise SourceFileError(f"the export holds {len(tables.sites)} sites; import one site's export at a time")
    users = {user.id: _author(user) for user in tables.users}
    by_article: dict[int, list[tuple[int, _Comment]]] = {article.id: [] for article in tables.articles}
    orphans: list[tuple[int, _Comment]] = []
    for number, comment in enumerate(tables.comments, 1):
        by_article.get(comment.article_id, orphans).append((number, comment))
    for number, article in enumerate(tables.articles, 1):
        yield SourceThread(source_id=str(article.id), position=f"article record {number}",
                           identifier=article.external_id, url=article.url, title=article.title,
                           closed=not article.comments_open, created_at=_date(article.created_at))
        for index, comment in by_article[article.id]:
            yield _comment(comment, f"record {index}", users)
    for number, comment in orphans:
        yield Skipped(position=f"record {number}", reason="unknown_thread",
                      detail=f"article {comment.article_id} is not in the file")


def _decode(source: SourceFile) -> _Tables:
    # the file's bytes are let go as soon as they are decoded
    data = source.read_whole()
    try:
        envelope = _envelope.decode(data)
    except (msgspec.DecodeError, RecursionError) as exc:  # msgspec refuses deep nesting with the latter
        raise SourceFileError(f"not a comments_service export: {exc}") from None
    if envelope.format != FORMAT or not envelope.tables:
        raise SourceFileError("not a comments_service export (no \"format\": \"comments_service.export\")")
    if envelope.version != VERSION:
        raise SourceFileError(f"comments_service export version {envelope.version!r} is not one this reader knows "
                              f"({VERSION})")
    try:
        return _tables.decode(envelope.tables)
    except (msgspec.DecodeError, RecursionError) as exc:  # msgspec refuses deep nesting with the latter
        raise SourceFileError(f"the export's tables cannot be read: {exc}") from None


def _author(user: _User) -> SourceAuthor:
    if user.kind == "sso":
        return SourceAuthor(name=user.display_name, email=user.email, sso_subject=user.external_id)
    # guests (and authors imported from elsewhere) are no account anyone can sign in as: a name only
    return SourceAuthor(name=user.display_name, username=f"{user.kind}:{user.external_id}")


def _comment(comment: _Comment, position: str, users: dict[int, SourceAuthor]) -> Record:
    author = users.get(comment.author_id)
    if author is None:
        return Skipped(position=position, reason="unknown_author",
                       detail=f"user {comment.author_id} is not in the file")
    state = OUR_STATES.get(comment.status)
    if state is None:
        return Skipped(position=position, reason="unknown_state", detail=f"status = {comment.status!r}")
    created_at = _date(comment.created_at)
    if created_at is None:
        return Skipped(position=position, reason="invalid_date", detail=f"created_at = {comment.created_at!r}")
    if comment.author_ip:
        author = msgspec.structs.replace(author, ip=comment.author_ip)
    return SourceComment(source_id=str(comment.id), thread_id=str(comment.article_id), position=position,
                         author=author, body=comment.body_markdown, body_format="markdown", created_at=created_at,
                         state=state, parent_id=str(comment.parent_id) if comment.parent_id is not None else None)


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
