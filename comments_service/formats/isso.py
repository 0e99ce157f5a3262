"""Isso's SQLite database file, read in place.

Isso keeps everything in one SQLite file: ``threads`` (id, uri, title) and ``comments`` (tid, id,
parent, created and modified as Unix seconds, mode 1 accepted / 2 pending / 4 deleted, remote_addr,
text as markdown, author, email, website, votes, notification). The file is opened read-only and
immutable, so an import never writes to (or takes a lock on) a live Isso database copy; comments are
read in one pass ordered by thread, so each thread comes out just before its comments.

A database file cannot be streamed through ``SourceFile.open()``, so progress is reported by hand:
the share of comment rows read, as a share of the file's size.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import quote

from .records import Record, Skipped, SourceAuthor, SourceComment, SourceFileError, SourceState, SourceThread
from .source_file import SourceFile

SYSTEM = "isso"

_STATES: dict[int, SourceState] = {1: "approved", 2: "pending", 4: "deleted"}
_COMMENT_COLUMNS = ("tid", "id", "parent", "created", "mode", "remote_addr", "text", "author", "email", "website")
# how many rows between two progress reports
_PROGRESS_EVERY = 2000
_MAX_VALUE_BYTES = 16 * 1024 * 1024


def read(source: SourceFile) -> Iterator[Record]:
    conn = _connect(source)
    try:
        yield from _read(conn, source)
    except sqlite3.DatabaseError as exc:
        raise SourceFileError(f"the Isso database cannot be read: {exc}") from None
    finally:
        conn.close()


def _connect(source: SourceFile) -> sqlite3.Connection:
    uri = f"file:{quote(str(source.path.resolve()))}?mode=ro&immutable=1"
    try:
        conn = sqlite3.connect(uri, uri=True)
        # no value a comment needs comes near this; a hostile file's huge strings fail instead of filling memory
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, _MAX_VALUE_BYTES)
        tables = {name: {col[1] for col in conn.execute(f"PRAGMA table_info({name})")}
                  for name in ("threads", "comments")}
        # a view (a recursive one never ends) or a virtual table in a table's place runs what the file says
        plain = {row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('threads', 'comments') "
            "AND sql NOT LIKE 'CREATE VIRTUAL%'")}
    except sqlite3.DatabaseError as exc:
        raise SourceFileError(f"not an Isso database (SQLite says: {exc})") from None
    if plain != {"threads", "comments"} and all(tables.values()):
        conn.close()
        raise SourceFileError("not an Isso database: threads and comments must be plain tables (a view or virtual "
                              "table is refused)")
    missing = [f"threads.{c}" for c in ("id", "uri", "title") if c not in tables["threads"]]
    missing += [f"comments.{c}" for c in _COMMENT_COLUMNS if c not in tables["comments"]]
    if missing:
        conn.close()
        raise SourceFileError(f"not an Isso database: no {', '.join(missing)}")
    return conn


def _read(conn: sqlite3.Connection, source: SourceFile) -> Iterator[Record]:
    total = conn.execute("SELECT count(*) FROM comments").fetchone()[0] or 1
    # threads are few next to comments: held in memory so that empty ones are yielded too
    threads = conn.execute("SELECT id, uri, title FROM threads ORDER BY id").fetchall()
    next_thread = 0
    thread_ids: set[int] = set()
    reported = 0
    rows = conn.execute(f"SELECT {', '.join(_COMMENT_COLUMNS)} FROM comments ORDER BY tid, id")
    for done, row in enumerate(rows, 1):
        tid = row[0]
        # a merge of the two ordered lists: every thread up to this comment's comes out first
        while next_thread < len(threads) and _before(threads[next_thread][0], tid):
            thread = threads[next_thread]
            thread_ids.add(thread[0])
            yield _thread(thread)
            next_thread += 1
        yield _comment(row, tid in thread_ids)
        if done % _PROGRESS_EVERY == 0:
            now = source.size * done // total
            source.advance(now - reported)
            reported = now
    for thread in threads[next_thread:]:
        yield _thread(thread)
    source.advance(source.size - reported)


def _before(thread_id: object, tid: object) -> bool:
    """Whether the thread sorts at or before the comment's thread id (SQLite orders NULL first,
    numbers before text; a thread id is an INTEGER PRIMARY KEY, so always a number)."""
    if tid is None or isinstance(tid, (str, bytes)):
        return tid is not None
    return thread_id <= tid  # type: ignore[operator]


def _thread(row: tuple) -> SourceThread:
    thread_id, uri, title = row
    uri = uri if isinstance(uri, str) else None
    absolute = uri is not None and uri.startswith(("http://", "https://"))
    return SourceThread(source_id=str(thread_id), position=f"thread row {thread_id}", identifier=uri,
                        url=uri if absolute else None, title=title if isinstance(title, str) else None)


def _comment(row: tuple, known_thread: bool) -> Record:
    tid, cid, parent, created, mode, remote_addr, text, author, email, website = row
    position = f"row {cid}"
    if not known_thread:
        return Skipped(position=position, reason="unknown_thread", detail=f"thread {tid} is not in the threads table")
    if not isinstance(created, (int, float)) or isinstance(created, bool) or not math.isfinite(created):
        return Skipped(position=position, reason="invalid_date", detail=f"created = {created!r}")
    try:
        created_at = datetime.fromtimestamp(created, UTC)
    except (OverflowError, OSError, ValueError):
        return Skipped(position=position, reason="invalid_date", detail=f"created = {created!r}")
    # an unknown mode is never published: the import holds it for a moderator
    state = _STATES.get(mode, "pending") if isinstance(mode, int) else "pending"
    body = text if isinstance(text, str) else ""
    if not body.strip() and state != "deleted":
        return Skipped(position=position, reason="no_body")
    name = author if isinstance(author, str) else ""
    return SourceComment(
        source_id=str(cid), thread_id=str(tid), position=position,
        author=SourceAuthor(name=name, email=_text(email), url=_text(website), ip=_text(remote_addr),
                            anonymous=not name.strip()),
        body=body, body_format="markdown", created_at=created_at, state=state,
        parent_id=str(parent) if parent is not None else None)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
