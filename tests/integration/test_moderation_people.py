"""The moderators' view of readers through HTTP: finding them, the author drawer's profile, private
notes, suspensions, and what another site's staff get."""

from __future__ import annotations

import pytest

from comments_service.services.people import NOTES_CAP
from tests.support.seeding import seed_comment, seed_reader
from tests.support.sites import article_body, make_site
from tests.support.tokens import staff_token

API = "/api/v1/moderation"


@pytest.fixture
async def mod(db, site):
    return {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id)}"}


async def post(client, site, token, article="art-1", text="Hello"):
    return await client.post(f"/api/v1/articles/{article}/comments", params=site.q(), json=article_body(text),
                             headers=site.auth(token))


async def search(client, site, mod, q, **params):
    r = await client.get(f"{API}/people", params=site.q(q=q, **params), headers=mod)
    assert r.status_code == 200, r.text
    return r.json()


async def test_search_by_name_prefix_user_id_and_sso_subject(client, services, db, site, mod):
    alice = await seed_reader(db, site.id, sub="sub-alice-77", name="Alice Martin")
    alicia = await seed_reader(db, site.id, name="alicia")
    alibaba = await seed_reader(db, site.id, name="ALIBABA")
    await seed_reader(db, site.id, name="Bob")
    al_ice = await seed_reader(db, site.id, name="Al_ice")
    other = await make_site(services, db)
    await seed_reader(db, other.id, name="Alien from elsewhere")

    # any case, byte order of the lower-cased name, never another site's readers
    found = await search(client, site, mod, "ALI")
    assert [(p["user_id"], p["matched_by"]) for p in found["people"]] == \
        [(alibaba, "name"), (alice, "name"), (alicia, "name")]
    assert found["more"] is False
    assert found["people"][1] | {"created_at": None} == {
        "user_id": alice, "site_id": site.id, "name": "Alice Martin", "kind": "sso", "subject": "sub-alice-77",
        "matched_by": "name", "banned": False, "banned_until": None, "trusted": False, "premoderated": False,
        "created_at": None}
    # a short page says there is more
    page = await search(client, site, mod, "al", limit=2)
    assert [p["user_id"] for p in page["people"]] == [al_ice, alibaba] and page["more"] is True
    eloise = await seed_reader(db, site.id, name="Éloïse")
    assert [p["user_id"] for p in (await search(client, site, mod, "éLO"))["people"]] == [eloise]
    # LIKE's wildcards are plain characters in a name
    assert [p["name"] for p in (await search(client, site, mod, "al_"))["people"]] == ["Al_ice"]
    assert (await search(client, site, mod, "%"))["people"] == []
    # an exact user id and an exact SSO subject
    assert [(p["user_id"], p["matched_by"]) for p in (await search(client, site, mod, str(alicia)))["people"]] == \
        [(alicia, "id")]
    assert [(p["user_id"], p["matched_by"]) for p in (await search(client, site, mod, "sub-alice-77"))["people"]] \
        == [(alice, "subject")]
    assert (await search(client, site, mod, "sub-alice"))["people"] == []
    # another site's user id is not found here
    stranger = await seed_reader(db, other.id, name="Zed")
    assert (await search(client, site, mod, str(stranger)))["people"] == []
    assert (await search(client, site, mod, "   "))["people"] == []
    assert (await search(client, site, mod, "9" * 40))["people"] == []
    # a banned reader says so
    await client.post(f"{API}/users/{alice}/ban", params=site.q(), json={"reason": "abuse"}, headers=mod)
    assert (await search(client, site, mod, "alice"))["people"][0]["banned"] is True

    r = await client.get(f"{API}/people", params=site.q(), headers=mod)
    assert r.status_code == 400
    r = await client.get(f"{API}/people", params=site.q(q="x" * 201), headers=mod)
    assert r.status_code == 400
    admin = {"Authorization": f"Bearer {await staff_token(db, 'admin')}"}
    r = await client.get(f"{API}/people", params={"q": "ali"}, headers=admin)
    assert r.status_code == 400 and r.json()["code"] == "site_required"


