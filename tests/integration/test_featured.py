"""Featured comments and the pinned comment, through HTTP against the real app, Redis and PostgreSQL.

What must hold: once a moderator's feature, unfeature, pin or unpin is answered, the very next read
of the thread (from the cache: it was warm) shows it; only a published comment of the article can be
featured or pinned, and one that stops being published drops out; another site's staff are refused;
every change is audited; the article's live readers are told. The app runs behind uvicorn in the
test's loop, with its in-process cache, as tests/integration/test_cache.py runs it.
"""

from __future__ import annotations

import asyncio
import json
import secrets

import pytest

from tests.integration.test_cache import SLOW_OK, new_article, page, post, warm
from tests.support.seeding import seed_comment
from tests.support.sites import make_site
from tests.support.tokens import bearer, staff_token

API = "/api/v1/moderation"


@pytest.fixture(scope="module")
async def live(serve):
    async with serve(**SLOW_OK) as running:
        yield running


@pytest.fixture(scope="module")
async def http(live):
    async with live.http() as client:
        yield client


@pytest.fixture
async def moderator(db, site) -> dict:
    return bearer(await staff_token(db, "moderator", site.id, name="Editor Eve"))


def ids(views: list[dict]) -> list[int]:
    return [v["id"] for v in views]


async def feature(http, site, moderator, comment_id: int, *, on: bool = True, status: int = 200) -> dict:
    method = http.post if on else http.delete
    kwargs = {"json": {"note": "editor's pick"}} if on else {}
    r = await method(f"{API}/comments/{comment_id}/feature", params=site.q(), headers=moderator, **kwargs)
    assert r.status_code == status, r.text
    return r.json()


async def pin(http, site, moderator, article: str, comment_id: int | None, *, status: int = 200) -> dict:
    if comment_id is None:
        r = await http.delete(f"{API}/articles/{article}/pin", params=site.q(), headers=moderator)
    else:
        r = await http.put(f"{API}/articles/{article}/pin", params=site.q(), headers=moderator,
                           json={"comment_id": comment_id})
    assert r.status_code == status, r.text
    return r.json()


async def test_picks_and_pin_reach_the_next_cached_read(http, live, site, moderator):
    article = new_article()
    first = await post(http, site, article, "first")
    second = await post(http, site, article, "second", sub="reader-2")
    third = await post(http, site, article, "third", sub="reader-3")
    body = await warm(http, live.services, site, article)
    assert body["featured"] == [] and body["pinned"] is None

    state = await feature(http, site, moderator, second["id"])
    assert state["featured"] is True and state["changed"] is True and state["featured_by"] == "Editor Eve"
    body = await page(http, site, article)
    assert ids(body["featured"]) == [second["id"]]
    assert body["featured"][0]["body_html"] == "<p>second</p>"
    assert ids(body["comments"]) == [first["id"], second["id"], third["id"]]  # the thread is as it was

    await warm(http, live.services, site, article)
    await feature(http, site, moderator, third["id"])
    assert ids((await page(http, site, article))["featured"]) == [third["id"], second["id"]]  # newest pick first
    again = await feature(http, site, moderator, third["id"])
    assert again["changed"] is False  # already featured: nothing changes
    for sort in ("newest", "top"):  # every first page carries them
        assert ids((await page(http, site, article, sort=sort))["featured"]) == [third["id"], second["id"]]

    await warm(http, live.services, site, article)
    found = await pin(http, site, moderator, article, first["id"])
    assert found["pinned_comment_id"] == first["id"]
    body = await page(http, site, article)
    assert body["pinned"]["id"] == first["id"]
    assert ids(body["featured"]) == [third["id"], second["id"]]

    await warm(http, live.services, site, article)
    await pin(http, site, moderator, article, third["id"])  # another pin replaces it
    assert (await page(http, site, article))["pinned"]["id"] == third["id"]

    await warm(http, live.services, site, article)
    await feature(http, site, moderator, second["id"], on=False)
    body = await page(http, site, article)
    assert ids(body["featured"]) == [third["id"]]

    await warm(http, live.services, site, article)
    unpinned = await pin(http, site, moderator, article, None)
    assert unpinned["pinned_comment_id"] is None
    assert (await page(http, site, article))["pinned"] is None


