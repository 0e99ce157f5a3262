"""Isso's SQLite database read as an import source: threads before their comments, states, dates,
positions, progress, and the file left exactly as it was."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from comments_service.formats import isso
from comments_service.formats.records import Skipped, SourceComment, SourceFileError, SourceThread
from comments_service.formats.source_file import SourceFile
from tests.support.imports import assert_threads_come_first
from tests.support.isso_database import EMOJI, RTL, sample_isso_database


@pytest.fixture
def isso_file(tmp_path: Path) -> Path:
    return sample_isso_database(tmp_path / "comments.db")


def test_threads_come_before_their_comments_and_empty_threads_are_kept(isso_file: Path) -> None:
    records = list(isso.read(SourceFile(isso_file)))
    assert_threads_come_first(records)
    threads = {r.source_id: r for r in records if isinstance(r, SourceThread)}
    assert set(threads) == {"1", "2", "3", "5"}
    assert threads["1"].identifier == "/2024/05/elections/" and threads["1"].url is None
    assert threads["1"].title == "Elections"
    assert threads["2"].title is None
    assert threads["3"].url == "https://other.example/post"


def test_comments_keep_text_authors_states_and_parents(isso_file: Path) -> None:
    comments = {r.source_id: r for r in isso.read(SourceFile(isso_file)) if isinstance(r, SourceComment)}
    first = comments["1"]
    assert first.body == EMOJI and first.body_format == "markdown" and first.state == "approved"
    assert first.created_at == datetime(2024, 5, 1, 10, 0, 0, 250000, tzinfo=UTC)
    assert first.author.name == "Alice" and first.author.email == "alice@example.org"
    assert first.author.url == "https://alice.example" and first.author.ip == "192.0.2.0"
    assert first.position == "row 1" and first.parent_id is None
    assert comments["2"].state == "pending" and comments["2"].parent_id == "1"
    assert comments["2"].author.anonymous and comments["2"].author.name == ""
    assert comments["3"].state == "deleted" and comments["3"].body == ""
    assert comments["4"].parent_id == "3" and comments["4"].body == RTL
    assert comments["6"].parent_id == "999"  # the importer decides what an orphan becomes
    chain = [comments[str(100 + level)] for level in range(1, 11)]
    assert [c.parent_id for c in chain] == [None] + [str(100 + level) for level in range(1, 10)]


def test_bad_rows_are_skipped_with_their_row(isso_file: Path) -> None:
    skipped = [r for r in isso.read(SourceFile(isso_file)) if isinstance(r, Skipped)]
    assert {(s.position, s.reason) for s in skipped} == {("row 7", "invalid_date"), ("row 8", "unknown_thread")}


def test_the_file_is_never_written_and_progress_reaches_its_size(isso_file: Path) -> None:
    # a live Isso database is often in WAL mode, where any read-write open leaves -wal and -shm files
    conn = sqlite3.connect(isso_file)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    before = hashlib.sha256(isso_file.read_bytes()).hexdigest()
    isso_file.chmod(0o444)
    advanced: list[int] = []
    list(isso.read(SourceFile(isso_file, advanced.append)))
    assert hashlib.sha256(isso_file.read_bytes()).hexdigest() == before
    assert sum(advanced) == isso_file.stat().st_size
    assert all(n >= 0 for n in advanced)
    assert sorted(p.name for p in isso_file.parent.iterdir()) == ["comments.db"]


def test_progress_is_reported_as_rows_are_read(tmp_path: Path) -> None:
    from tests.support.isso_database import write_isso_database

    rows = [(1, i, None, 1714557600.0 + i, 1, None, f"comment {i}", "A", None, None) for i in range(1, 5001)]
    path = write_isso_database(tmp_path / "big.db", [(1, "/a/", "A")], rows)
    advanced: list[int] = []
    records = isso.read(SourceFile(path, advanced.append))
    for _ in range(2501):
        next(records)
    assert 0 < sum(advanced) < path.stat().st_size
    list(records)
    assert sum(advanced) == path.stat().st_size


def test_a_file_that_is_not_an_isso_database_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE things (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()
    with pytest.raises(SourceFileError, match="not an Isso database"):
        list(isso.read(SourceFile(other)))
    text = tmp_path / "text.db"
    text.write_text("hello, I am not SQLite at all " * 100)
    with pytest.raises(SourceFileError, match="Isso"):
        list(isso.read(SourceFile(text)))


def test_a_truncated_database_gives_a_file_error(isso_file: Path, tmp_path: Path) -> None:
    big = tmp_path / "big.db"
    from tests.support.isso_database import write_isso_database

    rows = [(1, i, None, 1714557600.0, 1, None, "x" * 500, "A", None, None) for i in range(1, 3001)]
    write_isso_database(big, [(1, "/a/", "A")], rows)
    cut = tmp_path / "cut.db"
    cut.write_bytes(big.read_bytes()[: big.stat().st_size // 2])
    with pytest.raises(SourceFileError):
        list(isso.read(SourceFile(cut)))