async def test_name_search_reads_one_index_range(client, services, db, site):
    """With many readers the name search is one range of users_name_prefix, in a generic plan too."""
    await db.execute("""INSERT INTO users (site_id, kind, external_id, display_name)
        SELECT $1, 'sso', 'bulk-' || g, 'Reader ' || g FROM generate_series(1, 20000) g""", site.id)
    await db.execute("ANALYZE users")
    from comments_service.db.people import SEARCH
    await db.execute("SET plan_cache_mode = force_generic_plan")
    try:
        await db.execute(f"PREPARE people_search(text, bigint, text, text, int) AS {SEARCH}")
        plan = "\n".join(r[0] for r in await db.fetch(
            f"EXPLAIN EXECUTE people_search('{site.id}', NULL, 'reader 1', 'reader 1', 21)"))
        await db.execute("DEALLOCATE people_search")
    finally:
        await db.execute("RESET plan_cache_mode")
    assert "users_name_prefix" in plan, plan
    assert "Seq Scan on users" not in plan and "Sort" not in plan.split("Limit")[1].split("->")[1], plan


async def test_profile_shows_standing_comments_reports_decisions_bans_and_notes(client, services, db, site, mod):
    token = site.sso_token(sub="profiled", name="Pat Profile")
    first = await post(client, site, token, article="art-p", text="First words")
    assert first.status_code == 201, first.text
    user_id = first.json()["user"]["id"]
    shown_id = first.json()["comment"]["id"] if "comment" in first.json() else first.json()["id"]
    held = await seed_comment(services, db, site.id, article="art-p", author_id=user_id, body="Held words",
                              scores={"toxicity": 0.91, "insult": 0.4})
    rejected = await seed_comment(services, db, site.id, article="art-q", author_id=user_id, status="rejected",
                                  reason="toxicity")
    reporter = site.auth(site.sso_token(sub="flagger"))
    r = await client.post(f"/api/v1/comments/{shown_id}/reports", params=site.q(),
                          json={"reason": "spam", "note": "links"}, headers=reporter)
    assert r.status_code == 201, r.text
    r = await client.post(f"{API}/comments/{held.id}/decision", params=site.q(),
                          json={"action": "reject", "reason": "harassment"}, headers=mod)
    assert r.status_code == 200, r.text
    assert (await client.post(f"{API}/users/{user_id}/suspend", params=site.q(), json={"hours": 24, "reason": "heat"},
                              headers=mod)).status_code == 200
    assert (await client.delete(f"{API}/users/{user_id}/ban", params=site.q(), headers=mod)).status_code == 200
    assert (await client.patch(f"{API}/users/{user_id}", params=site.q(), json={"premoderate": True},
                               headers=mod)).status_code == 200
    r = await client.post(f"{API}/users/{user_id}/notes", params=site.q(), json={"text": "Second warning."},
                          headers=mod)
    assert r.status_code == 201, r.text

    r = await client.get(f"{API}/users/{user_id}/profile", params=site.q(), headers=mod)
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["standing"] | {} == {"user_id": user_id, "site_id": site.id, "name": "Pat Profile", "kind": "sso",
                                  "banned": False, "banned_until": None, "ban_reason": None, "premoderated": True,
                                  "trusted": False, "shadow_restricted": False}
    assert p["shadow_restriction"] is False  # the site does not offer it: the console shows no toggle
    assert p["subject"] == "profiled" and p["created_at"]
    assert p["counts"] == {"published": 1, "held": 0, "rejected": 2, "deleted": 0, "pending_scoring": 0}
    by_id = {c["id"]: c for c in p["recent_comments"]}
    assert set(by_id) == {shown_id, held.id, rejected.id}
    assert by_id[held.id]["status"] == "rejected" and by_id[held.id]["status_reason"] == "harassment"
    assert by_id[held.id]["scores"] == {"toxicity": 0.91, "insult": 0.4}
    assert by_id[held.id]["max_score"] == pytest.approx(0.91)
    assert by_id[held.id]["moderated_by"] and by_id[held.id]["article"]["id"] == "art-p"
    assert by_id[shown_id]["open_reports"] == 1 and by_id[shown_id]["body_html"] == "<p>First words</p>"
    assert by_id[rejected.id]["article"]["id"] == "art-q"
    assert p["reports"]["count"] == 1 and p["reports"]["open"] == 1 and p["reports"]["reasons"] == {"spam": 1}
    assert p["reports"]["recent"][0] | {"created_at": None} == {
        "comment_id": shown_id, "reason": "spam", "note": "links", "created_at": None, "open": True}
    assert [d["action"] for d in p["decisions"]] == ["premoderate", "reject"]
    assert p["decisions"][1]["comment_id"] == held.id
    assert [(b["action"], b["reason"]) for b in p["bans"]] == [("unban", None), ("suspend", "heat")]
    assert p["bans"][0]["details"]["before"]["reason"] == "heat"
    assert [n["text"] for n in p["notes"]] == ["Second warning."] and p["notes_cap"] == NOTES_CAP

    assert (await client.get(f"{API}/users/999999999/profile", params=site.q(), headers=mod)).json()["code"] == \
        "user_not_found"


