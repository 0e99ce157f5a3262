"""Appeals (Art. 20 DSA): an author's against a statement of reasons, a notifier's against a notice
kept; decided by a person other than the one who took the decision, reversing through the
moderation services; and the transparency report over all of it (Art. 15/24)."""

from __future__ import annotations

import csv
import io

import pytest

from tests.support.seeding import seed_comment, seed_reader
from tests.support.sites import make_site
from tests.support.tokens import staff_token

API = "/api/v1/moderation"


@pytest.fixture
async def mod(db, site):
    return {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id, name='First Mod')}"}


@pytest.fixture
async def mod2(db, site):
    return {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id, name='Second Mod')}"}


async def rejected_comment(client, services, db, site, mod, sub="writer", email=None):
    user_id = await seed_reader(db, site.id, sub=sub)
    if email:
        await db.execute("UPDATE users SET email = $2 WHERE id = $1", user_id, email)
    comment = await seed_comment(services, db, site.id, status="published", reason=None, author_id=user_id)
    r = await client.post(f"{API}/comments/{comment.id}/decision", headers=mod,
                          json={"action": "reject", "reason": "offensive", "override": True})
    assert r.status_code == 200, r.text
    me = site.auth(site.sso_token(sub=sub))
    [statement] = (await client.get("/api/v1/me/statements", params=site.q(), headers=me)).json()["items"]
    return comment, statement, me


async def appeal(client, site, statement_id, headers, text="I quoted the article; it was not an insult."):
    return await client.post(f"/api/v1/me/statements/{statement_id}/appeal", params=site.q(), headers=headers,
                             json={"explanation": text})


async def test_an_author_appeals_and_another_moderator_reverses(client, services, db, site, mod, mod2):
    comment, statement, me = await rejected_comment(client, services, db, site, mod, email="writer@example.org")
    r = await appeal(client, site, statement["id"], me)
    assert r.status_code == 201 and r.json()["state"] == "received", r.text
    again = await appeal(client, site, statement["id"], me)
    assert again.status_code == 409 and again.json()["code"] == "already_appealed"
    listed = (await client.get(f"{API}/appeals", params=site.q(), headers=mod2)).json()
    assert listed["open"] == 1
    [item] = listed["items"]
    assert item["appellant"] == "author" and item["statement"]["comment_id"] == comment.id
    assert item["first_decided_by"].startswith("token:") and item["first_decided_by_name"] == "First Mod"
    # the one who took the decision does not decide the appeal against it
    r = await client.post(f"{API}/appeals/{item['id']}/decision", headers=mod,
                          json={"outcome": "reverse", "explanation": "Fine."})
    assert r.status_code == 409 and r.json()["code"] == "appeal_same_decider", r.text
    assert await db.fetchval("SELECT status FROM comments WHERE id = $1", comment.id) == "rejected"
    r = await client.post(f"{API}/appeals/{item['id']}/decision", headers=mod2,
                          json={"outcome": "reverse", "explanation": "A quotation, not an insult."})
    assert r.status_code == 200, r.text
    assert (r.json()["outcome"], r.json()["decided_by_name"]) == ("reverse", "Second Mod")
    assert await db.fetchval("SELECT status FROM comments WHERE id = $1", comment.id) == "published"
    thread = (await client.get("/api/v1/articles/art-1/comments", params=site.q())).json()
    assert comment.id in [c["id"] for c in thread["comments"]]
    [mine] = (await client.get("/api/v1/me/statements", params=site.q(), headers=me)).json()["items"]
    assert mine["lifted_at"] is not None
    assert (mine["appeal"]["outcome"], mine["appeal"]["explanation"]) == ("reverse", "A quotation, not an insult.")
    actions = [r["action"] for r in await db.fetch(
        "SELECT action FROM moderation_actions WHERE site_id = $1 ORDER BY id", site.id)]
    assert actions == ["reject", "approve", "appeal_decision"]
    mail = await db.fetchrow("SELECT recipient, payload FROM notification_deliveries WHERE kind = 'appeal_decision' "
                             "AND site_id = $1", site.id)
    assert mail["recipient"] == "writer@example.org" and mail["payload"]["outcome"] == "reverse"
    twice = await client.post(f"{API}/appeals/{item['id']}/decision", headers=mod2,
                              json={"outcome": "confirm", "explanation": "Changed my mind."})
    assert twice.status_code == 409 and twice.json()["code"] == "appeal_already_decided"


