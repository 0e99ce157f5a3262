"""Statements of reasons (Art. 17 DSA): written in the transaction of every rejection, automatic
hold and ban, whichever path makes it, and read by their author only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.integration.test_notifications import notifier, run_once, to  # noqa: F401
from tests.support.seeding import seed_comment, seed_reader
from tests.support.sites import make_site
from tests.support.smtp_server import smtp_sink  # noqa: F401
from tests.support.tokens import staff_token

API = "/api/v1/moderation"
RULES = {"offensive": "Rule 3: no insults or abuse of other readers.",
         "toxicity_hold": "Rule 9: comments that may break our rules wait for a moderator."}
OUT_OF_COURT = "The Press Complaints Board, https://board.example"


@pytest.fixture
async def site(services, db):
    return await make_site(services, db, settings={"sso_staff_roles": True,
                                                   "dsa": {"rules": RULES, "out_of_court": OUT_OF_COURT}})


@pytest.fixture
async def mod(db, site):
    return {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id)}"}


async def author(db, site, sub: str = "writer") -> tuple[int, dict]:
    return await seed_reader(db, site.id, sub=sub), site.auth(site.sso_token(sub=sub))


async def mine(client, site, headers, **params) -> list[dict]:
    r = await client.get("/api/v1/me/statements", params=site.q(**params), headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "private, no-store"
    return r.json()["items"]


async def test_a_moderators_rejection_gives_its_author_a_statement(client, services, db, site, mod):
    user_id, me = await author(db, site)
    comment = await seed_comment(services, db, site.id, status="published", reason=None, author_id=user_id)
    r = await client.post(f"{API}/comments/{comment.id}/decision", headers=mod,
                          json={"action": "reject", "reason": "offensive", "override": True})
    assert r.status_code == 200, r.text
    [s] = await mine(client, site, me)
    assert (s["restriction"], s["comment_id"], s["article_id"], s["reason_code"]) == (
        "removal", comment.id, "art-1", "offensive")
    assert s["ground"] == RULES["offensive"] and s["reason"] == "Offensive or abusive"
    assert (s["source"], s["automated_detection"], s["automated_decision"]) == ("own_initiative", False, False)
    assert s["redress"]["out_of_court"] == OUT_OF_COURT and "six months" in s["redress"]["internal"]
    assert s["lifted_at"] is None and s["appeal"] is None
    created = datetime.fromisoformat(s["created_at"])
    assert 180 <= (datetime.fromisoformat(s["appeal_until"]) - created).days <= 184
    # the statement quotes the rule as it read then: a later change of the rules leaves it be
    await db.execute("UPDATE sites SET settings = settings - 'dsa' WHERE id = $1", site.id)
    assert (await mine(client, site, me))[0]["ground"] == RULES["offensive"]


async def test_automatic_rejections_and_holds_say_they_were_automated(client, services, db, site):
    user_id, me = await author(db, site)
    rejected = await seed_comment(services, db, site.id, status="rejected", reason="banned_word", author_id=user_id)
    held = await seed_comment(services, db, site.id, status="held", reason="toxicity_hold", author_id=user_id)
    linked = await seed_comment(services, db, site.id, status="held", reason="spam_link", author_id=user_id)
    # a premoderated article's hold restricts nothing for what the comment says: no statement
    await seed_comment(services, db, site.id, status="held", reason="premoderation", author_id=user_id)
    statements = {s["comment_id"]: s for s in await mine(client, site, me)}
    assert set(statements) == {rejected.id, held.id, linked.id}
    assert statements[linked.id]["restriction"] == "visibility_restriction"
    assert statements[rejected.id]["restriction"] == "removal"
    assert statements[held.id]["restriction"] == "visibility_restriction"
    assert statements[held.id]["ground"] == RULES["toxicity_hold"]
    for s in statements.values():
        assert (s["source"], s["automated_detection"], s["automated_decision"]) == ("automated", True, True)


async def test_a_moderator_confirming_an_automatic_hold_is_automated_detection_human_decision(
        client, services, db, site, mod):
    user_id, me = await author(db, site)
    held = await seed_comment(services, db, site.id, status="held", reason="toxicity_hold", author_id=user_id)
    r = await client.post(f"{API}/comments/{held.id}/decision", headers=mod,
                          json={"action": "reject", "reason": "offensive", "override": True})
    assert r.status_code == 200, r.text
    latest, first = await mine(client, site, me)
    assert (latest["restriction"], latest["automated_detection"], latest["automated_decision"]) == (
        "removal", True, False)
    assert first["restriction"] == "visibility_restriction" and first["lifted_at"] is not None


async def test_a_rejection_after_reader_reports_names_them_as_the_source(client, services, db, site, mod):
    user_id, me = await author(db, site)
    comment = await seed_comment(services, db, site.id, status="published", reason=None, author_id=user_id)
    reporter = site.auth(site.sso_token(sub="reporter"))
    await db.execute("UPDATE users SET created_at = now() - interval '1 day' WHERE site_id = $1", site.id)
    await services.sites.save(db, site_id=site.id, name="S", origins=[site.origin, "https://news.example"],
                              sso_secret=site.sso_secret, guests=True, allow_images=False,
                              settings={"sso_staff_roles": True, "reports_from": "anyone",
                                        "dsa": {"rules": RULES}})
    services.sites.forget(site.id)
    r = await client.post(f"/api/v1/comments/{comment.id}/reports", params=site.q(), headers=reporter,
                          json={"reason": "offensive"})
    assert r.status_code == 201, r.text
    await client.post(f"{API}/comments/{comment.id}/decision", headers=mod,
                      json={"action": "reject", "reason": "offensive", "override": True})
    [s] = await mine(client, site, me)
    assert (s["source"], s["automated_detection"]) == ("reader_report", False)


async def test_an_undone_rejection_lifts_its_statement(client, services, db, site, mod):
    user_id, me = await author(db, site)
    comment = await seed_comment(services, db, site.id, status="published", reason=None, author_id=user_id)
    await client.post(f"{API}/comments/{comment.id}/decision", headers=mod,
                      json={"action": "reject", "reason": "offensive", "override": True})
    r = await client.post(f"{API}/comments/{comment.id}/decision", headers=mod, json={"action": "undo"})
    assert r.status_code == 200, r.text
    [s] = await mine(client, site, me)
    assert s["lifted_at"] is not None


async def test_bans_and_suspensions_have_statements_lifted_by_an_unban(client, services, db, site, mod):
    user_id, me = await author(db, site)
    r = await client.post(f"{API}/users/{user_id}/suspend", headers=mod, json={"hours": 48, "reason": "offensive"})
    assert r.status_code == 200, r.text
    [suspension] = await mine(client, site, me)
    assert (suspension["restriction"], suspension["comment_id"], suspension["ground"]) == (
        "suspension", None, RULES["offensive"])
    assert suspension["until"] is not None and suspension["automated_decision"] is False
    r = await client.post(f"{API}/users/{user_id}/ban", headers=mod, json={"reason": "spam"})
    assert r.status_code == 200, r.text
    ban, suspension = await mine(client, site, me)
    assert (ban["restriction"], ban["until"], ban["lifted_at"]) == ("termination", None, None)
    assert suspension["lifted_at"] is not None  # replaced by the ban
    assert (await client.delete(f"{API}/users/{user_id}/ban", headers=mod)).status_code in (200, 204)
    assert all(s["lifted_at"] is not None for s in await mine(client, site, me))


async def test_a_ban_that_rejects_existing_comments_states_each(client, services, db, site, mod):
    user_id, me = await author(db, site)
    comments = [await seed_comment(services, db, site.id, status="published", reason=None, author_id=user_id)
                for _ in range(2)]
    r = await client.post(f"{API}/users/{user_id}/ban", headers=mod, json={"reject_existing": True})
    assert r.status_code == 200, r.text
    statements = await mine(client, site, me)
    assert sorted(s["restriction"] for s in statements) == ["removal", "removal", "termination"]
    assert {s["comment_id"] for s in statements} == {None, *(c.id for c in comments)}


async def test_a_reader_reads_only_their_own_statements(client, services, db, site, mod):
    user_id, me = await author(db, site)
    comment = await seed_comment(services, db, site.id, status="rejected", reason="banned_word", author_id=user_id)
    other = await seed_comment(services, db, site.id, status="rejected", reason="banned_word")
    [s] = await mine(client, site, me)
    assert s["comment_id"] == comment.id
    assert await mine(client, site, me, comment_id=other.id) == []
    assert [x["comment_id"] for x in await mine(client, site, me, comment_id=comment.id)] == [comment.id]
    stranger = site.auth(site.sso_token(sub="stranger"))
    assert await mine(client, site, stranger) == []
    r = await client.get("/api/v1/me/statements", params=site.q())
    assert r.status_code == 401 and r.json()["code"] == "auth_required"
    # the same reader's subject on another site is another reader
    other_site = await make_site(services, db)
    assert await mine(client, other_site, other_site.auth(other_site.sso_token(sub="writer"))) == []


async def test_an_imports_history_writes_no_statements(client, services, db, site):
    async with db.transaction():
        await db.execute("SET LOCAL comments_service.outbox = 'off'")
        comment = await seed_comment(services, db, site.id, status="rejected", reason="banned_word")
    assert await db.fetchval("SELECT count(*) FROM statements_of_reasons WHERE comment_id = $1", comment.id) == 0


@pytest.mark.parametrize("dsa", [
    {"rules": {"Not A Code": "x"}},
    {"rules": {"offensive": ""}},
    {"rules": {"offensive": "x" * 2001}},
    {"out_of_court": 5},
    {"surprise": True},
])
async def test_invalid_dsa_settings_are_refused(client, services, db, dsa):
    site = await make_site(services, db)
    admin = {"Authorization": f"Bearer {await staff_token(db, 'admin', site.id)}"}
    r = await client.patch(f"{API}/sites/{site.id}", headers=admin, json={"dsa": dsa})
    assert r.status_code == 422 and r.json()["code"] == "invalid_site_settings", r.text
    assert "dsa" not in (await db.fetchval("SELECT settings FROM sites WHERE id = $1", site.id))


async def test_an_admin_sets_the_rules_quoted_by_later_statements(client, services, db, site, mod):
    admin = {"Authorization": f"Bearer {await staff_token(db, 'admin', site.id)}"}
    r = await client.patch(f"{API}/sites/{site.id}", headers=admin,
                           json={"dsa": {"rules": {"spam": "Rule 5: no advertising."}}})
    assert r.status_code == 200, r.text
    services.sites.forget(site.id)
    user_id, me = await author(db, site)
    comment = await seed_comment(services, db, site.id, status="published", reason=None, author_id=user_id)
    await client.post(f"{API}/comments/{comment.id}/decision", headers=mod,
                      json={"action": "reject", "reason": "spam", "override": True})
    [s] = await mine(client, site, me)
    assert s["ground"] == "Rule 5: no advertising." and s["redress"]["out_of_court"] is None
    assert datetime.fromisoformat(s["created_at"]) <= datetime.now(UTC)


async def test_a_removal_is_mailed_to_an_author_with_an_address_and_a_hold_is_not(
        client, services, db, site, mod, notifier, smtp_sink):  # noqa: F811
    user_id, me = await author(db, site, sub="mailed")
    address = f"writer-{site.id}@example.org"
    await db.execute("UPDATE users SET email = $2 WHERE id = $1", user_id, address)
    await seed_comment(services, db, site.id, status="held", reason="toxicity_hold", author_id=user_id)
    comment = await seed_comment(services, db, site.id, status="published", reason=None, author_id=user_id)
    await client.post(f"{API}/comments/{comment.id}/decision", headers=mod,
                      json={"action": "reject", "reason": "offensive", "override": True})
    # a guest (no address) gets statements to read, and no email
    guest_comment = await seed_comment(services, db, site.id, status="rejected", reason="banned_word")
    assert await db.fetchval("SELECT count(*) FROM statements_of_reasons WHERE comment_id = $1",
                             guest_comment.id) == 1
    kinds = await db.fetch("SELECT recipient FROM notification_deliveries WHERE kind = 'statement' "
                           "AND site_id = $1", site.id)
    assert [r["recipient"] for r in kinds] == [address]
    await run_once(notifier)
    [message] = to(smtp_sink, address)
    text = message.get_body(("plain",)).get_content()
    assert "We removed your comment" in text and RULES["offensive"] in text
    assert "a person took the decision" in text and OUT_OF_COURT in text and "six months" in text


async def _checks(client, site, headers, **params) -> dict[str, dict]:
    r = await client.get("/api/v1/troubleshoot", params=site.q(**params), headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "private, no-store"  # it may hold the reader's statement
    return {c["id"]: c for c in r.json()["checks"]}


async def test_the_troubleshooter_shows_its_author_the_statement_and_nobody_else_anything(
        client, services, db, site, mod):
    user_id, me = await author(db, site)
    _, other = await author(db, site, sub="bystander")
    comment = await seed_comment(services, db, site.id, status="published", reason=None, author_id=user_id)
    untouched = await seed_comment(services, db, site.id, status="published", reason=None, author_id=user_id)
    r = await client.post(f"{API}/comments/{comment.id}/decision", headers=mod,
                          json={"action": "reject", "reason": "offensive", "override": True})
    assert r.status_code == 200, r.text
    [statement] = await mine(client, site, me)

    own = (await _checks(client, site, me, comment_id=comment.id))["comment"]
    shown = own["data"]["statement"]
    assert (shown["id"], shown["ground"], shown["restriction"]) == (statement["id"], RULES["offensive"], "removal")
    assert "statement of reasons" in own["explanation"] and "appeal by" in own["action"]
    assert "statement" not in (await _checks(client, site, me, comment_id=untouched.id))["comment"].get("data", {})

    # another reader, or nobody, asking about the same comment learns nothing of it: the answer
    # for a removed comment is the one for a comment that never existed
    for headers in (other, {}):
        seen = (await _checks(client, site, headers, comment_id=comment.id))["comment"]
        unknown = (await _checks(client, site, headers, comment_id=comment.id + 10_000))["comment"]
        assert seen == unknown and "data" not in seen

    # once appealed, it says so instead of inviting an appeal
    r = await client.post(f"/api/v1/me/statements/{statement['id']}/appeal", params=site.q(), headers=me,
                          json={"explanation": "I quoted the minister; I did not insult anyone."})
    assert r.status_code == 201, r.text
    own = (await _checks(client, site, me, comment_id=comment.id))["comment"]
    assert own["data"]["statement"]["appeal"]["outcome"] is None and own.get("action") is None


async def test_a_banned_reader_sees_the_bans_statement_in_the_troubleshooter(client, services, db, site, mod):
    user_id, me = await author(db, site)
    r = await client.post(f"{API}/users/{user_id}/suspend", headers=mod, json={"hours": 48, "reason": "spam"})
    assert r.status_code == 200, r.text
    account = (await _checks(client, site, me))["account"]
    assert account["status"] == "problem"
    assert account["data"]["statement"]["restriction"] == "suspension"
    assert "appeal by" in account["action"]
