"""Disqus's XML export: ``<disqus>`` holding ``<category>``, ``<thread>`` and ``<post>`` elements.

    <thread dsq:id="…"> <id>site's identifier</id> <link/> <title/> <createdAt/> <isClosed/> <isDeleted/> …
    <post dsq:id="…"> <message>HTML</message> <createdAt>2012-05-25T18:16:38Z</createdAt> <isDeleted/>
        <isSpam/> <author><name/><email/><username/><isAnonymous/></author> <ipAddress/>
        <thread dsq:id="…"/> <parent dsq:id="…"/>? </post>

Ids are the ``dsq:id`` attributes (a post's ``<id>`` is almost always empty). Disqus writes every
thread before the posts; a post naming a thread not seen is yielded all the same (the import reports
it), so nothing is buffered. The handlers run for every element of a file that may hold millions,
which is why they are closures over plain local state, with the rarely taken branches last.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from .records import (
    KNOWN,
    KnownIds,
    Record,
    Skipped,
    SourceAuthor,
    SourceComment,
    SourceFileError,
    SourceState,
    SourceThread,
)
from .safe_xml import MAX_DEPTH, MAX_TEXT_CHARS, XmlStream
from .source_file import SourceFile

SYSTEM = "disqus"

_NS = "http://disqus.com "
_DSQ_ID = "http://disqus.com/disqus-internals id"
_ROOT = _NS + "disqus"
_THREAD = _NS + "thread"
_POST = _NS + "post"
_PARENT = _NS + "parent"
_ID = _NS + "id"
_LINK = _NS + "link"
_TITLE = _NS + "title"
_MESSAGE = _NS + "message"
_CREATED = _NS + "createdAt"
_CLOSED = _NS + "isClosed"
_DELETED = _NS + "isDeleted"
_SPAM = _NS + "isSpam"
_IP = _NS + "ipAddress"
_NAME = _NS + "name"
_EMAIL = _NS + "email"
_USERNAME = _NS + "username"
_ANONYMOUS = _NS + "isAnonymous"
_TRUE = frozenset(("true", "True", "TRUE", "1"))
# the only fields kept: a record with thousands of other elements (each under MAX_TEXT_CHARS) must
# not grow the process by their total
_FIELDS = frozenset((_ID, _LINK, _TITLE, _MESSAGE, _CREATED, _CLOSED, _DELETED, _SPAM, _IP, _NAME, _EMAIL, _USERNAME,
                     _ANONYMOUS))

# what the element being read at depth 2 is
_OTHER, _IS_THREAD, _IS_POST, _IS_KNOWN_POST = 0, 1, 2, 3


def parse_date(value: str | None) -> datetime | None:
    """An ISO 8601 timestamp (Disqus writes "2012-05-25T18:16:38Z"); UTC when it names no zone."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def read(source: SourceFile, *, known: KnownIds | None = None) -> Iterator[Record]:
    """``known``: posts whose dsq:id it names are yielded as KNOWN, their fields not kept (the id is
    an attribute of the post's start tag, so the rest of it is only parsed past)."""
    stream = XmlStream()
    text = stream.text
    clear = text.clear
    join = "".join
    out = stream.out
    emit = out.append
    depth = 0
    kind = _OTHER
    record_id: str | None = None
    line = ""
    # the text of the record's elements below depth 2, by name (the author's children included:
    # their names differ from the post's and thread's own)
    fields: dict[str, str] = {}
    thread_ref: str | None = None
    parent_ref: str | None = None

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal depth, kind, record_id, line, fields, thread_ref, parent_ref
        clear()
        depth += 1
        if depth > 2:
            if depth > MAX_DEPTH:
                stream.too_deep()
            if attrs and depth == 3 and kind == _IS_POST:
                if name == _THREAD:
                    thread_ref = attrs.get(_DSQ_ID)
                elif name == _PARENT:
                    parent_ref = attrs.get(_DSQ_ID)
        elif depth == 2:
            kind = _IS_POST if name == _POST else _IS_THREAD if name == _THREAD else _OTHER
            record_id = attrs.get(_DSQ_ID)
            if kind == _IS_POST and known is not None and record_id and known(record_id):
                kind = _IS_KNOWN_POST
            line = f"line {stream.parser.CurrentLineNumber}"
            fields = {}
            thread_ref = parent_ref = None
            stream.oversized = False
        elif name != _ROOT:
            raise SourceFileError(
                f"not a Disqus export: the root element is <{name.rpartition(' ')[2]}>, not <disqus> "
                "in the http://disqus.com namespace", stream.position())

    def end(name: str) -> None:
        nonlocal depth
        depth -= 1
        if depth > 1:
            if name in _FIELDS and kind != _IS_KNOWN_POST:
                fields[name] = join(text)
        elif depth == 1:
            if kind == _IS_POST:
                emit(post())
            elif kind == _IS_KNOWN_POST:
                emit(KNOWN)
            elif kind == _IS_THREAD:
                emit(thread())

    def thread() -> Record:
        f = fields
        if not record_id:
            return Skipped(position=line, reason="no_id", detail="a <thread> without dsq:id")
        if stream.oversized:
            return Skipped(position=line, reason="oversized",
                           detail=f"thread {record_id}: a field over {MAX_TEXT_CHARS} characters")
        return SourceThread(
            source_id=record_id, position=line,
            identifier=f.get(_ID, "").strip() or None, url=f.get(_LINK, "").strip() or None,
            title=f.get(_TITLE, "").strip() or None, closed=f.get(_CLOSED, "").strip() in _TRUE,
            created_at=parse_date(f.get(_CREATED)))

    def post() -> Record:
        f = fields
        if not record_id:
            return Skipped(position=line, reason="no_id", detail="a <post> without dsq:id")
        if not thread_ref:
            return Skipped(position=line, reason="no_thread", detail=f"post {record_id} names no thread")
        body = f.get(_MESSAGE, "")
        if stream.oversized or len(body) > MAX_TEXT_CHARS:
            return Skipped(position=line, reason="oversized",
                           detail=f"post {record_id}: a field over {MAX_TEXT_CHARS} characters")
        created = parse_date(f.get(_CREATED))
        if created is None:
            return Skipped(position=line, reason="invalid_date",
                           detail=f"post {record_id}: createdAt {f.get(_CREATED, '')[:40]!r}")
        state: SourceState = ("spam" if f.get(_SPAM, "").strip() in _TRUE else
                              "deleted" if f.get(_DELETED, "").strip() in _TRUE else "approved")
        return SourceComment(
            source_id=record_id, thread_id=thread_ref, position=line,
            author=SourceAuthor(name=f.get(_NAME, "").strip(), email=f.get(_EMAIL, "").strip() or None,
                                username=f.get(_USERNAME, "").strip() or None, ip=f.get(_IP, "").strip() or None,
                                anonymous=f.get(_ANONYMOUS, "").strip() in _TRUE),
            body=body, body_format="html", created_at=created, state=state, parent_id=parent_ref or None)

    stream.parser.StartElementHandler = start
    stream.parser.EndElementHandler = end
    return stream.records(source)
