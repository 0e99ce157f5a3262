"""Queues and decisions through HTTP against the real app, PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from tests.support.seeding import seed_comment, seed_reader
from tests.support.sites import make_site
from tests.support.tokens import staff_token

API = "/api/v1/moderation"


@pytest.fixture
async def mod(db, site):
    return {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id)}"}


async def thread(client, site, article="art-1"):
    r = await client.get(f"/api/v1/articles/{article}/comments", params=site.q())
    assert r.status_code == 200, r.text
    return r.json()


async def test_queue_item_shows_comment_context_history_reasons_and_scores(client, services, db, site, mod):
    author = await seed_reader(db, site.id, name="Alice")
    parent = await seed_comment(services, db, site.id, status="published", reason=None, body="Parent text")
    await seed_comment(services, db, site.id, status="rejected", reason="banned_word", author_id=author)
    held = await seed_comment(services, db, site.id, author_id=author, parent_id=parent.id, body="Held reply",
                              scores={"toxicity": 0.72, "insult": 0.4})
    r = await client.get(f"{API}/queue", params=site.q(state="held"), headers=mod)
    assert r.status_code == 200, r.text
    [item] = r.json()["items"]
    assert item["comment"]["id"] == held.id
    assert item["comment"]["status_reason"] == "toxicity_hold"
    assert item["comment"]["scores"] == {"toxicity": pytest.approx(0.72), "insult": pytest.approx(0.4)}
    assert item["comment"]["max_score"] == pytest.approx(0.72)
    assert item["parent"] == {"id": parent.id, "author_name": "Reader", "body_html": "<p>Parent text</p>",
                              "status": "published"}
    assert item["article"]["id"] == "art-1" and item["article"]["title"] == "Article art-1"
    assert (item["author"]["name"], item["author"]["held"], item["author"]["rejected"],
            item["author"]["published"]) == ("Alice", 1, 1, 0)


async def test_queue_keyset_pages_by_oldest_and_by_score(client, services, db, site, mod):
    base = datetime(2026, 1, 1, tzinfo=UTC)
    scores = [0.2, 0.9, None, 0.5, 0.7]
    ids = [(await seed_comment(services, db, site.id, article="art-k", created_at=base + timedelta(minutes=i),
                               scores=None if s is None else {"toxicity": s})).id for i, s in enumerate(scores)]

    async def walk(sort):
        seen, cursor = [], None
        while True:
            params = site.q(state="held", sort=sort, limit=2, article_id="art-k")
            if cursor:
                params["cursor"] = cursor
            r = await client.get(f"{API}/queue", params=params, headers=mod)
            assert r.status_code == 200, r.text
            seen += [i["comment"]["id"] for i in r.json()["items"]]
            cursor = r.json()["next_cursor"]
            if not cursor:
                return seen

    assert await walk("oldest") == ids
    assert await walk("score") == [ids[1], ids[4], ids[3], ids[0], ids[2]]  # unscored last
    r = await client.get(f"{API}/queue", params=site.q(sort="score", cursor="bogus"), headers=mod)
    assert r.status_code == 400 and r.json()["code"] == "invalid_cursor"


async def test_approve_publishes_at_original_position_and_thread_reflects_it(client, services, db, site, mod):
    base = datetime.now(UTC) - timedelta(hours=1)
    first = await seed_comment(services, db, site.id, article="art-p", status="published", reason=None,
                               created_at=base)
    held = await seed_comment(services, db, site.id, article="art-p", created_at=base + timedelta(minutes=1))
    last = await seed_comment(services, db, site.id, article="art-p", status="published", reason=None,
                              created_at=base + timedelta(minutes=2))
    before = await thread(client, site, "art-p")  # fills the cache
    assert [c["id"] for c in before["comments"]] == [first.id, last.id]

    r = await client.post(f"{API}/comments/{held.id}/decision", params=site.q(), json={"action": "approve"},
                          headers=mod)
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "approved" and r.json()["changed"] is True

    after = await thread(client, site, "art-p")
    assert [c["id"] for c in after["comments"]] == [first.id, held.id, last.id]
    assert after["article"]["comment_count"] == before["article"]["comment_count"] + 1


async def test_reject_needs_a_listed_reason_and_removes_a_published_comment(client, services, db, site, mod):
    shown = await seed_comment(services, db, site.id, article="art-r", status="published", reason=None)
    assert [c["id"] for c in (await thread(client, site, "art-r"))["comments"]] == [shown.id]
    url = f"{API}/comments/{shown.id}/decision"
    r = await client.post(url, params=site.q(), json={"action": "reject"}, headers=mod)
    assert r.status_code == 400 and r.json()["code"] == "invalid_request"
    r = await client.post(url, params=site.q(), json={"action": "reject", "reason": "nonsense"}, headers=mod)
    assert r.status_code == 400
    # a published comment nobody reported is not waiting: changing it is an explicit override
    r = await client.post(url, params=site.q(), json={"action": "reject", "reason": "spam"}, headers=mod)
    assert r.status_code == 409 and r.json()["code"] == "already_decided"
    r = await client.post(url, params=site.q(), json={"action": "reject", "reason": "spam", "note": "link farm",
                                                      "override": True}, headers=mod)
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert (await thread(client, site, "art-r"))["comments"] == []
    row = await db.fetchrow("SELECT status, status_reason FROM comments WHERE id = $1", shown.id)
    assert tuple(row) == ("rejected", "spam")


async def test_decisions_are_idempotent(client, services, db, site, mod):
    held = await seed_comment(services, db, site.id)
    url = f"{API}/comments/{held.id}/decision"
    first = await client.post(url, params=site.q(), json={"action": "approve"}, headers=mod)
    again = await client.post(url, params=site.q(), json={"action": "approve"}, headers=mod)
    assert first.status_code == again.status_code == 200
    assert again.json()["outcome"] == "unchanged" and again.json()["changed"] is False
    assert again.json()["decided_by"] == first.json()["decided_by"]
    count = await db.fetchval("SELECT count(*) FROM moderation_actions WHERE comment_id = $1", held.id)
    assert count == 1
    assert await db.fetchval("SELECT comment_count FROM articles WHERE site_id = $1 AND external_id = 'art-1'",
                             site.id) == 1


async def test_two_moderators_at_once_decide_a_comment_once(client, services, db, site):
    one = {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id, 'one')}"}
    two = {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id, 'two')}"}
    for _ in range(5):
        held = await seed_comment(services, db, site.id, article="art-c")
        url = f"{API}/comments/{held.id}/decision"
        a, b = await asyncio.gather(
            client.post(url, params=site.q(), json={"action": "approve"}, headers=one),
            client.post(url, params=site.q(), json={"action": "reject", "reason": "spam"}, headers=two))
        outcomes = sorted([a.status_code, b.status_code])
        assert outcomes == [200, 409], (a.text, b.text)
        loser = a if a.status_code == 409 else b
        assert loser.json()["code"] == "already_decided"
        assert await db.fetchval("SELECT count(*) FROM moderation_actions WHERE comment_id = $1", held.id) == 1
        # both approving: one decides, the other sees that decision unchanged
        held = await seed_comment(services, db, site.id, article="art-c")
        url = f"{API}/comments/{held.id}/decision"
        a, b = await asyncio.gather(
            client.post(url, params=site.q(), json={"action": "approve"}, headers=one),
            client.post(url, params=site.q(), json={"action": "approve"}, headers=two))
        assert sorted(r.json()["outcome"] for r in (a, b)) == ["approved", "unchanged"]
    published = await db.fetchval("SELECT count(*) FROM comments WHERE site_id = $1 AND status = 'published'",
                                  site.id)
    assert await db.fetchval("SELECT comment_count FROM articles WHERE site_id = $1 AND external_id = 'art-c'",
                             site.id) == published


async def test_bulk_decisions_report_each_id(client, services, db, site, mod):
    other = await make_site(services, db)
    held = [await seed_comment(services, db, site.id, article="art-b") for _ in range(3)]
    foreign = await seed_comment(services, db, other.id)
    deleted = await seed_comment(services, db, site.id, article="art-b", status="deleted", reason=None)
    ids = [h.id for h in held] + [999_999_999, foreign.id, deleted.id, held[0].id]
    r = await client.post(f"{API}/decisions", params=site.q(), json={"comment_ids": ids, "action": "approve"},
                          headers=mod)
    assert r.status_code == 200, r.text
    body = r.json()
    by_id = {x["comment_id"]: x for x in body["results"]}
    assert len(body["results"]) == 6  # the repeated id is decided once
    assert all(by_id[h.id]["outcome"] == "approved" for h in held)
    assert by_id[999_999_999]["error"] == "comment_not_found"
    assert by_id[foreign.id]["error"] == "forbidden"
    assert by_id[deleted.id]["error"] == "not_decidable"
    assert (body["succeeded"], body["failed"]) == (3, 3)
    assert [c["id"] for c in (await thread(client, site, "art-b"))["comments"]] == [h.id for h in held]
    assert await db.fetchval("SELECT status FROM comments WHERE id = $1", foreign.id) == "held"


async def test_undo_restores_the_previous_state(client, services, db, site, mod):
    held = await seed_comment(services, db, site.id, article="art-u")
    url = f"{API}/comments/{held.id}/decision"
    assert (await client.post(url, params=site.q(), json={"action": "approve"}, headers=mod)).status_code == 200
    assert len((await thread(client, site, "art-u"))["comments"]) == 1
    r = await client.post(url, params=site.q(), json={"action": "undo"}, headers=mod)
    assert r.status_code == 200 and r.json()["status"] == "held"
    assert (await thread(client, site, "art-u"))["comments"] == []
    row = await db.fetchrow("SELECT status, status_reason, moderated_at FROM comments WHERE id = $1", held.id)
    assert tuple(row) == ("held", "toxicity_hold", None)
    r = await client.post(url, params=site.q(), json={"action": "undo"}, headers=mod)
    assert r.status_code == 409 and r.json()["code"] == "nothing_to_undo"
    actions = await db.fetch("SELECT action FROM moderation_actions WHERE comment_id = $1 ORDER BY id", held.id)
    assert [a["action"] for a in actions] == ["approve", "undo"]


async def test_reader_reports_feed_the_reported_queue_once_per_reader(client, services, db, site, mod):
    shown = await seed_comment(services, db, site.id, article="art-q", status="published", reason=None)
    url = f"/api/v1/comments/{shown.id}/reports"
    r = await client.post(url, params=site.q(), json={"reason": "spam"})
    assert r.status_code == 401 and r.json()["code"] == "auth_required"
    token = site.auth(site.sso_token(sub="flagger"))
    r = await client.post(url, params=site.q(), json={"reason": "spam", "note": "buy now links"}, headers=token)
    assert r.status_code == 201, r.text
    r = await client.post(url, params=site.q(), json={"reason": "offensive"}, headers=token)
    assert r.status_code == 409 and r.json()["code"] == "already_reported"
    r = await client.post(url, params=site.q(), json={"reason": "rude"}, headers=token)
    assert r.status_code == 400
    other = site.auth(site.sso_token(sub="flagger-2"))
    assert (await client.post(url, params=site.q(), json={"reason": "off_topic"}, headers=other)).status_code == 201

    r = await client.get(f"{API}/queue", params=site.q(state="reported"), headers=mod)
    [item] = r.json()["items"]
    assert item["comment"]["id"] == shown.id
    assert item["reports"] == {"count": 2, "reasons": {"spam": 1, "off_topic": 1}, "notes": ["buy now links"]}
    counts = (await client.get(f"{API}/counts", params=site.q(), headers=mod)).json()
    assert counts["reported"] == 1

    # a site asking for two reports before a comment is queued
    admin = {"Authorization": f"Bearer {await staff_token(db, 'admin')}"}
    r = await client.patch(f"{API}/sites/{site.id}", json={"report_threshold": 3}, headers=admin)
    assert r.status_code == 200 and r.json()["settings"]["report_threshold"] == 3
    assert (await client.get(f"{API}/queue", params=site.q(state="reported"), headers=mod)).json()["items"] == []
    await client.patch(f"{API}/sites/{site.id}", json={"report_threshold": 1}, headers=admin)

    # keeping it clears the reports; it stays published
    r = await client.post(f"{API}/comments/{shown.id}/decision", params=site.q(), json={"action": "approve"},
                          headers=mod)
    assert r.status_code == 200 and r.json()["outcome"] == "approved"
    assert (await client.get(f"{API}/queue", params=site.q(state="reported"), headers=mod)).json()["items"] == []
    assert [c["id"] for c in (await thread(client, site, "art-q"))["comments"]] == [shown.id]
    r = await client.get(f"{API}/queue", params=site.q(state="approved"), headers=mod)
    assert shown.id in [i["comment"]["id"] for i in r.json()["items"]]


async def test_report_of_a_comment_readers_cannot_see_is_not_found(client, services, db, site):
    held = await seed_comment(services, db, site.id)
    r = await client.post(f"/api/v1/comments/{held.id}/reports", params=site.q(), json={"reason": "spam"},
                          headers=site.auth(site.sso_token()))
    assert r.status_code == 404 and r.json()["code"] == "comment_not_found"


async def test_audit_log_is_queryable_and_append_only(client, services, db, site, mod):
    held = await seed_comment(services, db, site.id, article="art-a")
    await client.post(f"{API}/comments/{held.id}/decision", params=site.q(),
                      json={"action": "reject", "reason": "offensive", "note": "slur"}, headers=mod)
    r = await client.get(f"{API}/audit", params=site.q(comment_id=held.id), headers=mod)
    [entry] = r.json()["entries"]
    assert (entry["action"], entry["before_status"], entry["after_status"], entry["reason"], entry["note"]) == \
        ("reject", "held", "rejected", "offensive", "slur")
    assert entry["actor_id"].startswith("token:") and entry["user_id"] == held.author_id
    by_actor = await client.get(f"{API}/audit", params=site.q(moderator=entry["actor_id"]), headers=mod)
    assert [e["id"] for e in by_actor.json()["entries"]] == [entry["id"]]
    by_user = await client.get(f"{API}/audit", params=site.q(user_id=held.author_id), headers=mod)
    assert entry["id"] in [e["id"] for e in by_user.json()["entries"]]
    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert (await client.get(f"{API}/audit", params=site.q(since=later), headers=mod)).json()["entries"] == []
    with pytest.raises(asyncpg.PostgresError, match="append-only"):
        await db.execute("UPDATE moderation_actions SET note = 'edited' WHERE id = $1", entry["id"])
    with pytest.raises(asyncpg.PostgresError, match="append-only"):
        await db.execute("DELETE FROM moderation_actions WHERE id = $1", entry["id"])
    # the API offers no way to change an entry either
    r = await client.patch(f"{API}/audit", params=site.q(), json={"note": "x"}, headers=mod)
    assert r.status_code == 405
