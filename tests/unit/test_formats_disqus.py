"""The Disqus reader on fixtures written from the format's documentation and real exports' shape."""

from __future__ import annotations

import gzip
import shutil
from datetime import UTC, datetime, timedelta, timezone

import pytest

from comments_service.formats import disqus
from comments_service.formats.records import KNOWN, Skipped, SourceComment, SourceFileError, SourceThread
from comments_service.formats.safe_xml import MAX_TEXT_CHARS
from comments_service.formats.source_file import SourceFile
from tests.support.paths import REPO

FIXTURES = REPO / "tests" / "fixtures" / "imports"
HEAD = ('<?xml version="1.0" encoding="utf-8"?>\n'
        '<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">\n')


def records(path):
    return list(disqus.read(SourceFile(path)))


def by_id(recs):
    return {r.source_id: r for r in recs if isinstance(r, SourceComment)}


def test_threads_come_with_their_fields_and_before_any_post():
    recs = records(FIXTURES / "disqus_edge_cases.xml")
    threads = [r for r in recs if isinstance(r, SourceThread)]
    assert [t.source_id for t in threads] == ["7001", "7002", "7003"]
    first = threads[0]
    assert first.identifier == "2019/05/city-budget"
    assert first.url == "https://news.example/2019/05/city-budget/"
    assert first.title == "City budget: what changes & why"
    assert first.created_at == datetime(2019, 5, 2, 8, 0, tzinfo=UTC)
    assert first.position == "line 8"
    assert not first.closed
    assert threads[1].identifier is None and threads[1].closed and threads[1].title == "River festival — ☃ edition"
    # the empty thread is a thread all the same
    assert threads[2].identifier == "empty-thread"
    last_thread = max(recs.index(t) for t in threads)
    assert all(recs.index(c) > last_thread for c in recs if isinstance(c, SourceComment))


def test_posts_keep_ids_parents_authors_and_html():
    posts = by_id(records(FIXTURES / "disqus_edge_cases.xml"))
    ana = posts["100"]
    assert ana.thread_id == "7001" and ana.parent_id is None
    assert ana.body == '<p>First! A <a href="https://example.org/a?b=1&c=2">link</a> & a <b>bold</b> claim.</p>'
    assert ana.body_format == "html" and ana.state == "approved"
    assert ana.created_at == datetime(2019, 5, 2, 9, 15, tzinfo=UTC)
    assert (ana.author.name, ana.author.email, ana.author.username, ana.author.ip, ana.author.anonymous) == (
        "Ana", "ana@mail.example", "ana_reads", "192.0.2.10", False)
    assert ana.position == "line 56"
    guest = posts["102"]
    assert guest.author.anonymous and guest.author.email is None and guest.author.username is None
    # escaped markup and character references arrive as the HTML they spell
    assert guest.body == "<p>Escaped HTML, not CDATA: fish &amp; chips, a snowman ☃ and ☃.</p>"
    # a reply listed before its parent: the parent id passes through for the importer to resolve
    assert guest.parent_id == "101" and posts["101"].parent_id == "100"
    assert posts["101"].author.name == "Bo 🐙" and "🎉👍🏽" in posts["101"].body
    assert posts["101"].author.ip == "2001:db8::1"
    assert posts["107"].parent_id == "99999"  # an orphan: the importer reports it


def test_rtl_text_and_offsets_in_dates():
    posts = by_id(records(FIXTURES / "disqus_edge_cases.xml"))
    assert posts["103"].body == "<p>مرحبا بالعالم — تعليق باللغة العربية</p>" and posts["103"].author.name == "سارة"
    assert posts["103"].created_at == datetime(2019, 6, 10, 13, 0, tzinfo=timezone(timedelta(hours=2)))
    assert posts["103"].author.ip is None
    assert posts["104"].body == "<p>שלום עולם, תגובה בעברית</p>" and posts["104"].parent_id == "103"


def test_moderation_states():
    posts = by_id(records(FIXTURES / "disqus_edge_cases.xml"))
    assert posts["105"].state == "spam"
    assert posts["106"].state == "deleted" and posts["106"].body == ""
    assert posts["100"].state == "approved"


def test_bad_posts_are_skipped_with_their_line_and_unknown_threads_pass():
    recs = records(FIXTURES / "disqus_edge_cases.xml")
    skipped = [(s.position, s.reason) for s in recs if isinstance(s, Skipped)]
    assert skipped == [("line 167", "invalid_date"), ("line 191", "no_thread"), ("line 202", "no_id")]
    # a thread the file never declared: yielded, not buffered or dropped
    assert by_id(recs)["109"].thread_id == "7999"


