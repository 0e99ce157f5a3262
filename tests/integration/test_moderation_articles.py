"""The console's articles: the list with its counts and orders, an article's thread with every
status in reader order, and a closing date set through the article PATCH."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.seeding import seed_comment, seed_reader
from tests.support.sites import article_body, make_site
from tests.support.tokens import staff_token

API = "/api/v1/moderation"
NOW = datetime.now(UTC)


@pytest.fixture
async def mod(db, site):
    return {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id)}"}


async def _seed(services, db, site_id, article, statuses, *, minutes_ago=60, **kw):
    rows = []
    for i, status in enumerate(statuses):
        rows.append(await seed_comment(services, db, site_id, article=article, status=status,
                                       created_at=NOW - timedelta(minutes=minutes_ago - i), **kw))
    return rows


async def _list(client, site, mod, **params):
    r = await client.get(f"{API}/articles", params=site.q(**params), headers=mod)
    assert r.status_code == 200, r.text
    return r.json()


async def test_the_list_counts_published_held_and_reported(client, services, db, site, mod):
    await _seed(services, db, site.id, "counted", ["published", "published", "published", "held", "held",
                                                   "rejected", "deleted"])
    reported = await seed_comment(services, db, site.id, article="counted", status="published")
    await db.execute("UPDATE comments SET open_reports = 2, reported_at = now() WHERE id = $1", reported.id)
    await db.execute("UPDATE articles SET premoderation = true WHERE site_id = $1 AND external_id = 'counted'",
                     site.id)
    await _seed(services, db, site.id, "quiet", ["published"])

    items = {a["id"]: a for a in (await _list(client, site, mod))["items"]}
    counted = items["counted"]
    assert (counted["published"], counted["held"], counted["reported"]) == (4, 2, 1)
    assert counted["premoderation"] is True and counted["comments_open"] is True
    assert counted["title"] == "Article counted" and counted["url"].endswith("/counted")
    assert counted["last_comment_at"] is not None
    assert (items["quiet"]["published"], items["quiet"]["held"], items["quiet"]["reported"]) == (1, 0, 0)


async def test_activity_puts_the_most_recent_comment_first_and_pages(client, services, db, site, mod):
    # oldest activity first in creation order: the list must reorder them
    await _seed(services, db, site.id, "stale", ["published"], minutes_ago=600)
    await _seed(services, db, site.id, "burning", ["published"], minutes_ago=500)
    await seed_comment(services, db, site.id, article="burning", status="held", created_at=NOW - timedelta(minutes=1))
    await _seed(services, db, site.id, "warm", ["published"], minutes_ago=30)
    await _seed(services, db, site.id, "empty", ["rejected"], minutes_ago=5)  # no published or held comment

    order = [a["id"] for a in (await _list(client, site, mod))["items"]]
    assert order == ["burning", "warm", "stale", "empty"]
    by_held = [a["id"] for a in (await _list(client, site, mod, sort="held"))["items"]]
    assert by_held[0] == "burning"
    newest = [a["id"] for a in (await _list(client, site, mod, sort="newest"))["items"]]
    assert newest == ["empty", "warm", "burning", "stale"]  # the order the articles were created in, reversed

    seen, cursor = [], None
    while True:
        page = await _list(client, site, mod, limit=1, **({"cursor": cursor} if cursor else {}))
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == order
    r = await client.get(f"{API}/articles", params=site.q(sort="newest", cursor=page_cursor(order)), headers=mod)
    assert r.status_code == 400 and r.json()["code"] == "invalid_cursor"


def page_cursor(_order) -> str:
    """An activity cursor offered to the newest order."""
    from comments_service.domain.article_models import ListCursor, encode

    return encode(ListCursor(sort="activity", key=0, id=1))


async def test_search_by_title_words_or_article_id(client, services, db, site, mod):
    await _seed(services, db, site.id, "budget-2030", ["published"])
    await _seed(services, db, site.id, "rail-strike", ["published"])
    await db.execute("UPDATE articles SET title = 'Rail strike: 100% of lines_closed' "
                     "WHERE external_id = 'rail-strike' AND site_id = $1", site.id)

    assert [a["id"] for a in (await _list(client, site, mod, q="STRIKE"))["items"]] == ["rail-strike"]
    assert [a["id"] for a in (await _list(client, site, mod, q="budget-2030"))["items"]] == ["budget-2030"]
    # LIKE's own characters match themselves
    assert [a["id"] for a in (await _list(client, site, mod, q="100%"))["items"]] == ["rail-strike"]
    assert (await _list(client, site, mod, q="lines%closed"))["items"] == []
    assert (await _list(client, site, mod, q="nothing like it"))["items"] == []
    r = await client.get(f"{API}/articles", params=site.q(q="bad\u202etext"), headers=mod)
    assert r.status_code == 400


async def test_the_thread_shows_held_comments_in_reader_order_with_their_status(client, services, db, site, mod):
    author = await seed_reader(db, site.id, name="Ada")
    first = await seed_comment(services, db, site.id, article="t", status="published", body="first",
                               created_at=NOW - timedelta(minutes=10), author_id=author)
    held_reply = await seed_comment(services, db, site.id, article="t", status="held", parent_id=first.id,
                                    body="held reply", scores={"toxicity": 0.8})
    reply = await seed_comment(services, db, site.id, article="t", status="published", parent_id=first.id,
                               body="reply")
    nested = await seed_comment(services, db, site.id, article="t", status="published", parent_id=held_reply.id,
                                body="under held")
    rejected = await seed_comment(services, db, site.id, article="t", status="rejected", body="rejected",
                                  created_at=NOW - timedelta(minutes=5))
    second = await seed_comment(services, db, site.id, article="t", status="published", body="second",
                                created_at=NOW - timedelta(minutes=4))
    await db.execute("UPDATE comments SET open_reports = 3 WHERE id = $1", second.id)

    r = await client.get(f"{API}/articles/t/thread", params=site.q(), headers=mod)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["article"]["id"] == "t" and body["article"]["held"] == 1 and body["include"] == ["held"]
    rows = [(c["id"], c["status"], c["depth"]) for c in body["comments"]]
    assert rows == [(first.id, "published", 0), (held_reply.id, "held", 1), (nested.id, "published", 2),
                    (reply.id, "published", 1), (second.id, "published", 0)]
    by_id = {c["id"]: c for c in body["comments"]}
    assert by_id[first.id]["author"]["name"] == "Ada" and by_id[first.id]["author"]["id"] == author
    assert by_id[held_reply.id]["scores"] == {"toxicity": 0.8} and by_id[held_reply.id]["max_score"] == 0.8
    assert by_id[second.id]["reports"] == 3

    r = await client.get(f"{API}/articles/t/thread", params=site.q(include="held,rejected"), headers=mod)
    assert [c["id"] for c in r.json()["comments"]] == [first.id, held_reply.id, nested.id, reply.id, rejected.id,
                                                       second.id]
    r = await client.get(f"{API}/articles/t/thread", params=site.q(include=""), headers=mod)
    assert [c["id"] for c in r.json()["comments"]] == [first.id, nested.id, reply.id, second.id]

    # paging walks the same order, a page at a time, from the middle of a subtree too
    seen, cursor = [], None
    while True:
        params = site.q(include="held,rejected", limit=2, **({"cursor": cursor} if cursor else {}))
        page = (await client.get(f"{API}/articles/t/thread", params=params, headers=mod)).json()
        assert len(page["comments"]) <= 2
        seen += [c["id"] for c in page["comments"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [first.id, held_reply.id, nested.id, reply.id, rejected.id, second.id]

    for bad in ({"include": "spam"}, {"cursor": "not-a-cursor"}):
        r = await client.get(f"{API}/articles/t/thread", params=site.q(**bad), headers=mod)
        assert r.status_code == 400, r.text
    r = await client.get(f"{API}/articles/nope/thread", params=site.q(), headers=mod)
    assert r.status_code == 404 and r.json()["code"] == "article_not_found"


async def test_approving_from_the_thread_publishes_in_place(client, services, db, site, mod):
    root = await seed_comment(services, db, site.id, article="ctx", status="published")
    held = await seed_comment(services, db, site.id, article="ctx", status="held", parent_id=root.id)
    r = await client.post(f"{API}/comments/{held.id}/decision", json={"action": "approve"}, headers=mod)
    assert r.status_code == 200, r.text
    body = (await client.get(f"{API}/articles/ctx/thread", params=site.q(), headers=mod)).json()
    assert [(c["id"], c["status"]) for c in body["comments"]] == [(root.id, "published"), (held.id, "published")]
    assert body["article"]["held"] == 0 and body["article"]["published"] == 2


async def _post(client, site, article, text="Hello"):
    return await client.post(f"/api/v1/articles/{article}/comments", params=site.q(), json=article_body(text),
                             headers=site.auth(site.sso_token(sub="closer")))


async def test_a_closing_date_in_the_past_closes_posting_and_one_to_come_does_not(client, services, db, site, mod):
    assert (await _post(client, site, "dated")).status_code == 201
    later = (NOW + timedelta(days=2)).replace(microsecond=0)
    r = await client.patch(f"{API}/articles/dated", params=site.q(), json={"close_at": later.isoformat()},
                           headers=mod)
    assert r.status_code == 200, r.text
    assert r.json()["comments_open"] is True and r.json()["close_at"] is not None
    assert datetime.fromisoformat(r.json()["closes_at"]) == later
    assert (await _post(client, site, "dated", "Still open")).status_code == 201
    listed = {a["id"]: a for a in (await _list(client, site, mod))["items"]}["dated"]
    assert listed["comments_open"] is True and datetime.fromisoformat(listed["close_at"]) == later

    past = NOW - timedelta(minutes=1)
    r = await client.patch(f"{API}/articles/dated", params=site.q(), json={"close_at": past.isoformat()}, headers=mod)
    assert r.status_code == 200 and r.json()["comments_open"] is False
    refused = await _post(client, site, "dated", "Too late")
    assert refused.status_code == 403 and refused.json()["code"] == "article_closed", refused.text
    page = (await client.get("/api/v1/articles/dated/comments", params=site.q())).json()
    assert page["article"]["comments_open"] is False
    listed = {a["id"]: a for a in (await _list(client, site, mod))["items"]}["dated"]
    assert listed["comments_open"] is False and listed["closed_by_moderator"] is False

    # audited with before and after
    details = await db.fetchval("SELECT details FROM moderation_actions WHERE site_id = $1 AND "
                                "action = 'article_settings' ORDER BY id DESC LIMIT 1", site.id)
    before, after = details["close_at"]
    assert datetime.fromisoformat(before) == later and datetime.fromisoformat(after) == past

    # reopening lifts a date that has passed
    r = await client.patch(f"{API}/articles/dated", params=site.q(), json={"comments_open": True}, headers=mod)
    assert r.status_code == 200 and r.json()["comments_open"] is True and r.json()["close_at"] is None
    assert (await _post(client, site, "dated", "Back")).status_code == 201
    # null clears a date; a date without a time zone is refused
    await client.patch(f"{API}/articles/dated", params=site.q(), json={"close_at": later.isoformat()}, headers=mod)
    r = await client.patch(f"{API}/articles/dated", params=site.q(), json={"close_at": None}, headers=mod)
    assert r.status_code == 200 and r.json()["close_at"] is None
    r = await client.patch(f"{API}/articles/dated", params=site.q(), json={"close_at": "2030-01-01T00:00:00"},
                           headers=mod)
    assert r.status_code == 400, r.text


async def test_another_sites_staff_are_refused(client, services, db, site):
    await _seed(services, db, site.id, "mine", ["held"])
    other = await make_site(services, db)
    foreign = {"Authorization": f"Bearer {await staff_token(db, 'moderator', other.id)}"}
    for path in ("/articles", "/articles/mine/thread"):
        r = await client.get(API + path, params=site.q(), headers=foreign)
        assert r.status_code == 403 and r.json()["code"] == "forbidden", r.text
    # their own site's list never shows this site's articles
    r = await client.get(f"{API}/articles", params=other.q(), headers=foreign)
    assert r.status_code == 200 and r.json()["items"] == []
    r = await client.get(f"{API}/articles/mine/thread", params=other.q(), headers=foreign)
    assert r.status_code == 404
    # an admin of every site names the site
    admin = {"Authorization": f"Bearer {await staff_token(db, 'admin')}"}
    r = await client.get(f"{API}/articles", headers=admin)
    assert r.status_code == 400 and r.json()["code"] == "site_required"
    assert (await client.get(f"{API}/articles", params=site.q(), headers=admin)).status_code == 200
