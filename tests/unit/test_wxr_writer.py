"""The WXR writer's output is XML any parser reads, holding exactly the text it was given: entities,
CDATA terminators inside bodies, emoji, right-to-left text; characters XML 1.0 forbids dropped."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone

import pytest

from comments_service.formats.wxr_writer import (
    APPROVED_BY_STATUS,
    ARTICLE_ID_META_KEY,
    NAMESPACES,
    STATUS_META_KEY,
    WxrArticle,
    WxrChannel,
    WxrComment,
    WxrWriter,
    approved_for,
    slug,
)

WP = "{" + NAMESPACES["wp"] + "}"
DC = "{" + NAMESPACES["dc"] + "}"
CONTENT = "{" + NAMESPACES["content"] + "}"
AT = datetime(2024, 3, 5, 14, 7, 9, tzinfo=UTC)


def channel(**extra) -> WxrChannel:
    return WxrChannel(**{"title": "News & <Views>", "link": "https://news.example", "generated_at": AT, **extra})


def article(post_id: int = 7, **extra) -> WxrArticle:
    fields = {"post_id": post_id, "external_id": "2024/03/Big-Story", "title": "Tom & Jerry <b>", "created_at": AT,
              "url": "https://news.example/a?x=1&y=2", "comments_open": True}
    return WxrArticle(**{**fields, **extra})


def comment(comment_id: int, parent_id: int | None = None, **extra) -> WxrComment:
    fields = {"comment_id": comment_id, "parent_id": parent_id, "author_name": f"Author {comment_id}",
              "created_at": AT, "content_html": f"<p>comment {comment_id}</p>", "approved": "1"}
    return WxrComment(**{**fields, **extra})


def document(items: list[tuple[WxrArticle, list[WxrComment]]], **channel_extra) -> bytes:
    out = io.BytesIO()
    writer = WxrWriter(out)
    writer.start(channel(**channel_extra))
    for item, comments in items:
        writer.article(item)
        for entry in comments:
            writer.comment(entry)
    writer.close()
    return out.getvalue()


def parse(data: bytes) -> ET.Element:
    return ET.fromstring(data)


def fields(entry: ET.Element) -> dict[str, str]:
    """A wp:comment's fields by name, its comment meta as "meta:KEY"."""
    out = {child.tag.removeprefix(WP): child.text or "" for child in entry if child.tag != WP + "commentmeta"}
    for meta in entry.iter(WP + "commentmeta"):
        out["meta:" + (meta.findtext(WP + "meta_key") or "")] = meta.findtext(WP + "meta_value") or ""
    return out


def comments_of(item: ET.Element) -> list[dict[str, str]]:
    return [fields(entry) for entry in item.iter(WP + "comment")]


def test_document_shape_channel_and_item_fields():
    data = document([(article(), [comment(1)]), (article(post_id=8, external_id="second", comments_open=False), [])])
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"')
    for prefix, uri in NAMESPACES.items():
        assert f'xmlns:{prefix}="{uri}"'.encode() in data
    root = parse(data)
    chan = root.find("channel")
    assert chan is not None
    assert chan.findtext("title") == "News & <Views>"
    assert chan.findtext("link") == "https://news.example"
    assert chan.findtext(WP + "wxr_version") == "1.2"
    first, second = chan.findall("item")
    assert first.findtext("title") == "Tom & Jerry <b>"
    assert first.findtext("link") == first.findtext("guid") == "https://news.example/a?x=1&y=2"
    assert first.findtext(DC + "creator") == ""
    assert first.findtext(CONTENT + "encoded") == ""
    assert first.findtext(WP + "post_id") == "7"
    assert first.findtext(WP + "post_date") == first.findtext(WP + "post_date_gmt") == "2024-03-05 14:07:09"
    assert first.findtext(WP + "comment_status") == "open"
    assert second.findtext(WP + "comment_status") == "closed"
    assert first.findtext(WP + "post_name") == "2024-03-big-story"
    assert first.findtext(WP + "status") == "publish"
    assert first.findtext(WP + "post_type") == "post"
    meta = first.find(WP + "postmeta")
    assert meta is not None
    assert meta.findtext(WP + "meta_key") == ARTICLE_ID_META_KEY
    assert meta.findtext(WP + "meta_value") == "2024/03/Big-Story"
    assert comments_of(second) == []
    assert comments_of(first) == [{
        "comment_id": "1", "comment_author": "Author 1", "comment_author_url": "",
        "comment_date": "2024-03-05 14:07:09", "comment_date_gmt": "2024-03-05 14:07:09",
        "comment_content": "<p>comment 1</p>", "comment_approved": "1", "comment_type": "comment",
        "comment_parent": "0", "comment_user_id": "0"}]


