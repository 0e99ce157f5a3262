"""`export --format wxr`: a site's threads, read from the database, come out as a WXR document that
holds every article and every comment of the site (and nothing of other sites), with its parent,
author, dates and a status WordPress understands; an unknown site is a clear error."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from comments_service.db import articles as article_repo
from comments_service.db import users as user_repo
from comments_service.db.pool import create_command_pool
from comments_service.formats.wxr_writer import ARTICLE_ID_META_KEY, NAMESPACES, STATUS_META_KEY
from comments_service.services.wxr_export import WxrCounts, WxrExporter, WxrExportError
from tests.support.seeding import seed_comment, seed_reader
from tests.support.sites import make_site

WP = "{" + NAMESPACES["wp"] + "}"
T0 = datetime(2023, 11, 2, 9, 30, 15, tzinfo=UTC)
APPROVED = {"published": "1", "held": "0", "pending_scoring": "0", "rejected": "spam", "deleted": "trash"}


async def seed_threads(services, db, site_id: str) -> dict[str, list[int]]:
    """Two articles: one with a thread in every status (a deleted comment with a reply under it, four
    levels of replies, bodies that stress XML), one closed and empty."""
    ana = await user_repo.ensure_sso_user(db, site_id, "ana", "Ana & <Co>", "ana@example.org", "reader")
    bob = await seed_reader(db, site_id, "bob", "بوب 😀")
    made: list[int] = []

    async def add(status: str, parent: int | None, body: str, author: int, minutes: int) -> int:
        row = await seed_comment(services, db, site_id, article="wxr-a", status=status, reason=None,
                                 author_id=author, parent_id=parent, body=body,
                                 created_at=T0 + timedelta(minutes=minutes))
        made.append(row.id)
        return row.id

    top = await add("published", None, "first ]]> & <i>", ana, 0)
    reply = await add("held", top, "a reply 😀", bob, 1)
    deeper = await add("rejected", reply, "spam\x01here", ana, 2)
    await add("published", deeper, "level four", bob, 3)
    gone = await add("deleted", None, "was here", bob, 4)
    await add("published", gone, "reply to the deleted", ana, 5)
    await add("pending_scoring", None, "مرحبا", ana, 6)
    await add("published", top, "a late reply to the first", bob, 7)  # path order is not id order
    await db.execute("UPDATE comments SET author_ip = '203.0.113.9' WHERE id = $1", top)
    await db.execute("UPDATE articles SET title = 'Tom & Jerry <3', created_at = $2 WHERE site_id = $1 "
                     "AND external_id = 'wxr-a'", site_id, T0 - timedelta(days=1))
    await article_repo.get_or_create(db, site_id, "2023/11/empty", "https://news.example/empty?a=1&b=2", "Empty")
    await db.execute("UPDATE articles SET comments_open = false WHERE site_id = $1 AND external_id = '2023/11/empty'",
                     site_id)
    return {"wxr-a": made, "2023/11/empty": []}


async def export(database: str, site_id: str, **kwargs) -> tuple[bytes, WxrCounts, list[int]]:
    pool = await create_command_pool(database)
    heard: list[int] = []
    try:
        out = io.BytesIO()
        counts = await WxrExporter(pool, **kwargs).write(site_id, out, heard.append)
        return out.getvalue(), counts, heard
    finally:
        await pool.close()


def fields(entry: ET.Element) -> dict[str, str]:
    """A wp:comment's fields by name, its comment meta as "meta:KEY"."""
    out = {child.tag.removeprefix(WP): child.text or "" for child in entry if child.tag != WP + "commentmeta"}
    for meta in entry.iter(WP + "commentmeta"):
        out["meta:" + (meta.findtext(WP + "meta_key") or "")] = meta.findtext(WP + "meta_value") or ""
    return out


def wp_date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


