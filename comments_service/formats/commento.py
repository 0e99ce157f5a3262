"""Commento's and Comentario's JSON export (the file their "export" button mails, usually gzipped).

Both are one JSON document, not a stream, so the file is read and decoded whole: their exports are
built in memory by the exporting service too, which keeps them far below the sizes the streaming
formats are for. The comments are then grouped by page so that each thread comes out just before its
comments.

- Version 1 (Commento, and Comentario before 3): ``{"version": 1, "comments": [...], "commenters":
  [...]}``. A comment has ``commentHex``, ``domain`` (Comentario: ``host``), the page path under
  ``url`` (Comentario: ``path``), ``commenterHex``, ``markdown``, ``parentHex`` (``"root"`` at the
  top level), ``score``, ``state`` (``approved``, ``unapproved``, ``flagged``), ``creationDate``,
  ``deleted``. A commenter has ``commenterHex``, ``email``, ``name``, ``link`` (Comentario:
  ``websiteUrl``). The anonymous commenter is ``"anonymous"`` (Comentario: 64 zeros) and is not
  listed.
- Version 3 (Comentario): ``{"version": 3, "pages": [...], "comments": [...], "commenters": [...]}``
  with UUIDs: pages (``id``, ``path``, ``title``, ``isReadonly``, ``createdTime``), comments (``id``,
  ``parentId``, ``pageId``, ``markdown``, ``isApproved``, ``isPending``, ``isDeleted``,
  ``createdTime``, ``userCreated``, ``authorName``, ``authorIP``, ``url``), commenters (``id``,
  ``email``, ``name``, ``websiteUrl``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import msgspec

from ..domain.structs import Struct
from .records import Record, Skipped, SourceAuthor, SourceComment, SourceFileError, SourceState, SourceThread
from .source_file import SourceFile

SYSTEM = "commento"

_V1_STATES: dict[str, SourceState] = {"approved": "approved", "unapproved": "pending", "flagged": "spam"}
_ROOT_PARENTS = frozenset(("", "root"))

class _Commenter(Struct, rename="camel"):
    commenter_hex: str = ""  # version 1
    id: str = ""  # version 3
    email: str = ""
    name: str = ""
    link: str = ""
    website_url: str = ""


class _Page(Struct, rename="camel"):
    id: str = ""
    path: str = ""
    title: str = ""
    is_readonly: bool = False
    created_time: str = ""


class _Comment(Struct, rename="camel"):
    # version 1
    comment_hex: str = ""
    domain: str = ""
    host: str = ""
    url: str = ""
    path: str = ""
    commenter_hex: str = ""
    parent_hex: str = ""
    state: str = ""
    creation_date: str = ""
    deleted: bool = False
    # version 3
    id: str = ""
    parent_id: str | None = None
    page_id: str = ""
    user_created: str | None = None
    author_name: str = ""
    author_ip: str = msgspec.field(default="", name="authorIP")
    is_approved: bool = False
    is_pending: bool = False
    is_deleted: bool = False
    created_time: str = ""
    # both
    markdown: str = ""


class _Export(Struct):
    version: int
    comments: list[_Comment] = []
    commenters: list[_Commenter] = []
    pages: list[_Page] = []


_decoder = msgspec.json.Decoder(_Export)


def read(source: SourceFile) -> Iterator[Record]:
    export = _decode(source)
    if export.version == 1:
        yield from _v1(export)
    elif export.version == 3:
        yield from _v3(export)
    else:
        raise SourceFileError(f"Commento/Comentario export version {export.version} is not one this reader knows "
                              "(1 or 3)")


def _decode(source: SourceFile) -> _Export:
    # the file's bytes are let go as soon as they are decoded
    data = source.read_whole()
    try:
        return _decoder.decode(data)
    except (msgspec.DecodeError, RecursionError) as exc:  # msgspec refuses deep nesting with the latter
        raise SourceFileError(f"not a readable Commento/Comentario export: {exc}") from None


def _v1(export: _Export) -> Iterator[Record]:
    authors = {c.commenter_hex: SourceAuthor(name=c.name, email=c.email or None, username=c.commenter_hex or None,
                                             url=c.link or c.website_url or None)
               for c in export.commenters}
    pages: dict[str, list[tuple[int, _Comment]]] = {}
    for number, comment in enumerate(export.comments, 1):
        domain = comment.domain or comment.host
        path = comment.url or comment.path
        pages.setdefault(domain + path, []).append((number, comment))
    for thread_id, comments in pages.items():
        first = comments[0][1]
        domain = first.domain or first.host
        path = first.url or first.path
        yield SourceThread(source_id=thread_id, position=f"record {comments[0][0]}", identifier=path or None,
                           url=f"https://{domain}{path}" if domain else None)
        for number, comment in comments:
            yield _v1_comment(comment, thread_id, f"record {number}", authors)


def _v1_comment(comment: _Comment, thread_id: str, position: str, authors: dict[str, SourceAuthor]) -> Record:
    if not comment.comment_hex:
        return Skipped(position=position, reason="no_id")
    created_at = _date(comment.creation_date)
    if created_at is None:
        return Skipped(position=position, reason="invalid_date", detail=f"creationDate = {comment.creation_date!r}")
    deleted = comment.deleted or comment.markdown == "[deleted]"
    state: SourceState = "deleted" if deleted else _V1_STATES.get(comment.state, "pending")
    if not comment.markdown.strip() and not deleted:
        return Skipped(position=position, reason="no_body")
    author = authors.get(comment.commenter_hex) or SourceAuthor(name="", anonymous=True)
    return SourceComment(source_id=comment.comment_hex, thread_id=thread_id, position=position, author=author,
                         body="" if deleted else comment.markdown, body_format="markdown", created_at=created_at,
                         state=state,
                         parent_id=None if comment.parent_hex in _ROOT_PARENTS else comment.parent_hex)


def _v3(export: _Export) -> Iterator[Record]:
    authors = {c.id: SourceAuthor(name=c.name, email=c.email or None, username=c.id or None,
                                  url=c.website_url or None)
               for c in export.commenters}
    by_page: dict[str, list[tuple[int, _Comment]]] = {page.id: [] for page in export.pages}
    orphans: list[tuple[int, _Comment]] = []
    for number, comment in enumerate(export.comments, 1):
        by_page.get(comment.page_id, orphans).append((number, comment))
    for number, page in enumerate(export.pages, 1):
        comments = by_page[page.id]
        # the page list has no urls; a comment's url is the page's with the comment's anchor
        url = next((c.url.partition("#")[0] for _, c in comments if c.url), None)
        yield SourceThread(source_id=page.path, position=f"page record {number}", identifier=page.path or None,
                           url=url, title=page.title or None, closed=page.is_readonly,
                           created_at=_date(page.created_time))
        for index, comment in comments:
            yield _v3_comment(comment, page.path, f"record {index}", authors)
    for number, comment in orphans:
        yield Skipped(position=f"record {number}", reason="unknown_thread", detail=f"page {comment.page_id!r}")


def _v3_comment(comment: _Comment, thread_id: str, position: str, authors: dict[str, SourceAuthor]) -> Record:
    if not comment.id:
        return Skipped(position=position, reason="no_id")
    created_at = _date(comment.created_time)
    if created_at is None:
        return Skipped(position=position, reason="invalid_date", detail=f"createdTime = {comment.created_time!r}")
    state: SourceState
    if comment.is_deleted:
        state = "deleted"
    elif comment.is_approved:
        state = "approved"
    elif comment.is_pending:
        state = "pending"
    else:  # neither approved nor pending: a moderator rejected it
        state = "trash"
    if not comment.markdown.strip() and state != "deleted":
        return Skipped(position=position, reason="no_body")
    author = authors.get(comment.user_created or "")
    if author is None:  # the anonymous user, who is not listed, or a user the export left out
        author = SourceAuthor(name=comment.author_name, anonymous=True)
    if comment.author_ip:
        author = msgspec.structs.replace(author, ip=comment.author_ip)
    return SourceComment(source_id=comment.id, thread_id=thread_id, position=position, author=author,
                         body=comment.markdown, body_format="markdown", created_at=created_at, state=state,
                         parent_id=comment.parent_id or None)


def _date(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    # Go writes its zero time where a date was never set
    if parsed.year < 2:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