async def test_later_pages_carry_no_picks(http, live, site, moderator):
    article = new_article()
    comments = [await post(http, site, article, f"c{i}", sub=f"reader-{i}") for i in range(3)]
    await feature(http, site, moderator, comments[0]["id"])
    first = await page(http, site, article, limit=2)
    assert ids(first["featured"]) == [comments[0]["id"]]
    later = await page(http, site, article, limit=2, cursor=first["next_cursor"])
    assert later["featured"] == [] and later["pinned"] is None


async def test_a_pick_that_stops_being_published_drops_out(http, live, site, moderator, db):
    article = new_article()
    rejected = await post(http, site, article, "to be rejected")
    deleted = await post(http, site, article, "to be deleted", sub="reader-2")
    kept = await post(http, site, article, "kept", sub="reader-3")
    for c in (rejected, deleted, kept):
        await feature(http, site, moderator, c["id"])
    await pin(http, site, moderator, article, rejected["id"])
    await warm(http, live.services, site, article)

    r = await http.post(f"{API}/comments/{rejected['id']}/decision", params=site.q(), headers=moderator,
                        json={"action": "reject", "reason": "other", "override": True})
    assert r.status_code == 200, r.text
    body = await page(http, site, article)
    assert ids(body["featured"]) == [kept["id"], deleted["id"]]
    assert body["pinned"] is None

    await warm(http, live.services, site, article)
    r = await http.delete(f"/api/v1/comments/{deleted['id']}", params=site.q(),
                          headers=site.auth(site.sso_token(sub="reader-2")))
    assert r.status_code == 204, r.text
    assert ids((await page(http, site, article))["featured"]) == [kept["id"]]

    # undoing the rejection publishes the comment again, but not as a pick or the pin
    r = await http.post(f"{API}/comments/{rejected['id']}/decision", params=site.q(), headers=moderator,
                        json={"action": "undo"})
    assert r.status_code == 200, r.text
    body = await page(http, site, article)
    assert rejected["id"] in ids(body["comments"])
    assert ids(body["featured"]) == [kept["id"]] and body["pinned"] is None
    assert await db.fetchval("SELECT featured_at FROM comments WHERE id = $1", rejected["id"]) is None


async def test_only_published_comments_of_the_article(http, services, db, site, moderator):
    held = await seed_comment(services, db, site.id, article="held-art")
    refused = await feature(http, site, moderator, held.id, status=409)
    assert refused["code"] == "not_featurable"
    assert (await pin(http, site, moderator, "held-art", held.id, status=409))["code"] == "not_featurable"
    elsewhere = await post(http, site, new_article(), "on another article")
    assert (await pin(http, site, moderator, "held-art", elsewhere["id"], status=404))["code"] == "comment_not_found"
    assert (await pin(http, site, moderator, "no-such-art", elsewhere["id"], status=404))["code"] == "article_not_found"
    assert (await feature(http, site, moderator, 2**40, status=404))["code"] == "comment_not_found"
    r = await http.post(f"{API}/comments/{elsewhere['id']}/feature", params=site.q(), headers=moderator,
                        json={"note": "x", "pinned": True})
    assert r.status_code == 400, r.text  # unknown fields are refused
    assert await db.fetchval("SELECT count(*) FROM comments WHERE featured_at IS NOT NULL AND id = $1",
                             held.id) == 0


async def test_at_most_ten_picks(http, site, moderator):
    article = new_article()
    comments = [await post(http, site, article, f"c{i}", sub=f"r{i}") for i in range(11)]
    r = await http.post(f"{API}/comments/{comments[0]['id']}/feature", params=site.q(), headers=moderator)
    assert r.status_code == 200 and r.json()["featured"], r.text  # the body (a note) is optional
    for c in comments[1:10]:
        await feature(http, site, moderator, c["id"])
    refused = await feature(http, site, moderator, comments[10]["id"], status=409)
    assert refused["code"] == "featured_limit"
    await feature(http, site, moderator, comments[0]["id"], on=False)
    await feature(http, site, moderator, comments[10]["id"])
    body = await page(http, site, article)
    assert ids(body["featured"]) == [c["id"] for c in reversed(comments[1:])]