def test_optional_fields_appear_only_when_given():
    data = document([(article(), [comment(1), comment(2, author_email="a@example.org", author_ip="2001:db8::1",
                                                         author_url="https://me.example/?a=1&b=2",
                                                         status="deleted", approved="trash")])])
    bare, full = comments_of(parse(data).find("channel/item"))
    assert "comment_author_email" not in bare and "comment_author_IP" not in bare
    assert f"meta:{STATUS_META_KEY}" not in bare
    assert full[f"meta:{STATUS_META_KEY}"] == "deleted"
    assert full["comment_author_email"] == "a@example.org"
    assert full["comment_author_IP"] == "2001:db8::1"
    assert full["comment_author_url"] == "https://me.example/?a=1&b=2"


@pytest.mark.parametrize("text", [
    "<p>a ]]> b</p>", "]]>", "]]>]]>", "x]]", "]]]]>>", "<![CDATA[ nested ]]>", "&amp; &lt;tag&gt; & < > \" '",
    "<p>emoji 😀👩‍👩‍👧 and ⚠️</p>", "<p dir=\"rtl\">مرحبا بالعالم \u202eעברית\u202c</p>", "tab\tnew\nline",
])
def test_text_round_trips_through_a_parser(text):
    data = document([(article(title=text, external_id=text), [comment(1, author_name=text, content_html=text)])])
    item = parse(data).find("channel/item")
    assert item.findtext("title") == text
    assert item.find(WP + "postmeta").findtext(WP + "meta_value") == text
    [entry] = comments_of(item)
    assert entry["comment_author"] == text
    assert entry["comment_content"] == text


def test_cdata_terminators_are_split_as_wordpress_splits_them():
    data = document([(article(), [comment(1, content_html="a]]>b")])])
    assert b"<![CDATA[a]]]]><![CDATA[>b]]>" in data


def test_characters_xml_forbids_are_dropped():
    dirty = "a\x00b\x01c\x08d\x0be\x0cf\x1fg\ud800h\ufffei\uffffj\tk\nl"
    data = document([(article(title=dirty), [comment(1, author_name=dirty, content_html=dirty)])],
                    title=dirty)
    root = parse(data)
    clean = "abcdefghij\tk\nl"
    assert root.findtext("channel/title") == clean
    item = root.find("channel/item")
    assert item.findtext("title") == clean
    [entry] = comments_of(item)
    assert entry["comment_author"] == entry["comment_content"] == clean


def test_nested_replies_keep_their_parents():
    chain = [comment(1)] + [comment(i, parent_id=i - 1) for i in range(2, 12)] + [comment(12, parent_id=1)]
    item = parse(document([(article(), chain)])).find("channel/item")
    parents = {int(c["comment_id"]): int(c["comment_parent"]) for c in comments_of(item)}
    assert parents == {1: 0, **{i: i - 1 for i in range(2, 12)}, 12: 1}


def test_dates_are_written_in_utc():
    local = datetime(2024, 3, 5, 16, 7, 9, tzinfo=timezone(timedelta(hours=2)))
    item = parse(document([(article(created_at=local), [comment(1, created_at=local)])])).find("channel/item")
    assert item.findtext(WP + "post_date_gmt") == "2024-03-05 14:07:09"
    [entry] = comments_of(item)
    assert entry["comment_date_gmt"] == entry["comment_date"] == "2024-03-05 14:07:09"


def test_status_mapping_never_publishes_what_was_not_published():
    assert {s: approved_for(s) for s in APPROVED_BY_STATUS} == {
        "published": "1", "held": "0", "pending_scoring": "0", "rejected": "spam", "deleted": "trash"}
    assert approved_for("something-new") == "0"


def test_slug():
    assert slug("2024/03/Big Story!") == "2024-03-big-story"
    assert slug("--a__b--") == "a__b"
    assert slug("x" * 300) == "x" * 200


def test_an_empty_channel_is_a_valid_document():
    root = parse(document([]))
    assert root.find("channel/item") is None


def test_large_documents_stream_in_bounded_buffers():
    writes: list[int] = []

    class Sink(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, b) -> int:
            writes.append(len(b))
            return len(b)

    writer = WxrWriter(Sink())
    writer.start(channel())
    writer.article(article())
    for i in range(1, 5001):
        writer.comment(comment(i, content_html="<p>" + "x" * 200 + "</p>"))
    assert len(writes) > 10  # written as it goes, not held until close
    writer.close()
    assert max(writes) < (1 << 16) + 2000


def test_order_is_enforced():
    writer = WxrWriter(io.BytesIO())
    with pytest.raises(RuntimeError):
        writer.article(article())
    writer.start(channel())
    with pytest.raises(RuntimeError):
        writer.comment(comment(1))