async def test_an_authors_appeal_against_a_removal_on_notice_is_told_to_both(client, services, db, site, mod,
                                                                           mod2):
    """The author appeals a removal that answered a notice; once it is decided, the author and the
    notifier each get the outcome with its reasons."""
    user_id = await seed_reader(db, site.id, sub="writer")
    await db.execute("UPDATE users SET email = 'writer@example.org' WHERE id = $1", user_id)
    comment = await seed_comment(services, db, site.id, status="published", reason=None, author_id=user_id)
    r = await client.post("/api/v1/notices", params=site.q(), json={
        "comment_id": comment.id, "category": "illegal_hate_speech", "explanation": "It incites hatred.",
        "name": "Nora Notifier", "email": "nora@example.org", "good_faith": True})
    assert r.status_code == 201, r.text
    notice_id = await db.fetchval("SELECT id FROM dsa_notices WHERE reference = $1", r.json()["reference"])
    r = await client.post(f"{API}/notices/{notice_id}/decision", headers=mod,
                          json={"action": "remove", "reason_code": "illegal", "explanation": "Hate speech."})
    assert r.status_code == 200, r.text
    me = site.auth(site.sso_token(sub="writer"))
    [statement] = (await client.get("/api/v1/me/statements", params=site.q(), headers=me)).json()["items"]
    assert statement["source"] == "notice"
    assert (await appeal(client, site, statement["id"], me)).status_code == 201
    [item] = (await client.get(f"{API}/appeals", params=site.q(), headers=mod2)).json()["items"]
    r = await client.post(f"{API}/appeals/{item['id']}/decision", headers=mod2,
                          json={"outcome": "reverse", "explanation": "Sharp, but not hatred."})
    assert r.status_code == 200, r.text
    told = {row["recipient"]: row["payload"] for row in await db.fetch(
        "SELECT recipient, payload FROM notification_deliveries WHERE kind = 'appeal_decision' AND site_id = $1",
        site.id)}
    assert set(told) == {"writer@example.org", "nora@example.org"}
    assert (told["writer@example.org"]["to"], told["nora@example.org"]["to"]) == ("author", "notifier")
    assert all(p["outcome"] == "reverse" and p["appellant"] == "author" for p in told.values())


async def test_a_confirmed_appeal_leaves_the_decision(client, services, db, site, mod, mod2):
    comment, statement, me = await rejected_comment(client, services, db, site, mod)
    await appeal(client, site, statement["id"], me)
    appeal_id = await db.fetchval("SELECT id FROM dsa_appeals WHERE statement_id = $1", statement["id"])
    r = await client.post(f"{API}/appeals/{appeal_id}/decision", headers=mod2,
                          json={"outcome": "confirm", "explanation": "It insults another reader by name."})
    assert r.status_code == 200, r.text
    assert await db.fetchval("SELECT status FROM comments WHERE id = $1", comment.id) == "rejected"
    [mine] = (await client.get("/api/v1/me/statements", params=site.q(), headers=me)).json()["items"]
    assert mine["lifted_at"] is None and mine["appeal"]["outcome"] == "confirm"
    # a guest author has no address: no email is queued
    assert await db.fetchval("SELECT count(*) FROM notification_deliveries WHERE kind = 'appeal_decision' "
                             "AND site_id = $1", site.id) == 0


