"""Commento's and Comentario's exports read as an import source: both version 1 layouts, Comentario's
version 3, states, anonymous commenters, deleted comments, gzip, and files that are not exports."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest

from comments_service.formats import commento
from comments_service.formats.records import Record, Skipped, SourceComment, SourceFileError, SourceThread
from comments_service.formats.source_file import SourceFile
from tests.support.imports import assert_threads_come_first

FIXTURES = Path(__file__).parent.parent / "fixtures" / "imports"


def read(name: str) -> list[Record]:
    return list(commento.read(SourceFile(FIXTURES / name)))


def comments_of(records: list[Record]) -> dict[str, SourceComment]:
    return {r.source_id: r for r in records if isinstance(r, SourceComment)}


def assert_threads_first(records: list[Record]) -> None:
    assert_threads_come_first(records)


def test_commento_export_threads_are_domain_and_path() -> None:
    records = read("commento_export.json")
    assert_threads_first(records)
    threads = [r for r in records if isinstance(r, SourceThread)]
    assert [t.source_id for t in threads] == ["news.example/2024/05/elections", "news.example/2024/06/rtl-story"]
    assert threads[0].identifier == "/2024/05/elections"
    assert threads[0].url == "https://news.example/2024/05/elections" and threads[0].position == "record 1"


def test_commento_comments_keep_markdown_states_authors_and_parents() -> None:
    comments = comments_of(read("commento_export.json"))
    first = comments["c1"]
    assert first.body.startswith("**Great** Great piece 🎉") and first.body_format == "markdown"
    assert first.created_at == datetime(2024, 5, 1, 10, 0, 0, 500000, tzinfo=UTC)
    assert first.author.name == "Alice" and first.author.email == "alice@example.org"
    assert first.author.url == "https://alice.example" and first.parent_id is None and first.state == "approved"
    assert comments["c2"].author.anonymous and comments["c2"].state == "pending" and comments["c2"].parent_id == "c1"
    assert comments["c4"].state == "deleted" and comments["c4"].body == ""
    assert comments["c5"].parent_id == "c4" and comments["c5"].state == "spam"  # "flagged"
    assert comments["c6"].parent_id == "nope"
    assert comments["c8"].body == "unknown fields"
    assert comments["c3"].body.startswith("مقال") and comments["c3"].author.name == "כתבה מצוינת"
    chain = [comments[f"d{level}"] for level in range(1, 11)]
    assert [c.parent_id for c in chain] == [None] + [f"d{level}" for level in range(1, 10)]
    assert chain[0].position == "record 9"


def test_commento_bad_dates_are_skipped_by_record() -> None:
    skipped = [r for r in read("commento_export.json") if isinstance(r, Skipped)]
    assert [(s.position, s.reason) for s in skipped] == [("record 7", "invalid_date")]


def test_comentario_version_1_uses_host_and_path() -> None:
    records = read("commento_comentario_v1.json")
    assert isinstance(records[0], SourceThread) and records[0].source_id == "blog.example/post/1"
    assert isinstance(records[1], SourceComment)
    assert records[1].author.anonymous and records[1].body.startswith("anon Great")


def test_comentario_version_3_pages_comments_and_commenters() -> None:
    records = read("commento_comentario_v3.json")
    assert_threads_first(records)
    threads = {r.source_id: r for r in records if isinstance(r, SourceThread)}
    assert set(threads) == {"/p/one", "/p/empty"}
    one = threads["/p/one"]
    assert one.title == "Page one" and one.closed and one.url == "https://blog.example/p/11"
    assert one.created_at == datetime(2024, 1, 1, tzinfo=UTC)
    assert threads["/p/empty"].url is None and not threads["/p/empty"].closed
    comments = comments_of(records)
    assert comments["c-1"].author.name == "User One" and comments["c-1"].author.ip == "10.0.0.1"
    assert comments["c-1"].author.url == "https://u1.example" and comments["c-1"].state == "approved"
    assert comments["c-2"].state == "pending" and comments["c-2"].parent_id == "c-1"
    assert comments["c-3"].state == "trash" and comments["c-3"].author.name == "Guest G"
    assert comments["c-3"].author.anonymous
    assert comments["c-4"].state == "deleted"
    skipped = {(r.position, r.reason) for r in records if isinstance(r, Skipped)}
    assert skipped == {("record 5", "unknown_thread"), ("record 6", "invalid_date")}


def test_a_gzipped_export_reads_the_same(tmp_path: Path) -> None:
    packed = tmp_path / "export.json.gz"
    packed.write_bytes(gzip.compress((FIXTURES / "commento_export.json").read_bytes()))
    assert list(commento.read(SourceFile(packed))) == read("commento_export.json")


@pytest.mark.parametrize("content", [b"", b"{", b"[]", b'{"comments": []}', b'{"version": 2, "comments": []}',
                                     b'{"version": 1, "comments": [{"commentHex": 5}]}'])
def test_files_that_are_not_a_readable_export_are_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "export.json"
    path.write_bytes(content)
    with pytest.raises(SourceFileError):
        list(commento.read(SourceFile(path)))
