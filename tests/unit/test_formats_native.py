"""Our own export read as an import source: articles as threads, states mapped, SSO users kept as
subjects and guests as names, bad rows skipped by record, other files refused; and a file written by
the real exporter reads back as the threads it came from."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from comments_service.formats import native
from comments_service.formats.records import Record, Skipped, SourceComment, SourceFileError, SourceThread
from comments_service.formats.source_file import SourceFile
from comments_service.services.export import export_scope
from tests.support.imports import assert_threads_come_first
from tests.support.seeding import seed_comment, seed_reader

FIXTURE = Path(__file__).parent.parent / "fixtures" / "imports" / "native_export.json"


def records_of(path: Path) -> list[Record]:
    return list(native.read(SourceFile(path)))


def test_articles_are_threads_each_before_its_comments() -> None:
    records = records_of(FIXTURE)
    threads = [r for r in records if isinstance(r, SourceThread)]
    assert [(t.source_id, t.identifier, t.closed) for t in threads] == [("10", "2024/05/elections", False),
                                                                        ("11", "empty", True)]
    assert threads[0].url == "https://news.example/2024/05/elections" and threads[0].title.startswith("Elections")
    assert threads[0].created_at == datetime(2024, 5, 1, 9, tzinfo=UTC)
    assert_threads_come_first(records)


def test_comments_map_states_authors_and_parents() -> None:
    comments = {r.source_id: r for r in records_of(FIXTURE) if isinstance(r, SourceComment)}
    first = comments["100"]
    assert first.body.startswith("Great piece 🎉") and first.body_format == "markdown" and first.state == "approved"
    assert first.author.sso_subject == "sub-alice" and first.author.email == "alice@example.org"
    assert first.author.ip == "192.0.2.1" and first.position == "record 1"
    assert first.created_at == datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)
    guest = comments["101"]
    assert guest.state == "pending" and guest.author.sso_subject is None
    assert guest.author.username == "guest:g-7f3a" and guest.author.name == "כתבה מצוינת"
    assert comments["102"].state == "deleted"
    assert comments["103"].parent_id == "102" and comments["103"].state == "pending"
    assert comments["104"].state == "trash"
    assert comments["105"].parent_id == "999"
    skipped = {(r.position, r.reason) for r in records_of(FIXTURE) if isinstance(r, Skipped)}
    assert skipped == {("record 7", "invalid_date"), ("record 8", "unknown_state")}


def test_gzip_reads_the_same(tmp_path: Path) -> None:
    packed = tmp_path / "export.json.gz"
    packed.write_bytes(gzip.compress(FIXTURE.read_bytes()))
    assert records_of(packed) == records_of(FIXTURE)


@pytest.mark.parametrize("content", [
    b"", b"not json", b"[]", b'{"version": 1, "comments": []}',
    b'{"format": "comments_service.export", "version": 2, "tables": {}}',
    b'{"format": "comments_service.export", "version": 1, "tables": {"comments": [{"id": "x"}]}}',
    b'{"format": "comments_service.export", "version": 1, "tables": {"sites": [{"id": "a"}, {"id": "b"}]}}',
])
def test_other_files_are_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "export.json"
    path.write_bytes(content)
    with pytest.raises(SourceFileError):
        records_of(path)


def test_an_unknown_article_or_author_is_skipped(tmp_path: Path) -> None:
    data = json.loads(FIXTURE.read_text())
    data["tables"]["comments"][0]["article_id"] = 77
    data["tables"]["comments"][1]["author_id"] = 78
    path = tmp_path / "export.json"
    path.write_text(json.dumps(data))
    skipped = {(r.position, r.reason) for r in records_of(path) if isinstance(r, Skipped)}
    assert {("record 1", "unknown_thread"), ("record 2", "unknown_author")} <= skipped


async def test_the_exporters_file_reads_back_as_its_threads(services, db, site, tmp_path: Path) -> None:
    alice = await seed_reader(db, site.id, sub="alice-sub", name="Alice")
    root = await seed_comment(services, db, site.id, article="round-trip", status="published", reason=None,
                              author_id=alice, body="Root 🎉")
    reply = await seed_comment(services, db, site.id, article="round-trip", status="held",
                               author_id=alice, parent_id=root.id, body="שלום reply")
    path = tmp_path / "export.json"
    path.write_text(json.dumps(await export_scope(db, site.id)))
    records = records_of(path)
    threads = [r for r in records if isinstance(r, SourceThread)]
    assert [t.identifier for t in threads] == ["round-trip"]
    assert threads[0].url == "https://news.example/round-trip" and threads[0].title == "Article round-trip"
    comments = {r.source_id: r for r in records if isinstance(r, SourceComment)}
    assert set(comments) == {str(root.id), str(reply.id)}
    assert comments[str(root.id)].body == "Root 🎉" and comments[str(root.id)].state == "approved"
    assert comments[str(reply.id)].parent_id == str(root.id) and comments[str(reply.id)].state == "pending"
    assert comments[str(reply.id)].author.sso_subject == "alice-sub"
    assert comments[str(root.id)].created_at.tzinfo is not None
    assert not [r for r in records if isinstance(r, Skipped)]