async def test_an_automated_decision_may_be_decided_by_any_moderator(client, services, db, site, mod):
    user_id = await seed_reader(db, site.id, sub="auto")
    comment = await seed_comment(services, db, site.id, status="held", reason="toxicity_hold", author_id=user_id)
    me = site.auth(site.sso_token(sub="auto"))
    [statement] = (await client.get("/api/v1/me/statements", params=site.q(), headers=me)).json()["items"]
    assert (await appeal(client, site, statement["id"], me)).status_code == 201
    [item] = (await client.get(f"{API}/appeals", params=site.q(), headers=mod)).json()["items"]
    assert item["first_decided_by"] is None and item["statement"]["automated_decision"] is True
    r = await client.post(f"{API}/appeals/{item['id']}/decision", headers=mod,
                          json={"outcome": "reverse", "explanation": "The model misread sarcasm."})
    assert r.status_code == 200, r.text
    assert await db.fetchval("SELECT status FROM comments WHERE id = $1", comment.id) == "published"


async def test_a_ban_reversed_on_appeal_is_lifted(client, services, db, site, mod, mod2):
    user_id = await seed_reader(db, site.id, sub="banned")
    r = await client.post(f"{API}/users/{user_id}/ban", headers=mod, json={"reason": "spam"})
    assert r.status_code == 200, r.text
    me = site.auth(site.sso_token(sub="banned"))
    [statement] = (await client.get("/api/v1/me/statements", params=site.q(), headers=me)).json()["items"]
    assert (await appeal(client, site, statement["id"], me)).status_code == 201
    appeal_id = await db.fetchval("SELECT id FROM dsa_appeals WHERE statement_id = $1", statement["id"])
    r = await client.post(f"{API}/appeals/{appeal_id}/decision", headers=mod2,
                          json={"outcome": "reverse", "explanation": "Mistaken identity."})
    assert r.status_code == 200, r.text
    assert (await client.get("/api/v1/me", params=site.q(), headers=me)).json()["banned"] is False
    assert await db.fetchval("SELECT count(*) FROM bans WHERE user_id = $1", user_id) == 0


async def test_appeals_are_for_the_author_within_six_months_of_a_restriction_in_force(client, services, db, site,
                                                                                     mod):
    comment, statement, me = await rejected_comment(client, services, db, site, mod)
    stranger = site.auth(site.sso_token(sub="stranger"))
    r = await appeal(client, site, statement["id"], stranger)
    assert r.status_code == 404 and r.json()["code"] == "statement_not_found"
    r = await client.post(f"/api/v1/me/statements/{statement['id']}/appeal", params=site.q(),
                          json={"explanation": "x"})
    assert r.status_code == 401 and r.json()["code"] == "auth_required"
    other = await make_site(services, db)
    r = await appeal(client, other, statement["id"], other.auth(other.sso_token(sub="writer")))
    assert r.status_code == 404 and r.json()["code"] == "statement_not_found"
    for bad in ({"explanation": ""}, {"explanation": "x" * 5001}, {"explanation": "ok", "more": 1}, {}):
        r = await client.post(f"/api/v1/me/statements/{statement['id']}/appeal", params=site.q(), headers=me,
                              json=bad)
        assert r.status_code == 400 and r.json()["code"] == "invalid_request", (bad, r.text)
    await db.execute("UPDATE statements_of_reasons SET created_at = now() - interval '7 months' WHERE id = $1",
                     statement["id"])
    r = await appeal(client, site, statement["id"], me)
    assert r.status_code == 409 and r.json()["code"] == "appeal_too_late"
    await db.execute("UPDATE statements_of_reasons SET created_at = now(), lifted_at = now() WHERE id = $1",
                     statement["id"])
    r = await appeal(client, site, statement["id"], me)
    assert r.status_code == 409 and r.json()["code"] == "statement_lifted"
    assert await db.fetchval("SELECT count(*) FROM dsa_appeals WHERE site_id = $1", site.id) == 0


