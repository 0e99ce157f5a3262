"""The audit log's filters (article and date range among them) on the page and the CSV download,
the download's safety in a spreadsheet, its bound, and who may read it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from comments_service.services import moderation_stats
from tests.support.seeding import seed_comment, seed_reader
from tests.support.sites import make_site
from tests.support.tokens import staff_token

API = "/api/v1/moderation"


def rows_of(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


async def decide(client, site, headers, comment_id, action, reason=None, note=None):
    body = {"action": action} | ({"reason": reason} if reason else {}) | ({"note": note} if note else {})
    r = await client.post(f"{API}/comments/{comment_id}/decision", params=site.q(), json=body, headers=headers)
    assert r.status_code == 200, r.text


async def test_csv_has_the_filtered_rows_with_links_and_is_safe_in_a_spreadsheet(client, services, db, site):
    token = await staff_token(db, "moderator", site.id, name='=HYPERLINK("x")')
    mod = {"Authorization": f"Bearer {token}"}
    author = await seed_reader(db, site.id, name="+Mallory")
    a = await seed_comment(services, db, site.id, article="art-a", author_id=author)
    b = await seed_comment(services, db, site.id, article="art-b")
    await decide(client, site, mod, a.id, "reject", "spam", note="-2+3 @SUM(A1)")
    await decide(client, site, mod, b.id, "approve", note="\tlooks fine")

    r = await client.get(f"{API}/audit.csv", params=site.q(), headers=mod)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith("attachment; filename=\"audit-")
    rows = rows_of(r.text)
    assert [(x["action"], x["comment_id"], x["article_id"]) for x in rows] == [
        ("approve", str(b.id), "art-b"), ("reject", str(a.id), "art-a")]
    rejected = rows[1]
    # every cell a spreadsheet would run as a formula starts with an apostrophe
    assert rejected["actor_name"] == "'=HYPERLINK(\"x\")"
    assert rejected["user_name"] == "'+Mallory"
    assert rejected["note"] == "'-2+3 @SUM(A1)"
    assert rows[0]["note"] == "'\tlooks fine"
    assert (rejected["reason"], rejected["before_status"], rejected["after_status"], rejected["user_id"]) == (
        "spam", "held", "rejected", str(author))

    # filters: article (the site's own id), moderator, action, user, comment
    async def csv_of(**params):
        r = await client.get(f"{API}/audit.csv", params=site.q(**params), headers=mod)
        assert r.status_code == 200, r.text
        return [x["comment_id"] for x in rows_of(r.text)]

    actor = (await client.get(f"{API}/audit/actors", params=site.q(), headers=mod)).json()["actors"]
    assert [x["name"] for x in actor] == ['=HYPERLINK("x")']
    assert await csv_of(article_id="art-a") == [str(a.id)]
    assert await csv_of(article_id="no-such-article") == []
    assert await csv_of(action="approve") == [str(b.id)]
    assert await csv_of(user_id=author) == [str(a.id)]
    assert await csv_of(comment_id=b.id) == [str(b.id)]
    assert await csv_of(moderator=actor[0]["id"]) == [str(b.id), str(a.id)]
    assert await csv_of(moderator="token:0") == []
    # the page has the same filter and names what each entry is about
    r = await client.get(f"{API}/audit", params=site.q(article_id="art-a"), headers=mod)
    assert r.status_code == 200, r.text
    [entry] = r.json()["entries"]
    assert (entry["comment_id"], entry["article_external_id"], entry["user_name"]) == (a.id, "art-a", "+Mallory")


async def test_date_range_filters_page_and_csv(client, services, db, site):
    mod = {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id)}"}
    base = datetime(2026, 3, 1, tzinfo=UTC)
    for day in range(5):
        await db.execute(
            "INSERT INTO moderation_actions (site_id, actor_id, actor_name, action, note, created_at) "
            "VALUES ($1, 'token:9', 'Mo', 'article_settings', $2, $3)", site.id, f"day {day}",
            base + timedelta(days=day, hours=10))
    params = site.q(since=(base + timedelta(days=1)).isoformat(), until=(base + timedelta(days=3)).isoformat())
    r = await client.get(f"{API}/audit.csv", params=params, headers=mod)
    assert [x["note"] for x in rows_of(r.text)] == ["day 2", "day 1"]
    r = await client.get(f"{API}/audit", params=params, headers=mod)
    assert [e["note"] for e in r.json()["entries"]] == ["day 2", "day 1"]


async def test_csv_is_bounded_and_says_so(client, services, db, site, monkeypatch):
    monkeypatch.setattr(moderation_stats, "EXPORT_MAX_ROWS", 3)
    monkeypatch.setattr(moderation_stats, "EXPORT_PAGE", 2)
    mod = {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id)}"}
    for n in range(5):
        await db.execute("INSERT INTO moderation_actions (site_id, actor_id, actor_name, action, note) "
                         "VALUES ($1, 'token:9', 'Mo', 'article_settings', $2)", site.id, f"n{n}")
    r = await client.get(f"{API}/audit.csv", params=site.q(), headers=mod)
    lines = r.text.strip().split("\r\n")
    assert [x["note"] for x in rows_of("\r\n".join(lines[:-1]))] == ["n4", "n3", "n2"]
    assert lines[-1].startswith("# truncated: the export stops at 3 entries")
    # exactly at the bound: no truncation line
    monkeypatch.setattr(moderation_stats, "EXPORT_MAX_ROWS", 5)
    r = await client.get(f"{API}/audit.csv", params=site.q(), headers=mod)
    assert [x["note"] for x in rows_of(r.text)] == ["n4", "n3", "n2", "n1", "n0"]


async def test_other_sites_staff_are_refused_and_own_scope_is_kept(client, services, db, site):
    other = await make_site(services, db)
    mine = await seed_comment(services, db, site.id)
    theirs = await seed_comment(services, db, other.id)
    mod = {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id)}"}
    other_mod = {"Authorization": f"Bearer {await staff_token(db, 'moderator', other.id)}"}
    await decide(client, site, mod, mine.id, "approve")
    await decide(client, other, other_mod, theirs.id, "approve")
    r = await client.get(f"{API}/audit.csv", params=site.q(), headers=other_mod)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    r = await client.get(f"{API}/audit/actors", params=site.q(), headers=other_mod)
    assert r.status_code == 403
    # without naming a site, a moderator gets their own site's entries only
    r = await client.get(f"{API}/audit.csv", headers=mod)
    assert [x["comment_id"] for x in rows_of(r.text)] == [str(mine.id)]
    r = await client.get(f"{API}/audit.csv", params=site.q(article_id="\x01"), headers=mod)
    assert r.status_code == 400
