"""Shadow restriction through HTTP with a real scoring worker: a moderator restricts a reader on a
site that offers it, their new comments are held and shown to them alone, and everything that
answers the reader's questions (the statement of reasons, the troubleshooter, their data) says so."""

from __future__ import annotations

import pytest

from tests.integration.test_troubleshoot import checks_of
from tests.support.apps import scoring_app
from tests.support.scoring import NO_THRESHOLDS
from tests.support.seeding import set_site_policy
from tests.support.sites import article_body, make_site
from tests.support.tokens import staff_token

API = "/api/v1/moderation"
RULE = "Rule 7: accounts that post spam or harass may be restricted."
DSA = {"rules": {"shadow_restricted": RULE}}


@pytest.fixture(scope="module")
async def api(storage, database, worker):
    async with scoring_app(storage, COMMENTS_DECISION_WAIT_MS="10000") as client:
        yield client


def settings(shadow: bool) -> dict:
    return {"dsa": DSA, "moderation": {**NO_THRESHOLDS["moderation"], "shadow_restriction": shadow}}


@pytest.fixture
async def site(services, db):
    made = await make_site(services, db)
    await set_site_policy(db, made.id, settings(False))
    return made


async def post(api, site, text, sub="writer", article="a1") -> dict:
    r = await api.post(f"/api/v1/articles/{article}/comments", params=site.q(), json=article_body(text),
                       headers=site.auth(site.sso_token(sub=sub)))
    assert r.status_code == 201, r.text
    return r.json()


async def thread(api, site, sub: str, article="a1") -> dict:
    r = await api.get(f"/api/v1/articles/{article}/comments", params=site.q(),
                      headers=site.auth(site.sso_token(sub=sub)))
    assert r.status_code == 200, r.text
    return r.json()


async def restrict(api, mod, user_id: int, on: bool):
    return await api.patch(f"{API}/users/{user_id}", headers=mod, json={"shadow_restricted": on})


async def test_a_restricted_readers_new_comments_show_to_them_alone_and_they_are_told_when_they_ask(
        api, db, site):
    mod = {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id)}"}
    first = await post(api, site, "The harbour reopened on Monday, the port authority said.")
    assert first["status"] == "published"
    user_id = first["user"]["id"]

    # off by default: the action is refused, and nothing changes
    r = await restrict(api, mod, user_id, True)
    assert r.status_code == 409 and r.json()["code"] == "shadow_restriction_off", r.text
    assert await db.fetchval("SELECT shadow_restricted FROM users WHERE id = $1", user_id) is False

    await set_site_policy(db, site.id, settings(True))
    r = await restrict(api, mod, user_id, True)
    assert r.status_code == 200 and r.json()["shadow_restricted"] is True, r.text
    audit = await db.fetch("SELECT action, actor_id FROM moderation_actions WHERE site_id = $1 AND user_id = $2",
                           site.id, user_id)
    assert [a["action"] for a in audit] == ["shadow_restrict"]
    # what was published before stays published
    assert await db.fetchval("SELECT status FROM comments WHERE id = $1", first["comment"]["id"]) == "published"

    posted = await post(api, site, "Another perfectly civil remark about the harbour.")
    cid = posted["comment"]["id"]
    assert posted["status"] == "held" and posted["comment"]["restricted"] is True
    # no claim that it is published, nor that others see it
    assert posted["message"] == "Your comment is posted."
    assert await db.fetchval("SELECT status_reason FROM comments WHERE id = $1", cid) == "shadow_restricted"

    mine = await thread(api, site, "writer")
    assert [c["id"] for c in mine["comments"]] == [first["comment"]["id"]]
    assert [(c["id"], c["status"], c["restricted"]) for c in mine["own_pending"]] == [(cid, "held", True)]
    other = await thread(api, site, "someone-else")
    assert [c["id"] for c in other["comments"]] == [first["comment"]["id"]] and other["own_pending"] == []
    assert other["article"]["comment_count"] == 1
    counts = (await api.post("/api/v1/counts", params=site.q(), json={"article_ids": ["a1"]})).json()
    assert counts["counts"] == {"a1": 1}

    # moderators find it in the queue with its reason
    r = await api.get(f"{API}/queue", params=site.q(state="held"), headers=mod)
    assert r.status_code == 200, r.text
    assert [(i["comment"]["id"], i["comment"]["status_reason"]) for i in r.json()["items"]] == [
        (cid, "shadow_restricted")]

    me = site.auth(site.sso_token(sub="writer"))
    # the statement of reasons, as for any hold of what a reader wrote
    r = await api.get("/api/v1/me/statements", params=site.q(), headers=me)
    assert r.status_code == 200, r.text
    [statement] = r.json()["items"]
    assert (statement["comment_id"], statement["reason_code"], statement["restriction"], statement["ground"]) == (
        cid, "shadow_restricted", "visibility_restriction", RULE)
    # a moderator's decision about the author, applied to this comment by the system: no automated detection
    assert (statement["source"], statement["automated_detection"], statement["automated_decision"]) == (
        "own_initiative", False, True)
    assert statement["lifted_at"] is None

    # the troubleshooter says it plainly, for the account and for the comment
    r = await api.get("/api/v1/troubleshoot", params=site.q(article_id="a1"), headers=me)
    assert r.status_code == 200, r.text
    checks = checks_of(r.json())
    assert checks["account"]["status"] == "problem"
    assert "restricted your account" in checks["account"]["explanation"]
    assert "shown to you alone" in checks["account"]["explanation"]
    assert "Restricted: a moderator limited this account" in str(r.json())

    # and so does their data
    r = await api.get("/api/v1/me/data", params=site.q(), headers=me)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["shadow_restricted"] is True
    assert {c["id"]: c["status_reason"] for c in data["comments"]}[cid] == "shadow_restricted"

    # lifted: the next comment is judged as any other; the held one waits for a moderator
    r = await restrict(api, mod, user_id, False)
    assert r.status_code == 200 and r.json()["shadow_restricted"] is False, r.text
    audit = await db.fetch("SELECT action FROM moderation_actions WHERE site_id = $1 AND user_id = $2 ORDER BY id",
                           site.id, user_id)
    assert [a["action"] for a in audit] == ["shadow_restrict", "lift_shadow_restriction"]
    later = await post(api, site, "One more civil remark, now that the ferries run again.")
    assert later["status"] == "published" and later["comment"]["restricted"] is False
    assert await db.fetchval("SELECT status FROM comments WHERE id = $1", cid) == "held"


