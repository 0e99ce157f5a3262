"""The WordPress (WXR) reader on fixtures written from the format's documentation and real exports' shape."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from comments_service.formats import wxr
from comments_service.formats.records import Skipped, SourceComment, SourceFileError, SourceThread
from comments_service.formats.safe_xml import MAX_TEXT_CHARS
from comments_service.formats.source_file import SourceFile
from tests.support.paths import REPO

FIXTURES = REPO / "tests" / "fixtures" / "imports"
EDGE = FIXTURES / "wxr_edge_cases.xml"


def records(path, **options):
    return list(wxr.read(SourceFile(path), **options))


def comments(recs):
    return {r.source_id: r for r in recs if isinstance(r, SourceComment)}


def test_items_are_threads_yielded_before_their_comments():
    recs = records(EDGE)
    threads = [r for r in recs if isinstance(r, SourceThread)]
    # the attachment and the menu item hold no discussion; the page without comments is a thread
    assert [t.source_id for t in threads] == ["1", "4", "5"]
    post = threads[0]
    assert (post.identifier, post.url, post.title, post.closed, post.position) == (
        "1", "https://news.example/2024/01/hello-world/", "Hello world & goodbye", False, "line 21")
    assert post.created_at == datetime(2024, 1, 1, 10, 0, tzinfo=UTC)
    page = threads[1]
    assert page.closed and page.created_at == datetime(2024, 1, 1, 8, 0, tzinfo=UTC)  # post_date, as UTC
    for thread in threads:
        first = min(recs.index(c) for c in recs if isinstance(c, SourceComment) and c.thread_id == thread.source_id) \
            if any(isinstance(c, SourceComment) and c.thread_id == thread.source_id for c in recs) else len(recs)
        assert recs.index(thread) < first


def test_comment_fields_states_and_parents():
    found = comments(records(EDGE))
    ana = found["11"]
    assert ana.thread_id == "1" and ana.parent_id is None and ana.state == "approved"
    assert (ana.author.name, ana.author.email, ana.author.url, ana.author.ip, ana.author.username) == (
        "Ana", "ana@mail.example", "https://ana.example/", "192.0.2.10", None)
    assert ana.body == 'Great post! <a href="https://example.org/?a=1&b=2">a link</a> & more 🎉'
    assert ana.body_format == "html" and ana.position == "line 47"
    assert ana.created_at == datetime(2024, 1, 1, 11, 0, tzinfo=UTC)  # the GMT date, not the local one
    editor = found["13"]
    assert editor.body == "Escaped, not CDATA: fish & chips, a snowman ☃ and <em>emphasis</em>"
    assert editor.author.username == "1"  # a registered WordPress user
    assert editor.parent_id == "12"  # listed before its parent: passed through
    rtl = found["12"]
    assert rtl.body == "مرحبا! ושלום גם בעברית" and rtl.author.name == "سارة" and rtl.author.email is None
    assert rtl.state == "pending"
    assert rtl.created_at == datetime(2024, 1, 1, 13, 30, tzinfo=UTC)  # no GMT date: the local one, as UTC
    assert found["14"].state == "spam" and found["15"].state == "trash"
    assert found["18"].parent_id == "9999"  # an orphan: the importer reports it
    chain = [found[str(100 + i)] for i in range(10)]
    assert [c.parent_id for c in chain] == [None] + [str(100 + i) for i in range(9)]


def test_pings_and_bad_dates_are_skipped_by_default():
    recs = records(EDGE)
    skipped = [(s.position, s.reason) for s in recs if isinstance(s, Skipped)]
    assert skipped == [("line 121", "pingback"), ("line 135", "trackback"), ("line 163", "invalid_date"),
                       ("line 310", "no_thread")]


def test_pings_can_be_included():
    found = comments(records(EDGE, include_pings=True))
    assert found["16"].author.url == "https://other.example/post"
    assert found["16"].body.startswith("[&#8230;]")  # HTML, as WordPress keeps it
    assert "17" in found


def test_comments_before_the_link_wait_for_the_item():
    recs = records(EDGE)
    late = next(r for r in recs if isinstance(r, SourceThread) and r.source_id == "5")
    assert late.url == "https://news.example/2024/02/late-link/" and late.title == "Link comes late"
    assert recs[recs.index(late) + 1].source_id == "51"


def test_an_old_export_in_latin1_with_namespace_1_0():
    thread, comment = records(FIXTURES / "wxr_legacy_latin1.xml")
    assert isinstance(thread, SourceThread) and thread.title == "Café crème"
    assert isinstance(comment, SourceComment) and comment.author.name == "François"
    assert comment.body == "Déjà vu, naïve garçon § ½" and comment.state == "approved"
    assert comment.created_at == datetime(2008, 3, 1, 12, 0, tzinfo=UTC)


def test_an_oversized_comment_is_skipped(tmp_path):
    path = tmp_path / "big.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/"><channel>\n'
        "<item><link>https://a.example/</link><wp:post_id>1</wp:post_id>\n"
        "<wp:comment><wp:comment_id>1</wp:comment_id><wp:comment_date_gmt>2020-01-01 00:00:00</wp:comment_date_gmt>"
        f"<wp:comment_content>{'y' * (MAX_TEXT_CHARS + 1)}</wp:comment_content></wp:comment>\n"
        "<wp:comment><wp:comment_id>2</wp:comment_id><wp:comment_date_gmt>2020-01-01 00:00:00</wp:comment_date_gmt>"
        "<wp:comment_content>fine</wp:comment_content></wp:comment>\n</item></channel></rss>\n")
    thread, big, fine = records(path)
    assert isinstance(big, Skipped) and big.reason == "oversized" and big.position == "line 4"
    assert isinstance(fine, SourceComment) and fine.body == "fine"


def test_plain_rss_and_other_formats_are_refused(tmp_path):
    feed = tmp_path / "feed.xml"
    feed.write_text('<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>\n'
                    "<item><title>x</title><link>https://a.example/</link></item></channel></rss>")
    with pytest.raises(SourceFileError, match="not a WordPress export"):
        records(feed)
    with pytest.raises(SourceFileError, match="not a WordPress export: the root element is <disqus>"):
        records(FIXTURES / "disqus_edge_cases.xml")


def test_a_truncated_export(tmp_path):
    data = EDGE.read_bytes()
    path = tmp_path / "cut.xml"
    path.write_bytes(data[: data.index(b"<wp:comment_id>14</wp:comment_id>")])
    seen = []
    with pytest.raises(SourceFileError, match="truncated"):
        for record in wxr.read(SourceFile(path)):
            seen.append(record)
    assert [r.source_id for r in seen if isinstance(r, SourceComment)] == ["11", "13", "12"]