@pytest.mark.parametrize("prefetch", [2, 2000])
async def test_export_holds_every_comment_of_the_site(services, db, database, prefetch):
    site = await make_site(services, db)
    made = await seed_threads(services, db, site.id)
    other = await make_site(services, db)
    await seed_comment(services, db, other.id, article="wxr-a", status="published", body="another site's")

    data, counts, heard = await export(database, site.id, prefetch=prefetch)
    assert counts == WxrCounts(articles=2, comments=len(made["wxr-a"]))
    assert heard[-1] == counts.comments
    channel = ET.fromstring(data).find("channel")
    assert channel.findtext("title") == f"Site {site.id}"
    assert channel.findtext("link") == site.origin
    items = channel.findall("item")
    articles = await db.fetch("SELECT * FROM articles WHERE site_id = $1 ORDER BY id", site.id)
    assert [i.findtext(WP + "post_id") for i in items] == [str(a["id"]) for a in articles]
    for item, row in zip(items, articles, strict=True):
        assert item.find(WP + "postmeta").findtext(WP + "meta_key") == ARTICLE_ID_META_KEY
        assert item.find(WP + "postmeta").findtext(WP + "meta_value") == row["external_id"]
        assert item.findtext("title") == row["title"]
        assert item.findtext("link") == row["url"]
        assert item.findtext(WP + "post_date_gmt") == wp_date(row["created_at"])
        assert item.findtext(WP + "comment_status") == ("open" if row["comments_open"] else "closed")

    stored = await db.fetch(
        "SELECT c.*, host(c.author_ip) AS ip, u.display_name, u.email FROM comments c JOIN users u "
        "ON u.id = c.author_id WHERE c.article_id = $1 ORDER BY c.path", articles[0]["id"])
    written = [fields(entry) for entry in items[0].iter(WP + "comment")]
    assert list(items[1].iter(WP + "comment")) == []
    assert [int(w["comment_id"]) for w in written] == [r["id"] for r in stored]
    assert sorted(r["id"] for r in stored) == sorted(made["wxr-a"])
    for entry, row in zip(written, stored, strict=True):
        expected = {
            "comment_id": str(row["id"]), "comment_author": row["display_name"], "comment_author_url": "",
            "comment_date": wp_date(row["created_at"]), "comment_date_gmt": wp_date(row["created_at"]),
            "comment_content": row["body_html"].replace("\x01", ""), "comment_approved": APPROVED[row["status"]],
            "comment_type": "comment", "comment_parent": str(row["parent_id"] or 0), "comment_user_id": "0",
            f"meta:{STATUS_META_KEY}": row["status"]}
        if row["email"]:
            expected["comment_author_email"] = row["email"]
        if row["ip"]:
            expected["comment_author_IP"] = row["ip"]
        assert entry == expected
    # what the seed put there, spelled out: the mapping and the shape are not just the rows echoed
    by_id = {int(w["comment_id"]): w for w in written}
    top, reply, deeper, level4, gone, under_gone, pending, late = made["wxr-a"]
    assert [int(w["comment_id"]) for w in written] == [top, reply, deeper, level4, late, gone, under_gone, pending]
    assert [by_id[i]["comment_parent"] for i in (top, reply, deeper, level4, gone, under_gone, pending, late)] == \
        ["0", str(top), str(reply), str(deeper), "0", str(gone), "0", str(top)]
    assert [by_id[i]["comment_approved"] for i in (top, reply, deeper, gone, pending)] == \
        ["1", "0", "spam", "trash", "0"]
    assert by_id[top]["comment_content"] == "<p>first ]]> & <i></p>"
    assert by_id[top]["comment_author"] == "Ana & <Co>"
    assert by_id[top]["comment_author_email"] == "ana@example.org"
    assert by_id[top]["comment_author_IP"] == "203.0.113.9"
    assert by_id[reply]["comment_author"] == "بوب 😀"
    assert "comment_author_email" not in by_id[reply] and "comment_author_IP" not in by_id[reply]
    assert by_id[deeper]["comment_content"] == "<p>spamhere</p>"
    assert by_id[pending]["comment_date_gmt"] == "2023-11-02 09:36:15"
    assert b"another site's" not in data


async def test_a_site_without_articles_is_an_empty_channel(services, db, database):
    site = await make_site(services, db)
    data, counts, _ = await export(database, site.id)
    assert counts == WxrCounts(articles=0, comments=0)
    assert ET.fromstring(data).find("channel/item") is None


async def test_an_unknown_site_is_a_clear_error_and_writes_nothing(database):
    pool = await create_command_pool(database)
    try:
        out = io.BytesIO()
        with pytest.raises(WxrExportError, match="no site 'no-such-site'"):
            await WxrExporter(pool).write("no-such-site", out)
        assert out.getvalue() == b""
    finally:
        await pool.close()
