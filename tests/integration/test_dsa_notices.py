"""Notices of illegal content (Art. 16 DSA) through the API: anyone sends one, moderators list and
decide them, the decision goes through the moderation service and to the notifier's outbox."""

from __future__ import annotations

import re

import pytest

from comments_service.domain.limits import Limit
from comments_service.errors import RateLimited
from comments_service.services.comments import Actor
from tests.integration.test_notifications import notifier, run_once, to  # noqa: F401
from tests.support.seeding import seed_comment
from tests.support.sites import make_site
from tests.support.smtp_server import smtp_sink  # noqa: F401
from tests.support.tokens import staff_token

API = "/api/v1/moderation"


@pytest.fixture
async def mod(db, site):
    return {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id, name='Mia Moderator')}"}


def notice(comment_id: int, /, **extra) -> dict:
    body = {"comment_id": comment_id, "category": "defamation",
            "explanation": "It says I committed a crime, which is false.", "name": "Nora Notifier",
            "email": "nora@example.org", "good_faith": True}
    body.update(extra)
    return {k: v for k, v in body.items() if v is not None}


async def send(client, site, body, headers=None):
    return await client.post("/api/v1/notices", params=site.q(), json=body, headers=headers or {})


async def received(client, site, body) -> dict:
    """The receipt of a notice that must be accepted (the answer's body shown where it was not)."""
    r = await send(client, site, body)
    assert r.status_code == 201, r.text
    return r.json()


async def test_a_guest_sends_a_notice_and_moderators_see_it_open_with_its_clock(client, services, db, site, mod):
    comment = await seed_comment(services, db, site.id, status="published", reason=None, body="A claim")
    r = await send(client, site, notice(comment.id))
    assert r.status_code == 201, r.text
    receipt = r.json()
    assert re.fullmatch(r"N-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", receipt["reference"])
    assert receipt["received_at"] and len(receipt["appeal_key"]) >= 26
    r = await client.get(f"{API}/notices", params=site.q(), headers=mod)
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["open"] == 1
    [item] = page["items"]
    assert item["reference"] == receipt["reference"] and item["category"] == "defamation"
    assert item["notifier_email"] == "nora@example.org" and item["notifier_name"] == "Nora Notifier"
    assert item["comment"]["id"] == comment.id and item["comment"]["body_html"] == "<p>A claim</p>"
    assert item["comment"]["article_id"] == "art-1"
    assert item["age_seconds"] >= 0 and item["decision"] is None


async def test_open_notices_come_first_oldest_first(client, services, db, site, mod):
    comments = [await seed_comment(services, db, site.id, status="published", reason=None) for _ in range(3)]
    refs = [(await received(client, site, notice(c.id)))["reference"] for c in comments]
    await db.execute("UPDATE dsa_notices SET received_at = received_at - interval '1 hour' WHERE reference = $1",
                     refs[2])
    first = await db.fetchval("SELECT id FROM dsa_notices WHERE reference = $1", refs[0])
    r = await client.post(f"{API}/notices/{first}/decision", headers=mod,
                          json={"action": "keep", "explanation": "Opinion, not a statement of fact."})
    assert r.status_code == 200, r.text
    items = (await client.get(f"{API}/notices", params=site.q(), headers=mod)).json()["items"]
    assert [i["reference"] for i in items] == [refs[2], refs[1], refs[0]]
    opened = (await client.get(f"{API}/notices", params=site.q(status="open"), headers=mod)).json()
    assert [i["reference"] for i in opened["items"]] == [refs[2], refs[1]] and opened["open"] == 2