async def test_notes_are_private_bounded_and_audited(client, services, db, site, mod):
    user_id = await seed_reader(db, site.id, name="Noted")
    url = f"{API}/users/{user_id}/notes"
    r = await client.post(url, params=site.q(), json={"text": "Asked to cool it on 3 May."}, headers=mod)
    assert r.status_code == 201, r.text
    note = r.json()
    assert note["text"] == "Asked to cool it on 3 May." and note["user_id"] == user_id
    audit = await db.fetchrow("SELECT action, note, details FROM moderation_actions WHERE user_id = $1", user_id)
    assert (audit["action"], audit["note"], audit["details"]) == ("note", note["text"], {"note_id": note["id"]})
    for body in ({"text": ""}, {"text": "   "}, {"text": "x" * 1001}, {"text": "a\x00b"}, {"text": "ok", "extra": 1},
                 {}):
        r = await client.post(url, params=site.q(), json=body, headers=mod)
        assert r.status_code == 400, (body, r.text)
    # the readers' own view of themselves says nothing of it
    me = await client.get("/api/v1/me", params=site.q(), headers=site.auth(site.sso_token(sub="x")))
    assert "cool it" not in me.text
    # a cap per reader
    await db.execute("""INSERT INTO moderator_notes (site_id, user_id, author_id, author_name, body)
        SELECT $1, $2, 'token:0', 'seed', 'n' || g FROM generate_series(2, $3) g""", site.id, user_id, NOTES_CAP)
    r = await client.post(url, params=site.q(), json={"text": "One too many"}, headers=mod)
    assert r.status_code == 409 and r.json()["code"] == "too_many_notes"
    assert await db.fetchval("SELECT count(*) FROM moderator_notes WHERE user_id = $1", user_id) == NOTES_CAP
    profile = (await client.get(f"{API}/users/{user_id}/profile", params=site.q(), headers=mod)).json()
    assert len(profile["notes"]) == NOTES_CAP and profile["notes"][-1]["text"] == note["text"]


