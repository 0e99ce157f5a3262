"""Remark42's backup read as an import source: the metadata line, threads by url, records by line,
deleted comments, bad lines skipped with their line number, gzip, and a wrong file refused."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from comments_service.formats import remark42
from comments_service.formats.records import Skipped, SourceComment, SourceFileError, SourceThread
from comments_service.formats.source_file import SourceFile
from tests.support.imports import assert_threads_come_first

FIXTURE = Path(__file__).parent.parent / "fixtures" / "imports" / "remark42_backup.jsonl"
ELECTIONS = "https://news.example/2024/05/elections"
RTL_STORY = "https://news.example/2024/06/rtl-story"


def test_threads_are_urls_yielded_before_their_comments() -> None:
    records = list(remark42.read(SourceFile(FIXTURE)))
    threads = [r for r in records if isinstance(r, SourceThread)]
    assert [t.source_id for t in threads] == [ELECTIONS, RTL_STORY]
    assert threads[0].url == ELECTIONS and threads[0].title == "Elections 2024" and not threads[0].closed
    assert threads[0].position == "record 2"
    assert threads[1].closed  # read_only in the metadata's posts
    assert_threads_come_first(records)


def test_comments_keep_html_authors_dates_and_parents() -> None:
    comments = {r.source_id: r for r in remark42.read(SourceFile(FIXTURE)) if isinstance(r, SourceComment)}
    first = comments["r1"]
    assert first.body.startswith("<p>Great piece 🎉") and first.body_format == "html"
    assert first.created_at == datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)
    assert first.author.name == "Alice" and first.author.username == "github_abc"
    assert first.author.ip is None  # Remark42 keeps a hash of the address, never passed on as one
    assert not first.author.anonymous and first.position == "record 2" and first.state == "approved"
    reply = comments["r2"]
    assert reply.parent_id == "r1" and reply.author.anonymous and reply.author.ip == "127.0.0.1"
    assert reply.created_at == datetime(2024, 5, 1, 11, tzinfo=timezone(timedelta(hours=2)))
    assert comments["r3"].state == "deleted" and comments["r4"].parent_id == "r3"
    assert comments["r5"].parent_id == "missing-parent"
    chain = [comments[f"n{level}"] for level in range(1, 11)]
    assert [c.parent_id for c in chain] == [None] + [f"n{level}" for level in range(1, 10)]
    assert "مقال رائع" in comments["rtl"].body and comments["rtl"].author.name == "כתבה מצוינת"


def test_bad_lines_are_skipped_with_their_line_number() -> None:
    skipped = [r for r in remark42.read(SourceFile(FIXTURE)) if isinstance(r, Skipped)]
    assert [(s.position, s.reason) for s in skipped] == [("record 7", "invalid_date"),
                                                        ("record 9", "malformed_record")]


def test_gzip_reads_the_same(tmp_path: Path) -> None:
    packed = tmp_path / "backup.gz"
    packed.write_bytes(gzip.compress(FIXTURE.read_bytes()))
    advanced: list[int] = []
    assert list(remark42.read(SourceFile(packed, advanced.append))) == list(remark42.read(SourceFile(FIXTURE)))
    assert sum(advanced) == packed.stat().st_size


@pytest.mark.parametrize("content", [b"", b"\n\n", b"[1, 2]\n",
                                     json.dumps({"id": "x", "locator": {"url": "u"}, "time": "2024-01-01T00:00:00Z"})
                                     .encode() + b"\n"])
def test_a_file_without_the_metadata_line_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "not-remark.jsonl"
    path.write_bytes(content)
    with pytest.raises(SourceFileError):
        list(remark42.read(SourceFile(path)))


def test_a_damaged_gzip_stream_is_a_file_error(tmp_path: Path) -> None:
    packed = gzip.compress(FIXTURE.read_bytes() * 50)
    path = tmp_path / "cut.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(SourceFileError):
        list(remark42.read(SourceFile(path)))