@pytest.mark.parametrize("change,code", [
    ({"good_faith": False}, "good_faith_required"),
    ({"name": None}, "notifier_contact_required"),
    ({"email": None}, "notifier_contact_required"),
    ({"email": "not an address"}, "invalid_email"),
    ({"category": "rude"}, "invalid_request"),
    ({"explanation": ""}, "invalid_request"),
    ({"explanation": "   "}, "invalid_request"),
    ({"explanation": "x" * 5001}, "invalid_request"),
    ({"explanation": "nul \x00 inside"}, "invalid_request"),
    ({"surprise": 1}, "invalid_request"),
    ({"comment_id": 0}, "invalid_request"),
])
async def test_a_bad_notice_is_refused_and_nothing_is_stored(client, services, db, site, change, code):
    comment = await seed_comment(services, db, site.id, status="published", reason=None)
    r = await send(client, site, notice(comment.id, **change))
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["code"] == code, r.text
    assert await db.fetchval("SELECT count(*) FROM dsa_notices WHERE site_id = $1", site.id) == 0


async def test_child_sexual_abuse_material_may_be_notified_anonymously(client, services, db, site):
    comment = await seed_comment(services, db, site.id, status="published", reason=None)
    r = await send(client, site, {"comment_id": comment.id, "category": "child_sexual_abuse_material",
                                  "explanation": "A link to abuse material.", "good_faith": True})
    assert r.status_code == 201, r.text
    row = await db.fetchrow("SELECT notifier_name, notifier_email FROM dsa_notices WHERE reference = $1",
                            r.json()["reference"])
    assert tuple(row) == (None, None)


@pytest.mark.parametrize("status", ["held", "rejected", "deleted"])
async def test_only_a_published_comment_of_the_site_can_be_notified(client, services, db, site, status):
    hidden = await seed_comment(services, db, site.id, status=status, reason="x" if status != "deleted" else None)
    r = await send(client, site, notice(hidden.id))
    assert r.status_code == 404 and r.json()["code"] == "comment_not_found", r.text
    other = await make_site(services, db)
    foreign = await seed_comment(services, db, other.id, status="published", reason=None)
    r = await send(client, site, notice(foreign.id))
    assert r.status_code == 404 and r.json()["code"] == "comment_not_found", r.text
    r = await send(client, site, notice(2**62))
    assert r.status_code == 404 and r.json()["code"] == "comment_not_found", r.text
    assert await db.fetchval("SELECT count(*) FROM dsa_notices WHERE site_id = $1", site.id) == 0


async def test_notices_are_rate_limited_per_reader(client, services, db, site, monkeypatch):
    monkeypatch.setitem(services.limiter.limits, "notice", {"user": Limit(per_seconds=3600.0, burst=2)})
    comments = [await seed_comment(services, db, site.id, status="published", reason=None) for _ in range(4)]
    headers = site.auth(site.sso_token(sub="eager-notifier"))
    assert [(await send(client, site, notice(c.id, email=f"n{c.id}@example.org"), headers)).status_code
            for c in comments[:3]] == [201, 201, 429]
    assert (await send(client, site, notice(comments[3].id), headers)).json()["code"] == "rate_limited"


async def test_one_comment_takes_one_notice_a_day_from_an_address_or_an_email(serve, db):
    """Copies of a notice add nothing for the moderators and would bury the others in their queue.
    (Through the service of an app in this test's loop: the test client has no address of its own.)"""
    async with serve() as live:
        await _one_notice_a_day(live.services, db)


async def _one_notice_a_day(services, db):
    site = await make_site(services, db)
    comment, other = [await seed_comment(services, db, site.id, status="published", reason=None) for _ in range(2)]
    entry = await services.sites.get(site.id)

    async def send_from(ip: str, comment_id: int, email: str = "nora@example.org"):
        return await services.dsa.notify(entry, Actor(identity=None, ip=ip), comment_id=comment_id,
                                         category="defamation", explanation="False and damaging.",
                                         name="Nora Notifier", email=email, good_faith=True)

    await send_from("203.0.113.7", comment.id)
    with pytest.raises(RateLimited):  # again from that address, whoever it says it is
        await send_from("203.0.113.7", comment.id, "someone.else@example.org")
    with pytest.raises(RateLimited):  # the same notifier's email from another address
        await send_from("198.51.100.9", comment.id)
    with pytest.raises(RateLimited):  # an IPv6 subscriber's other addresses are one address
        await send_from("2001:db8:1:2::1", comment.id, "v6@example.org")
        await send_from("2001:db8:1:2::99", comment.id, "v6b@example.org")
    # another notifier from elsewhere, and another comment from the first address, are heard
    await send_from("192.0.2.5", comment.id, "third@example.org")
    await send_from("203.0.113.7", other.id, "fourth@example.org")
    assert await db.fetchval("SELECT count(*) FROM dsa_notices WHERE site_id = $1", site.id) == 4