async def test_suspension_refuses_posting_until_it_ends(client, services, db, site, mod):
    token = site.sso_token(sub="heated")
    user_id = (await post(client, site, token)).json()["user"]["id"]
    url = f"{API}/users/{user_id}/suspend"
    for body in ({"hours": 0}, {"hours": 8761}, {"hours": 2, "reason": "x" * 201}, {},
                 {"hours": 2, "until": "2030-01-01T00:00:00Z"}):
        assert (await client.post(url, params=site.q(), json=body, headers=mod)).status_code == 400, body
    r = await client.post(url, params=site.q(), json={"hours": 2, "reason": "cool off"}, headers=mod)
    assert r.status_code == 200, r.text
    standing = r.json()["standing"]
    assert standing["banned"] is True and standing["banned_until"] and standing["ban_reason"] == "cool off"
    refused = await post(client, site, token, text="But")
    assert refused.status_code == 403 and refused.json()["code"] == "user_banned"
    row = await db.fetchrow("SELECT action, reason, details FROM moderation_actions WHERE user_id = $1", user_id)
    assert (row["action"], row["reason"], row["details"]["before"]) == ("suspend", "cool off", None)
    # a shorter suspension never cuts a longer one short
    r = await client.post(url, params=site.q(), json={"hours": 1}, headers=mod)
    assert r.status_code == 409 and r.json()["code"] == "already_banned"
    # the time passes (moved in the database: the ban rule compares with now())
    await db.execute("UPDATE bans SET until = now() - interval '1 second' WHERE user_id = $1", user_id)
    assert (await post(client, site, token, text="Calm now")).status_code == 201
    # nor a permanent ban
    assert (await client.post(f"{API}/users/{user_id}/ban", params=site.q(), json={}, headers=mod)).status_code == 200
    r = await client.post(url, params=site.q(), json={"hours": 8760}, headers=mod)
    assert r.status_code == 409 and "until lifted" in r.json()["detail"]


async def test_other_sites_staff_neither_see_nor_change_readers(client, services, db, site, mod):
    other = await make_site(services, db)
    theirs = {"Authorization": f"Bearer {await staff_token(db, 'moderator', other.id)}"}
    user_id = await seed_reader(db, site.id, sub="private-sub", name="Private Person")
    await seed_comment(services, db, site.id, author_id=user_id)
    for method, path, body in (("GET", f"/users/{user_id}/profile", None),
                               ("POST", f"/users/{user_id}/notes", {"text": "mine now"}),
                               ("POST", f"/users/{user_id}/suspend", {"hours": 5})):
        for params in (site.q(), other.q()):
            r = await client.request(method, API + path, params=params, headers=theirs, json=body)
            assert r.status_code == 403 and r.json()["code"] == "forbidden", r.text
    r = await client.get(f"{API}/people", params=site.q(q="Private"), headers=theirs)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    for q in ("Private", str(user_id), "private-sub"):
        r = await client.get(f"{API}/people", params=other.q(q=q), headers=theirs)
        assert r.status_code == 200 and r.json()["people"] == [], r.text
    assert await db.fetchval("SELECT count(*) FROM moderation_actions WHERE user_id = $1", user_id) == 0
    assert await db.fetchval("SELECT count(*) FROM moderator_notes WHERE user_id = $1", user_id) == 0
    assert await db.fetchval("SELECT count(*) FROM bans WHERE user_id = $1", user_id) == 0
    # the site's own moderator sees them
    assert (await client.get(f"{API}/users/{user_id}/profile", params=site.q(), headers=mod)).status_code == 200


async def test_hostile_input_is_4xx(client, db, site, mod):
    for params in (site.q(q="a\x00b"), site.q(q="9" * 19), site.q(q="1", limit=0), site.q(q="1", limit=51),
                   site.q(q="\\%_"), site.q(q="\U0010ffff")):
        r = await client.get(f"{API}/people", params=params, headers=mod)
        assert r.status_code in (200, 400), (params, r.text)
    for path in (f"/users/{2**70}/profile", "/users/-1/profile", "/users/abc/profile"):
        r = await client.get(API + path, params=site.q(), headers=mod)
        assert 400 <= r.status_code < 500, (path, r.text)
    for path, body in ((f"/users/{2**70}/notes", {"text": "x"}), (f"/users/{2**70}/suspend", {"hours": 1})):
        r = await client.post(API + path, params=site.q(), json=body, headers=mod)
        assert 400 <= r.status_code < 500, (path, r.text)