async def test_other_sites_staff_are_refused(http, services, db, site, moderator):
    article = new_article()
    comment = await post(http, site, article, "ours")
    other = await make_site(services, db)
    theirs = bearer(await staff_token(db, "admin", other.id))
    r = await http.post(f"{API}/comments/{comment['id']}/feature", params=other.q(), headers=theirs, json={})
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    r = await http.put(f"{API}/articles/{article}/pin", params=site.q(), headers=theirs,
                       json={"comment_id": comment["id"]})
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    r = await http.get(f"{API}/articles/{article}/featured", params=site.q(), headers=theirs)
    assert r.status_code == 403
    body = await page(http, site, article)
    assert body["featured"] == [] and body["pinned"] is None
    assert await db.fetchval("SELECT count(*) FROM moderation_actions WHERE site_id = $1", site.id) == 0


async def test_every_change_is_audited(http, site, moderator, db):
    article = new_article()
    comment = await post(http, site, article, "audited")
    await feature(http, site, moderator, comment["id"])
    await feature(http, site, moderator, comment["id"])  # unchanged: no row
    await pin(http, site, moderator, article, comment["id"])
    await pin(http, site, moderator, article, None)
    await feature(http, site, moderator, comment["id"], on=False)
    rows = await db.fetch("SELECT action, actor_name, comment_id, note, details FROM moderation_actions "
                          "WHERE site_id = $1 ORDER BY id", site.id)
    assert [r["action"] for r in rows] == ["feature", "pin", "unpin", "unfeature"]
    assert {r["comment_id"] for r in rows} == {comment["id"]}
    assert {r["actor_name"] for r in rows} == {"Editor Eve"}
    assert rows[0]["note"] == "editor's pick"
    assert rows[0]["details"] == {"before": {"featured": False}, "after": {"featured": True}}
    assert rows[1]["details"] == {"before": {"pinned_comment_id": None}, "after": {"pinned_comment_id": comment["id"]}}
    assert rows[3]["details"]["before"]["featured_by"] == "Editor Eve"
    r = await http.get(f"{API}/audit", params=site.q(action="feature"), headers=moderator)
    assert r.status_code == 200 and len(r.json()["entries"]) == 1, r.text


async def test_live_readers_are_told(http, site, moderator):
    article = "live-" + secrets.token_hex(3)
    comment = await post(http, site, article, "worth reading")
    async with http.stream("GET", f"/api/v1/articles/{article}/events", params=site.q()) as response:
        lines = response.aiter_lines()

        async def next_data() -> dict:
            async for line in lines:
                if line.startswith("data:"):
                    event = json.loads(line[5:])
                    # the post's own "published" event may come after "ready" on a Redis Cluster
                    # (pub/sub crosses nodes asynchronously); a reader's widget takes it as it comes
                    if event.get("type") != "comment.published":
                        return event
            raise AssertionError("stream ended")

        assert await asyncio.wait_for(next_data(), 10) == {"type": "ready"}
        await feature(http, site, moderator, comment["id"])
        assert await asyncio.wait_for(next_data(), 10) == {"type": "comment.featured", "comment_id": comment["id"]}
        await pin(http, site, moderator, article, comment["id"])
        assert await asyncio.wait_for(next_data(), 10) == {"type": "comment.pinned", "comment_id": comment["id"]}
        await pin(http, site, moderator, article, None)
        assert await asyncio.wait_for(next_data(), 10) == {"type": "comment.unpinned", "comment_id": comment["id"]}
        await feature(http, site, moderator, comment["id"], on=False)
        assert await asyncio.wait_for(next_data(), 10) == {"type": "comment.unfeatured",
                                                           "comment_id": comment["id"]}


async def test_deleting_a_site_with_a_pin(services, db):
    other = await make_site(services, db)
    pinned = await seed_comment(services, db, other.id, status="published", reason=None)
    await db.execute("UPDATE articles SET pinned_comment_id = $1 WHERE id = $2", pinned.id, pinned.article_id)
    await db.execute("UPDATE comments SET featured_at = now() WHERE id = $1", pinned.id)
    await db.execute("DELETE FROM sites WHERE id = $1", other.id)
    assert await db.fetchval("SELECT count(*) FROM articles WHERE site_id = $1", other.id) == 0