async def notice_kept(client, services, db, site, mod) -> tuple[int, dict]:
    comment = await seed_comment(services, db, site.id, status="published", reason=None)
    receipt = (await client.post("/api/v1/notices", params=site.q(), json={
        "comment_id": comment.id, "category": "illegal_hate_speech", "explanation": "Incites hatred.",
        "name": "Nora", "email": "nora@example.org", "good_faith": True})).json()
    notice_id = await db.fetchval("SELECT id FROM dsa_notices WHERE reference = $1", receipt["reference"])
    return comment.id, {**receipt, "id": notice_id}


async def test_a_notifier_appeals_a_notice_kept_with_their_reference_and_key(client, services, db, site, mod, mod2):
    comment_id, receipt = await notice_kept(client, services, db, site, mod)
    url = f"/api/v1/notices/{receipt['reference']}/appeal"
    body = {"appeal_key": receipt["appeal_key"], "explanation": "It calls for violence against a group."}
    r = await client.post(url, params=site.q(), json=body)
    assert r.status_code == 409 and r.json()["code"] == "notice_not_appealable"  # not decided yet
    r = await client.post(f"{API}/notices/{receipt['id']}/decision", headers=mod,
                          json={"action": "keep", "explanation": "Strong words, not incitement."})
    assert r.status_code == 200, r.text
    wrong = {**body, "appeal_key": "A" * 26}
    r = await client.post(url, params=site.q(), json=wrong)
    assert r.status_code == 403 and r.json()["code"] == "appeal_key_invalid"
    other = await make_site(services, db)
    r = await client.post(url, params=other.q(), json=body)  # a key is for its own site's notice
    assert r.status_code == 403 and r.json()["code"] == "appeal_key_invalid"
    r = await client.post(url, params=site.q(), json=body)
    assert r.status_code == 201, r.text
    assert (await client.post(url, params=site.q(), json=body)).json()["code"] == "already_appealed"
    [item] = (await client.get(f"{API}/appeals", params=site.q(), headers=mod2)).json()["items"]
    assert item["appellant"] == "notifier" and item["notice"]["reference"] == receipt["reference"]
    assert item["first_decided_by_name"] == "First Mod"
    r = await client.post(f"{API}/appeals/{item['id']}/decision", headers=mod,
                          json={"outcome": "reverse", "explanation": "x"})
    assert r.json()["code"] == "appeal_same_decider"
    r = await client.post(f"{API}/appeals/{item['id']}/decision", headers=mod2,
                          json={"outcome": "reverse", "explanation": "On a second reading, it incites."})
    assert r.status_code == 200, r.text
    assert await db.fetchval("SELECT status FROM comments WHERE id = $1", comment_id) == "rejected"
    source = await db.fetchval("SELECT source FROM statements_of_reasons WHERE comment_id = $1", comment_id)
    assert source == "notice"
    mail = await db.fetchrow("SELECT recipient, payload FROM notification_deliveries WHERE kind = 'appeal_decision' "
                             "AND site_id = $1", site.id)
    assert mail["recipient"] == "nora@example.org" and mail["payload"]["to"] == "notifier"


async def test_a_notifiers_appeal_is_upheld_even_after_the_author_deleted_the_comment(client, services, db, site,
                                                                                      mod, mod2):
    comment_id, receipt = await notice_kept(client, services, db, site, mod)
    r = await client.post(f"{API}/notices/{receipt['id']}/decision", headers=mod,
                          json={"action": "keep", "explanation": "Strong words, not incitement."})
    assert r.status_code == 200, r.text
    r = await client.post(f"/api/v1/notices/{receipt['reference']}/appeal", params=site.q(),
                          json={"appeal_key": receipt["appeal_key"], "explanation": "It incites."})
    assert r.status_code == 201, r.text
    await db.execute("UPDATE comments SET status = 'deleted', deleted_at = now() WHERE id = $1", comment_id)
    [item] = (await client.get(f"{API}/appeals", params=site.q(), headers=mod2)).json()["items"]
    r = await client.post(f"{API}/appeals/{item['id']}/decision", headers=mod2,
                          json={"outcome": "reverse", "explanation": "It incites; it is gone already."})
    assert r.status_code == 200 and r.json()["outcome"] == "reverse", r.text
    assert await db.fetchval("SELECT status FROM comments WHERE id = $1", comment_id) == "deleted"