def test_a_ten_deep_chain_keeps_every_link():
    posts = by_id(records(FIXTURES / "disqus_edge_cases.xml"))
    chain = [posts[str(200 + i)] for i in range(10)]
    assert chain[0].parent_id is None
    assert [c.parent_id for c in chain[1:]] == [str(200 + i) for i in range(9)]


@pytest.mark.parametrize("name", ["disqus_latin1.xml", "disqus_windows1252.xml", "disqus_utf16.xml"])
def test_declared_encodings_are_decoded(name):
    thread, post = records(FIXTURES / name)
    assert isinstance(thread, SourceThread) and isinstance(post, SourceComment)
    assert thread.identifier == "café-crème" and thread.title.startswith("Café crème à la française")
    assert post.author.name == "Renée Müller" and post.body.startswith("<p>Déjà vu, naïve garçon")
    if name != "disqus_latin1.xml":
        assert post.body.endswith("— “quoted”, 5 €</p>")


def test_gzip_is_read_transparently(tmp_path):
    packed = tmp_path / "export.xml.gz"
    with (FIXTURES / "disqus_edge_cases.xml").open("rb") as src, gzip.open(packed, "wb") as dst:
        shutil.copyfileobj(src, dst)
    assert records(packed) == records(FIXTURES / "disqus_edge_cases.xml")


def test_an_oversized_message_is_skipped_and_the_rest_read(tmp_path):
    big = "<p>" + "x" * (MAX_TEXT_CHARS + 200_000) + "</p>"
    path = tmp_path / "big.xml"
    path.write_text(HEAD + '<thread dsq:id="1"><link>https://a.example/</link></thread>\n'
                    f'<post dsq:id="2"><message><![CDATA[{big}]]></message><createdAt>2020-01-01T00:00:00Z</createdAt>'
                    '<thread dsq:id="1"/></post>\n'
                    '<post dsq:id="3"><message>ok</message><createdAt>2020-01-01T00:00:00Z</createdAt>'
                    '<thread dsq:id="1"/></post>\n</disqus>\n')
    thread, big_post, small = records(path)
    assert isinstance(big_post, Skipped) and big_post.reason == "oversized" and big_post.position == "line 4"
    assert isinstance(small, SourceComment) and small.body == "ok"


def test_another_format_is_refused_at_its_root(tmp_path):
    with pytest.raises(SourceFileError, match="not a Disqus export") as err:
        records(FIXTURES / "wxr_edge_cases.xml")
    assert err.value.position == "line 3"


def test_a_truncated_file_raises_with_its_line_after_the_records_before_it(tmp_path):
    data = (FIXTURES / "disqus_edge_cases.xml").read_bytes()
    cut = data[: data.index(b'<post dsq:id="103">') + 40]
    path = tmp_path / "cut.xml"
    path.write_bytes(cut)
    seen = []
    with pytest.raises(SourceFileError, match="truncated") as err:
        for record in disqus.read(SourceFile(path)):
            seen.append(record)
    lines = cut.count(b"\n") + 1
    assert err.value.position == f"line {lines}"
    assert [r.source_id for r in seen if isinstance(r, SourceComment)] == ["100", "102", "101"]


def test_malformed_xml_names_the_line(tmp_path):
    path = tmp_path / "bad.xml"
    path.write_text(HEAD + '<thread dsq:id="1">\n<link>x</title>\n</thread></disqus>\n')
    with pytest.raises(SourceFileError, match="malformed XML: mismatched tag") as err:
        records(path)
    assert err.value.position == "line 4"


def test_an_empty_file(tmp_path):
    path = tmp_path / "empty.xml"
    path.write_bytes(b"")
    with pytest.raises(SourceFileError, match="empty"):
        records(path)


def test_a_truncated_gzip_stream(tmp_path):
    packed = tmp_path / "export.xml.gz"
    whole = gzip.compress((FIXTURES / "disqus_edge_cases.xml").read_bytes())
    packed.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(SourceFileError, match="cannot read the file on"):
        records(packed)


def test_posts_the_import_already_has_are_passed_over_and_the_rest_read_as_ever():
    path = FIXTURES / "disqus_edge_cases.xml"
    everything = records(path)
    comments = [r for r in everything if isinstance(r, SourceComment)]
    had = {comments[0].source_id, comments[2].source_id}
    again = list(disqus.read(SourceFile(path), known=had.__contains__))
    assert again.count(KNOWN) == 2
    assert [r for r in again if r is not KNOWN] == [r for r in everything if getattr(r, "source_id", None) not in had]
