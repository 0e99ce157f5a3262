"""Remark42's backup (and export) file: JSON lines, streamed.

The first line holds the site's metadata: ``{"version": 1, "users": [...], "posts": [{"url",
"read_only"}]}``; every line after it is one comment as Remark42 stores it: ``id``, ``pid`` (the
parent, empty at the top level), ``text`` (HTML, already rendered and sanitised by Remark42),
``user`` (``name``, ``id``, ``ip`` — an HMAC of the address, not the address), ``locator``
(``site``, ``url``: the page, which is the thread), ``time`` (RFC 3339), ``delete``, ``title``.
Remark42 writes the comments page by page, so a thread's comments come together; a thread is yielded
the first time its url is seen, and the urls seen so far are all the reader keeps.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import BinaryIO

import msgspec

from ..domain.structs import Struct
from .records import Record, Skipped, SourceAuthor, SourceComment, SourceFileError, SourceThread
from .source_file import SourceFile

SYSTEM = "remark42"


class _Post(Struct):
    url: str = ""
    read_only: bool = False


class _Meta(Struct):
    version: int = 0
    posts: list[_Post] | None = None


class _User(Struct):
    name: str = ""
    id: str = ""
    ip: str = ""


class _Locator(Struct):
    url: str = ""


class _Comment(Struct):
    id: str = ""
    pid: str = ""
    text: str = ""
    user: _User | None = None
    locator: _Locator | None = None
    time: str = ""
    delete: bool = False
    title: str = ""


_meta_decoder = msgspec.json.Decoder(_Meta)
_comment_decoder = msgspec.json.Decoder(_Comment)
_NO_USER = _User()
# far above a comment's line (bodies are capped at 100,000 characters) or a large site's metadata line
MAX_LINE_BYTES = 64 << 20


def read(source: SourceFile) -> Iterator[Record]:
    with source.open() as stream:
        try:
            yield from _read(_lines(stream))
        except (OSError, EOFError) as exc:  # a damaged gzip stream
            raise SourceFileError(f"the file cannot be read on: {exc}") from None


def _lines(stream: BinaryIO) -> Iterator[bytes | None]:
    """The file's lines; None for a line over MAX_LINE_BYTES, which is passed over without being held
    (a small gzip file can hold one line of gigabytes)."""
    readline = stream.readline
    while line := readline(MAX_LINE_BYTES + 1):
        if len(line) <= MAX_LINE_BYTES or line.endswith(b"\n"):
            yield line
            continue
        while line and not line.endswith(b"\n"):
            line = readline(MAX_LINE_BYTES + 1)
        yield None


def _read(stream: Iterator[bytes | None]) -> Iterator[Record]:
    read_only: dict[str, bool] = {}
    seen: set[str] = set()
    meta_seen = False
    for lineno, line in enumerate(stream, 1):
        if line is None:
            if not meta_seen:
                raise SourceFileError(f"the metadata line is over {MAX_LINE_BYTES >> 20} MiB; refused",
                                      f"record {lineno}")
            yield Skipped(position=f"record {lineno}", reason="oversized",
                          detail=f"a line over {MAX_LINE_BYTES >> 20} MiB")
            continue
        if not line.strip():
            continue
        if not meta_seen:
            read_only = _meta(line, lineno)
            meta_seen = True
            continue
        position = f"record {lineno}"
        try:
            comment = _comment_decoder.decode(line)
        except (msgspec.DecodeError, RecursionError) as exc:  # msgspec refuses deep nesting with the latter
            yield Skipped(position=position, reason="malformed_record", detail=str(exc))
            continue
        url = comment.locator.url if comment.locator is not None else ""
        if not url:
            yield Skipped(position=position, reason="no_thread", detail="no locator.url")
            continue
        if not comment.id:
            yield Skipped(position=position, reason="no_id")
            continue
        if url not in seen:
            seen.add(url)
            yield SourceThread(source_id=url, position=position, url=url, title=comment.title or None,
                               closed=read_only.pop(url, False))
        yield _record(comment, url, position)
    if not meta_seen:
        raise SourceFileError("the file is empty: no Remark42 metadata line")


def _meta(line: bytes, lineno: int) -> dict[str, bool]:
    try:
        meta = _meta_decoder.decode(line)
    except (msgspec.DecodeError, RecursionError) as exc:  # msgspec refuses deep nesting with the latter
        raise SourceFileError(f"not a Remark42 backup: the first line is not its metadata ({exc})",
                              f"record {lineno}") from None
    if meta.posts is None and b'"locator"' in line:
        raise SourceFileError("not a Remark42 backup: the first line is a comment, not the metadata",
                              f"record {lineno}")
    return {post.url: True for post in meta.posts or () if post.read_only}


def _record(comment: _Comment, url: str, position: str) -> Record:
    try:
        created_at = datetime.fromisoformat(comment.time)
    except ValueError:
        return Skipped(position=position, reason="invalid_date", detail=f"time = {comment.time!r}")
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=UTC)
    user = comment.user or _NO_USER
    if not comment.text.strip() and not comment.delete:
        return Skipped(position=position, reason="no_body")
    return SourceComment(
        source_id=comment.id, thread_id=url, position=position,
        author=SourceAuthor(name=user.name, username=user.id or None, ip=_address(user.ip),
                            anonymous=user.id.startswith("anonymous_") or not user.id),
        body=comment.text, body_format="html", created_at=created_at,
        state="deleted" if comment.delete else "approved", parent_id=comment.pid or None)


def _address(value: str) -> str | None:
    """Remark42 keeps an HMAC of the address where it keeps one at all: only a real address passes."""
    # a hash has neither dots nor colons: no exception to raise and catch for it
    if not value or len(value) > 45 or ("." not in value and ":" not in value):
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None