async def test_turning_the_option_off_holds_nothing_more_and_lifting_is_never_refused(api, db, site):
    mod = {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id)}"}
    await set_site_policy(db, site.id, settings(True))
    first = await post(api, site, "A first civil remark.", sub="later")
    user_id = first["user"]["id"]
    assert (await restrict(api, mod, user_id, True)).status_code == 200
    held = await post(api, site, "Held while restricted.", sub="later")
    assert held["status"] == "held"
    # a moderator who then removes it decides by hand what no machine detected
    r = await api.post(f"{API}/comments/{held['comment']['id']}/decision", headers=mod,
                       json={"action": "reject", "reason": "spam"})
    assert r.status_code == 200, r.text
    r = await api.get("/api/v1/me/statements", params=site.q(), headers=site.auth(site.sso_token(sub="later")))
    latest, first_statement = r.json()["items"]
    assert (latest["restriction"], latest["source"], latest["automated_detection"], latest["automated_decision"]) \
        == ("removal", "own_initiative", False, False)
    assert first_statement["reason_code"] == "shadow_restricted" and first_statement["lifted_at"] is not None

    await set_site_policy(db, site.id, settings(False))
    assert (await post(api, site, "Judged as any other once the site stops offering it.", sub="later"))[
        "status"] == "published"
    r = await restrict(api, mod, user_id, False)
    assert r.status_code == 200 and r.json()["shadow_restricted"] is False, r.text


async def test_a_moderator_of_another_site_cannot_restrict(api, services, db, site):
    await set_site_policy(db, site.id, settings(True))
    first = await post(api, site, "A civil remark.", sub="guarded")
    other = await make_site(services, db)
    stranger = {"Authorization": f"Bearer {await staff_token(db, 'moderator', other.id)}"}
    r = await restrict(api, stranger, first["user"]["id"], True)
    assert r.status_code in (403, 404), r.text
    assert await db.fetchval("SELECT shadow_restricted FROM users WHERE id = $1", first["user"]["id"]) is False