async def test_few_decisions_a_day_are_mailed_to_one_unconfirmed_address(client, services, db, site):
    comments = [await seed_comment(services, db, site.id, status="published", reason=None) for _ in range(6)]
    codes = [(await send(client, site, notice(c.id, email="victim@example.org"),
                         {"X-Forwarded-For": f"203.0.113.{i + 20}"})).status_code for i, c in enumerate(comments)]
    assert codes == [201] * 5 + [429]


async def test_removing_on_a_notice_rejects_through_moderation_and_tells_the_notifier(client, services, db, site,
                                                                                      mod):
    comment = await seed_comment(services, db, site.id, status="published", reason=None)
    ref = (await received(client, site, notice(comment.id)))["reference"]
    notice_id = await db.fetchval("SELECT id FROM dsa_notices WHERE reference = $1", ref)
    # a removal needs a reason code; refused whole, nothing written
    r = await client.post(f"{API}/notices/{notice_id}/decision", headers=mod,
                          json={"action": "remove", "explanation": "Defamatory."})
    assert r.status_code == 400 and r.json()["code"] == "invalid_request", r.text
    assert await db.fetchval("SELECT status FROM comments WHERE id = $1", comment.id) == "published"
    r = await client.post(f"{API}/notices/{notice_id}/decision", headers=mod,
                          json={"action": "remove", "reason_code": "illegal", "explanation": "Defamatory."})
    assert r.status_code == 200, r.text
    view = r.json()
    assert (view["decision"], view["decision_reason"], view["decided_by_name"]) == ("remove", "illegal",
                                                                                    "Mia Moderator")
    assert view["decided_at"] and view["comment"]["status"] == "rejected"
    thread = (await client.get("/api/v1/articles/art-1/comments", params=site.q())).json()
    assert comment.id not in [c["id"] for c in thread["comments"]]
    actions = await db.fetch("SELECT action, reason FROM moderation_actions WHERE site_id = $1 ORDER BY id", site.id)
    assert [tuple(a) for a in actions] == [("reject", "illegal"), ("notice_decision", "illegal")]
    statement = await db.fetchrow("SELECT source, notice_id, automated_detection, automated_decision, restriction "
                                  "FROM statements_of_reasons WHERE comment_id = $1", comment.id)
    assert tuple(statement) == ("notice", notice_id, False, False, "removal")
    delivery = await db.fetchrow("SELECT channel, recipient, payload FROM notification_deliveries "
                                 "WHERE kind = 'notice_decision' AND site_id = $1", site.id)
    assert (delivery["channel"], delivery["recipient"]) == ("email", "nora@example.org")
    assert delivery["payload"]["decision"] == "remove" and delivery["payload"]["reference"] == ref
    assert delivery["payload"]["appeal_key"] is None  # nothing for the notifier to appeal
    again = await client.post(f"{API}/notices/{notice_id}/decision", headers=mod,
                              json={"action": "keep", "explanation": "Second thoughts."})
    assert again.status_code == 409 and again.json()["code"] == "notice_already_decided"