@pytest.mark.parametrize("reference", ["N-AAAA", "n-aaaa-aaaa", "N-AAAA-AAAA-AAAA", "%00"])
async def test_a_malformed_reference_is_refused(client, site, reference):
    r = await client.post(f"/api/v1/notices/{reference}/appeal", params=site.q(),
                          json={"appeal_key": "A" * 26, "explanation": "x"})
    assert r.status_code in (400, 404) and r.json()["code"] in ("invalid_request", "not_found"), r.text


async def test_the_transparency_report_counts_notices_actions_appeals_and_bans(client, services, db, site, mod,
                                                                              mod2):
    admin = {"Authorization": f"Bearer {await staff_token(db, 'admin', site.id)}"}
    comment_id, receipt = await notice_kept(client, services, db, site, mod)
    await client.post(f"{API}/notices/{receipt['id']}/decision", headers=mod,
                      json={"action": "remove", "reason_code": "illegal", "explanation": "Incitement."})
    await seed_comment(services, db, site.id, status="rejected", reason="banned_word")
    _, statement, me = await rejected_comment(client, services, db, site, mod, sub="appellant")
    await appeal(client, site, statement["id"], me)
    appeal_id = await db.fetchval("SELECT id FROM dsa_appeals WHERE statement_id = $1", statement["id"])
    await client.post(f"{API}/appeals/{appeal_id}/decision", headers=mod2,
                      json={"outcome": "confirm", "explanation": "Stands."})
    user_id = await seed_reader(db, site.id, sub="suspended")
    await client.post(f"{API}/users/{user_id}/suspend", headers=mod, json={"hours": 5})
    r = await client.get(f"{API}/transparency", params=site.q(), headers=admin)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["notices_by_category"] == {"illegal_hate_speech": 1}
    assert report["notices_decided"] == {"remove": 1}
    assert report["median_notice_to_decision_seconds"] >= 0
    assert report["actions_by_reason"] == {"illegal": 1, "banned_word": 1, "offensive": 1}
    assert report["source"] == {"notice": 1, "automated": 1, "own_initiative": 2}
    assert report["detection"] == {"automated": 1, "human": 3}
    assert report["decision"] == {"automated": 1, "human": 3}
    assert report["appeals_received"] == 1 and report["appeals_by_outcome"] == {"confirm": 1}
    assert report["bans"] == {"suspension": 1}
    r = await client.get(f"{API}/transparency", params=site.q(format="csv"), headers=admin)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["section", "key", "value"]
    assert ["notices_by_category", "illegal_hate_speech", "1"] in rows and ["bans", "suspension", "1"] in rows
    # a period before any of it counts nothing
    empty = (await client.get(f"{API}/transparency", headers=admin, params=site.q(
        **{"from": "2020-01-01T00:00:00Z", "to": "2020-12-31T00:00:00Z"}))).json()
    assert empty["notices_by_category"] == {} and empty["appeals_received"] == 0
    moderator = await client.get(f"{API}/transparency", params=site.q(), headers=mod)
    assert moderator.status_code == 403
    for bad in ({"from": "2026-01-01T00:00:00Z", "to": "2025-01-01T00:00:00Z"},
                {"from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
                {"from": "2026-01-01T00:00:00"}, {"from": "yesterday"}, {"format": "xml"},
                {"to": "0001-01-01T00:00:00Z"}):
        r = await client.get(f"{API}/transparency", params=site.q(**bad), headers=admin)
        assert r.status_code == 400 and r.json()["code"] == "invalid_request", (bad, r.text)
