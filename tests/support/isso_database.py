"""Isso database files for the import tests, built with sqlite3 by the table layout Isso creates
(``threads`` and ``comments``, plus the ``preferences`` table every Isso database has)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

ISSO_TABLES = """
CREATE TABLE threads (id INTEGER PRIMARY KEY, uri VARCHAR(256) UNIQUE, title VARCHAR(256));
CREATE TABLE comments (
    tid REFERENCES threads(id), id INTEGER PRIMARY KEY, parent INTEGER, created FLOAT NOT NULL,
    modified FLOAT, mode INTEGER, remote_addr VARCHAR, text VARCHAR NOT NULL, author VARCHAR,
    email VARCHAR, website VARCHAR, likes INTEGER DEFAULT 0, dislikes INTEGER DEFAULT 0,
    voters BLOB NOT NULL, notification INTEGER DEFAULT 0);
CREATE TABLE preferences (key VARCHAR PRIMARY KEY, value VARCHAR);
"""

# (tid, id, parent, created, mode, remote_addr, text, author, email, website)
Comment = tuple[object, int, int | None, object, int, str | None, str, str | None, str | None, str | None]


def write_isso_database(path: Path, threads: Iterable[tuple[int, str, str | None]],
                        comments: Sequence[Comment]) -> Path:
    conn = sqlite3.connect(path)
    try:
        conn.executescript(ISSO_TABLES)
        conn.execute("INSERT INTO preferences VALUES ('session-key', 'abc123')")
        conn.executemany("INSERT INTO threads (id, uri, title) VALUES (?, ?, ?)", threads)
        conn.executemany(
            "INSERT INTO comments (tid, id, parent, created, modified, mode, remote_addr, text, author, email, "
            "website, voters) VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, x'00')", comments)
        conn.commit()
    finally:
        conn.close()
    return path


EMOJI = "Great piece 🎉👍🏽 — thanks! 🇺🇦"
RTL = "مقال رائع، شكراً لكم على هذا التقرير"


def sample_isso_database(path: Path) -> Path:
    """Threads with the edge cases an Isso file holds: emoji and right-to-left text, an empty thread,
    a deleted comment with a reply, ten levels of replies, an orphan, a reply in a thread that is not
    in the threads table, an unreadable date, a pending comment and an absolute uri."""
    threads = [(1, "/2024/05/elections/", "Elections"), (2, "/empty/", None),
               (3, "https://other.example/post", "Absolute"), (5, "/deep/", "Deep")]
    comments: list[Comment] = [
        (1, 1, None, 1714557600.25, 1, "192.0.2.0", EMOJI, "Alice", "alice@example.org", "https://alice.example"),
        (1, 2, 1, 1714557700.0, 2, "192.0.2.0", "*pending* reply", None, None, None),
        (1, 3, None, 1714557800.0, 4, "192.0.2.0", "", None, None, None),
        (1, 4, 3, 1714557900.0, 1, "198.51.100.0", RTL, "אליס", None, None),
        (1, 6, 999, 1714558000.0, 1, None, "orphan", "Bob", None, None),
        (3, 7, None, "not a time", 1, None, "bad date", "Bob", None, None),
        (4, 8, None, 1714558100.0, 1, None, "thread 4 does not exist", "Bob", None, None),
    ]
    parent: int | None = None
    for level in range(1, 11):
        comments.append((5, 100 + level, parent, 1714560000.0 + level, 1, None, f"level {level}", "Nest", None, None))
        parent = 100 + level
    return write_isso_database(path, threads, comments)