async def test_keeping_leaves_the_comment_and_gives_the_notifier_the_appeal_key(client, services, db, site, mod):
    comment = await seed_comment(services, db, site.id, status="published", reason=None)
    receipt = await received(client, site, notice(comment.id))
    notice_id = await db.fetchval("SELECT id FROM dsa_notices WHERE reference = $1", receipt["reference"])
    r = await client.post(f"{API}/notices/{notice_id}/decision", headers=mod,
                          json={"action": "keep", "explanation": "Fair comment on a public figure."})
    assert r.status_code == 200 and r.json()["decision"] == "keep", r.text
    assert await db.fetchval("SELECT status FROM comments WHERE id = $1", comment.id) == "published"
    assert await db.fetchval("SELECT count(*) FROM statements_of_reasons WHERE comment_id = $1", comment.id) == 0
    payload = await db.fetchval("SELECT payload FROM notification_deliveries WHERE kind = 'notice_decision' "
                                "AND site_id = $1", site.id)
    assert payload["appeal_key"] == receipt["appeal_key"]


async def test_a_decision_on_a_notice_of_another_site_answers_not_found(client, services, db, site, mod):
    other = await make_site(services, db)
    comment = await seed_comment(services, db, other.id, status="published", reason=None)
    ref = (await received(client, other, notice(comment.id)))["reference"]
    notice_id = await db.fetchval("SELECT id FROM dsa_notices WHERE reference = $1", ref)
    r = await client.post(f"{API}/notices/{notice_id}/decision", headers=mod,
                          json={"action": "remove", "reason_code": "illegal", "explanation": "No."})
    assert r.status_code == 404 and r.json()["code"] == "notice_not_found"
    r = await client.get(f"{API}/notices", params=other.q(), headers=mod)
    assert r.status_code == 403
    assert await db.fetchval("SELECT status FROM comments WHERE id = $1", comment.id) == "published"


async def test_the_decision_email_reaches_the_notifier(client, services, db, site, mod,
                                                      notifier, smtp_sink):  # noqa: F811
    comment = await seed_comment(services, db, site.id, status="published", reason=None)
    address = f"nora-{site.id}@example.org"
    receipt = await received(client, site, notice(comment.id, email=address))
    notice_id = await db.fetchval("SELECT id FROM dsa_notices WHERE reference = $1", receipt["reference"])
    await client.post(f"{API}/notices/{notice_id}/decision", headers=mod,
                      json={"action": "keep", "explanation": "Fair <comment> on a public figure."})
    await run_once(notifier)
    [message] = to(smtp_sink, address)
    assert receipt["reference"] in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert receipt["appeal_key"] in text and "six months" in text
    assert "Fair <comment>" in text and "Fair &lt;comment&gt;" in html
    assert await db.fetchval("SELECT state FROM notification_deliveries WHERE kind = 'notice_decision' "
                             "AND recipient = $1", address) == "sent"


async def test_a_removal_that_cannot_be_made_leaves_the_notice_open_and_nothing_written(client, services, db, site,
                                                                                       mod):
    comment = await seed_comment(services, db, site.id, status="published", reason=None)
    ref = (await received(client, site, notice(comment.id)))["reference"]
    notice_id = await db.fetchval("SELECT id FROM dsa_notices WHERE reference = $1", ref)
    # its author took it down meanwhile
    await db.execute("UPDATE comments SET status = 'deleted', deleted_at = now() WHERE id = $1", comment.id)
    r = await client.post(f"{API}/notices/{notice_id}/decision", headers=mod,
                          json={"action": "remove", "reason_code": "illegal", "explanation": "Defamatory."})
    assert r.status_code == 409 and r.json()["code"] == "not_decidable", r.text
    row = await db.fetchrow("SELECT decision, decided_at FROM dsa_notices WHERE id = $1", notice_id)
    assert tuple(row) == (None, None)
    assert await db.fetchval("SELECT count(*) FROM moderation_actions WHERE site_id = $1", site.id) == 0
    assert await db.fetchval("SELECT count(*) FROM notification_deliveries WHERE kind = 'notice_decision' "
                             "AND site_id = $1", site.id) == 0
    # keeping it is still a decision the notifier is owed
    r = await client.post(f"{API}/notices/{notice_id}/decision", headers=mod,
                          json={"action": "keep", "explanation": "Already taken down by its author."})
    assert r.status_code == 200 and r.json()["comment"]["status"] == "deleted", r.text
