"""The console's admin routes: "try a text" against a site's policy or an unsaved draft of it (scored
by a real scoring worker's model when one runs, by the offline fallback when none answers; nothing
stored), the site's settings and origins changed with before/after in the audit log, the SSO secret
rotated (shown once, and the old one stops working), and API tokens made, listed and revoked by
admins within their own sites."""

from __future__ import annotations

import asyncio
import time

from tests.support.apps import other_app
from tests.support.scoring import NO_THRESHOLDS
from tests.support.sites import article_body, make_site
from tests.support.tokens import bearer, sso_token, staff_token

API = "/api/v1/moderation"
CALM = "Thanks for the careful reporting on the harbour project."
# every label's hold threshold at 0: whatever the scorer says, the text is over it
HOLD_ALL = {label: {"hold": 0.0} for label in NO_THRESHOLDS["moderation"]["thresholds"]}


async def _stored(db, site_id: str) -> tuple:
    """What a dry run must leave as it was: the site's comments, jobs, settings and audit entries."""
    return (await db.fetchval("SELECT count(*) FROM comments c JOIN articles a ON a.id = c.article_id "
                              "WHERE a.site_id = $1", site_id),
            await db.fetchval("SELECT count(*) FROM scoring_jobs"),
            await db.fetchval("SELECT settings FROM sites WHERE id = $1", site_id),
            await db.fetchval("SELECT count(*) FROM moderation_actions WHERE site_id = $1", site_id))


async def _try(client, site, admin, text=CALM, **body):
    r = await client.post(f"{API}/sites/{site.id}/try", json={"text": text, **body}, headers=admin)
    assert r.status_code == 200, r.text
    return r.json()


async def test_try_a_text_without_a_worker_uses_the_fallback_and_a_draft_changes_the_outcome(client, db, site):
    admin = bearer(await staff_token(db, "admin"))
    before = await _stored(db, site.id)

    # the stored policy, fail closed: the fallback alone holds a text it does not reject
    stored = await _try(client, site, admin)
    assert stored["scored_by"] == "fallback" and "No scoring worker answered" in stored["note"]
    assert (stored["outcome"], stored["reason"]) == ("held", "model_unavailable")
    assert set(stored["scores"]) >= {"toxicity"}

    # drafts, never saved: fail open, then a hold threshold the text is over, then a banned word
    open_ = await _try(client, site, admin, moderation={"fail_closed": False})
    assert (open_["outcome"], open_["reason"], open_["labels_over"]) == ("published", "ok", [])
    strict = await _try(client, site, admin, moderation={"fail_closed": False,
                                                         "fallback_thresholds": {"toxicity": {"hold": 0.0}}})
    assert (strict["outcome"], strict["reason"]) == ("held", "toxicity_hold")
    assert [(o["label"], o["over"]) for o in strict["labels_over"]] == [("toxicity", "hold")]
    assert "toxicity score is over the site's limit" in strict["explanation"]
    banned = await _try(client, site, admin, text="Harbour grapefruits again", moderation={
        "banned_words": ["grapefruit*"]})
    assert (banned["outcome"], banned["reason"]) == ("rejected", "banned_word")
    assert banned["matched_words"] == [{"list": "banned", "term": "grapefruit*"}]
    guest = await _try(client, site, admin, author="guest", moderation={"fail_closed": False,
                                                                        "premoderate_guests": True})
    assert (guest["outcome"], guest["reason"]) == ("held", "guest_premoderated")

    # a draft is checked as a save would be; a text as a comment is
    bad = await client.post(f"{API}/sites/{site.id}/try", headers=admin, json={
        "text": CALM, "moderation": {"thresholds": {"toxicity": {"hold": 1.5}}}})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_site_settings"
    assert "thresholds.toxicity.hold" in bad.json()["detail"]
    long = await client.post(f"{API}/sites/{site.id}/try", headers=admin, json={"text": "x" * 10_001})
    assert long.status_code == 400 and long.json()["code"] == "body_too_long"
    assert await _stored(db, site.id) == before  # nothing stored, nothing audited


async def test_try_a_text_shows_the_link_rules_and_the_host_they_caught(client, db, site):
    admin = bearer(await staff_token(db, "admin"))
    before = await _stored(db, site.id)
    draft = {"fail_closed": False, "links": {"deny_domains": ["casino-royal.com"]}}
    denied = await _try(client, site, admin, text="Jackpot every day at https://www.casino-royal.com/vip",
                        moderation=draft)
    assert (denied["outcome"], denied["reason"]) == ("rejected", "spam_link")
    assert "casino-royal.com" in denied["explanation"]
    # a new account's link holds; an established author's link to the site's own origin, or one
    # ordinary link, does not
    source = f"{CALM} Source: https://www.reuters.com/world/harbour"
    new = await _try(client, site, admin, text=source, author="new", moderation=draft)
    assert (new["outcome"], new["reason"]) == ("held", "spam_link")
    assert "www.reuters.com" in new["explanation"]
    established = await _try(client, site, admin, text=source, moderation=draft)
    assert established["reason"] == "ok", established
    shortened = await _try(client, site, admin, text=f"{CALM} https://bit.ly/3xYz", moderation=draft)
    assert (shortened["outcome"], shortened["reason"]) == ("held", "spam_link")
    # five links to the site's own articles are not "many links"
    own = " ".join(f"{site.origin}/article-{i}" for i in range(5))
    assert (await _try(client, site, admin, text=f"{CALM} {own}", moderation=draft))["reason"] == "ok"
    assert await _stored(db, site.id) == before


async def test_try_a_text_is_rate_limited_per_admin(storage, services, db):
    site = await make_site(services, db)
    admin, other_admin = bearer(await staff_token(db, "admin")), bearer(await staff_token(db, "admin"))
    async with other_app(storage, COMMENTS_RATE_LIMITS="policy_trial.user=60:2") as app:
        codes = [(await app.post(f"{API}/sites/{site.id}/try", json={"text": CALM}, headers=admin)).status_code
                 for _ in range(3)]
        assert codes == [200, 200, 429]
        assert (await app.post(f"{API}/sites/{site.id}/try", json={"text": CALM},
                               headers=other_admin)).status_code == 200


async def test_the_policy_view_names_the_labels_and_defaults(client, db, site):
    admin = bearer(await staff_token(db, "admin"))
    view = (await client.get(f"{API}/sites/{site.id}/policy", headers=admin)).json()
    assert "toxicity" in view["labels"] and view["defaults"]["thresholds"]["toxicity"] == {"hold": 0.6, "reject": 0.9}
    assert "kys" in view["defaults"]["banned_words"] and view["defaults"]["edit_window_seconds"] == 900
    assert view["max_text_chars"] == 10_000


async def test_try_a_text_is_scored_by_the_running_workers_model(client, db, site, worker):
    _, status = worker
    admin = bearer(await staff_token(db, "admin"))
    before = await _stored(db, site.id)
    deadline = time.monotonic() + 30
    while True:  # the worker subscribes to trials just after it reports itself
        answer = await _try(client, site, admin, moderation=NO_THRESHOLDS["moderation"])
        if answer["scored_by"] != "fallback" or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert answer["scored_by"] == status["model"]["model_id"] == answer["model_id"], answer
    assert answer["note"] is None
    assert set(answer["scores"]) >= {"toxicity", "insult", "threat"}
    # no thresholds: the word lists and rules decide; every hold threshold at 0: the model's scores hold it
    assert (answer["outcome"], answer["reason"]) == ("published", "ok")
    held = await _try(client, site, admin, moderation={"thresholds": HOLD_ALL})
    assert held["outcome"] == "held" and held["reason"] == "toxicity_hold"
    assert held["scored_by"] == status["model"]["model_id"] and held["labels_over"]
    assert "Decided by the toxicity model" in held["explanation"]
    assert await _stored(db, site.id) == before


async def test_try_a_text_routes_its_language_as_the_worker_routes_a_comment(client, db, site, worker):
    """The worker's model reads English only: a Russian text is held under the site's (or the
    draft's) "hold" rule, and under "word_lists" its scores may hold it but never reject it."""
    admin = bearer(await staff_token(db, "admin"))
    russian = "Мой брат живёт в Хороге, там спокойно, и мы ждём новостей с границы каждый день."
    deadline = time.monotonic() + 30
    while True:
        english = await _try(client, site, admin)
        if english["scored_by"] != "fallback" or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert english["language"] == "en" and english["language_unscored"] is False

    held = await _try(client, site, admin, text=russian, moderation={"languages": {"other": "hold"}})
    assert (held["outcome"], held["reason"]) == ("held", "language_unscored"), held
    assert held["language"] == "ru" and held["language_unscored"] is True

    reject_all = {label: {"hold": 0.0, "reject": 0.0} for label in HOLD_ALL}
    scored = await _try(client, site, admin, text=russian, moderation={"thresholds": reject_all})
    assert (scored["outcome"], scored["reason"]) == ("held", "toxicity_hold"), scored
    # the same thresholds reject an English text: the model reads it
    rejected = await _try(client, site, admin, moderation={"thresholds": reject_all})
    assert rejected["outcome"] == "rejected", rejected


async def test_settings_and_origins_change_with_before_and_after_in_the_audit_log(client, db, site):
    admin = bearer(await staff_token(db, "admin", name="settings-admin"))
    r = await client.patch(f"{API}/sites/{site.id}", headers=admin, json={
        "origins": ["https://Fresh.example:443", "https://second.example"], "guests": False, "images": True,
        "edit_window_seconds": 0, "moderation": {"fail_closed": False, "suspect_words": ["kumquat"]}})
    assert r.status_code == 200, r.text
    assert r.json()["origins"] == ["https://fresh.example", "https://second.example"]
    assert r.json()["guests"] is False and r.json()["images"] is True
    entry = await db.fetchrow("SELECT action, actor_name, details FROM moderation_actions WHERE site_id = $1 "
                              "ORDER BY id DESC LIMIT 1", site.id)
    assert (entry["action"], entry["actor_name"]) == ("site_updated", "settings-admin")
    assert entry["details"]["allowed_origins"] == [[site.origin, "https://news.example"],
                                                   ["https://fresh.example", "https://second.example"]]
    assert entry["details"]["guest_commenting"] == [True, False] and entry["details"]["allow_images"] == [False, True]
    before_settings, after_settings = entry["details"]["settings"]
    assert "moderation" not in before_settings
    assert after_settings["moderation"] == {"fail_closed": False, "suspect_words": ["kumquat"]}

    audited = await db.fetchval("SELECT count(*) FROM moderation_actions WHERE site_id = $1", site.id)
    for bad, named in (({"origins": ["ftp://x.example"]}, "origins"),
                       ({"origins": ["https://ok.example"], "moderation": {"banned_words": ["*"]}}, "banned_words")):
        refused = await client.patch(f"{API}/sites/{site.id}", headers=admin, json=bad)
        assert refused.status_code == 422 and refused.json()["code"] == "invalid_site_settings", refused.text
        assert named in refused.json()["detail"]
    site_row = await db.fetchrow("SELECT allowed_origins FROM sites WHERE id = $1", site.id)
    assert site_row["allowed_origins"] == ["https://fresh.example", "https://second.example"]
    assert await db.fetchval("SELECT count(*) FROM moderation_actions WHERE site_id = $1", site.id) == audited


async def test_a_sites_edit_window_is_the_one_that_counts(client, db, site):
    admin = bearer(await staff_token(db, "admin"))
    token = site.sso_token(sub="editor")
    posted = await client.post("/api/v1/articles/ew/comments", params=site.q(), headers=site.auth(token),
                               json=article_body("first version"))
    assert posted.status_code == 201, posted.text
    cid = posted.json()["comment"]["id"]
    r = await client.patch(f"{API}/sites/{site.id}", headers=admin, json={"edit_window_seconds": 0})
    assert r.status_code == 200
    await asyncio.sleep(0.01)
    late = await client.patch(f"/api/v1/comments/{cid}", params=site.q(), json={"body": "second"},
                              headers=site.auth(token))
    assert late.status_code == 403 and late.json()["code"] == "edit_window_closed"


async def test_rotating_the_sso_secret_shows_it_once_and_the_old_one_stops_working(client, db, site):
    admin = bearer(await staff_token(db, "admin"))
    old_reader = site.sso_token(sub="rotated-reader")
    assert (await client.get("/api/v1/me", params=site.q(), headers=site.auth(old_reader))).status_code == 200

    r = await client.post(f"{API}/sites/{site.id}/sso-secret", headers=admin)
    assert r.status_code == 200, r.text
    secret = r.json()["sso_secret"]
    assert len(secret) >= 32 and r.json()["site_id"] == site.id
    shown = await client.get(f"{API}/sites/{site.id}", headers=admin)
    assert secret not in shown.text and shown.json()["sso"] is True
    entry = await db.fetchrow("SELECT action, details FROM moderation_actions WHERE site_id = $1 "
                              "ORDER BY id DESC LIMIT 1", site.id)
    assert entry["action"] == "sso_secret_rotated" and entry["details"] == {"sso": ["set", "replaced"]}
    assert secret not in str(dict(entry))

    refused = await client.get("/api/v1/me", params=site.q(), headers=site.auth(old_reader))
    assert refused.status_code == 401 and refused.json()["code"] == "token_invalid"
    fresh = sso_token(site.id, sub="rotated-reader", secret=secret)
    assert (await client.get("/api/v1/me", params=site.q(), headers=site.auth(fresh))).status_code == 200


async def test_tokens_are_made_once_listed_and_revoked_within_the_admins_sites(client, services, db, site):
    operator = bearer(await staff_token(db, "admin", name="the operator"))
    other = await make_site(services, db)
    site_admin = bearer(await staff_token(db, "admin", site.id, name="site admin"))

    made = await client.post(f"{API}/tokens", headers=site_admin,
                             json={"name": "Night moderator", "role": "moderator", "site_id": site.id})
    assert made.status_code == 201, made.text
    secret, info = made.json()["token"], made.json()["info"]
    assert secret.startswith("csm_") and info["site_id"] == site.id and info["revoked_at"] is None
    # the token works, and it is in the lists without its secret
    assert (await client.get(f"{API}/queue", params=site.q(), headers=bearer(secret))).status_code == 200
    listed = (await client.get(f"{API}/tokens", params=site.q(), headers=site_admin)).json()
    mine = next(t for t in listed if t["id"] == info["id"])
    assert mine["last_used_at"] is not None and secret not in str(listed)
    assert {t["site_id"] for t in listed} == {site.id}  # a site's admin sees that site's tokens only
    everything = (await client.get(f"{API}/tokens", headers=operator)).json()
    assert info["id"] in {t["id"] for t in everything} and None in {t["site_id"] for t in everything}

    # a site's admin makes no token for every site nor for another site, and revokes none of theirs
    for body in ({"name": "x", "role": "admin", "site_id": None}, {"name": "x", "role": "admin", "site_id": other.id}):
        refused = await client.post(f"{API}/tokens", headers=site_admin, json=body)
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    others = await client.post(f"{API}/tokens", headers=operator,
                               json={"name": "Other's", "role": "moderator", "site_id": other.id})
    assert (await client.delete(f"{API}/tokens/{others.json()['info']['id']}",
                                headers=site_admin)).status_code == 403
    assert (await client.get(f"{API}/tokens", params=other.q(), headers=site_admin)).status_code == 403
    bad = await client.post(f"{API}/tokens", headers=operator, json={"name": "x", "role": "owner"})
    assert bad.status_code == 400
    # a name is shown as who acted: no line breaks, no text turned backwards
    for name in ("Night\nmoderator", "Night \u202emoderator", "Ni\x9bght"):
        bad = await client.post(f"{API}/tokens", headers=operator, json={"name": name, "role": "moderator"})
        assert bad.status_code == 400 and bad.json()["code"] == "invalid_request", (name, bad.text)
    assert (await client.delete(f"{API}/tokens/987654321", headers=operator)).json()["code"] == "token_not_found"

    # a console session made from the token ends when it is revoked
    signed_in = await client.post(f"{API}/session", json={"token": secret, "site": site.id})
    assert signed_in.status_code == 200, signed_in.text
    cookie = {"Cookie": f"cs_staff={signed_in.cookies['cs_staff']}"}
    client.cookies.clear()
    assert (await client.get(f"{API}/session", headers=cookie)).status_code == 200
    revoked = await client.delete(f"{API}/tokens/{info['id']}", headers=site_admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert (await client.get(f"{API}/queue", params=site.q(), headers=bearer(secret))).status_code == 401
    assert (await client.get(f"{API}/session", headers=cookie)).status_code == 401
    again = await client.delete(f"{API}/tokens/{info['id']}", headers=site_admin)
    assert again.status_code == 200  # already revoked: nothing more happens, nothing more is logged

    log = [dict(r) for r in await db.fetch(
        "SELECT action, actor_name, details FROM moderation_actions WHERE site_id = $1 AND action LIKE 'token%' "
        "ORDER BY id", site.id)]
    assert [(e["action"], e["actor_name"]) for e in log] == [("token_created", "site admin"),
                                                             ("token_revoked", "site admin")]
    assert log[0]["details"] == {"token_id": info["id"], "name": "Night moderator", "role": "moderator",
                                 "site_id": site.id}
    assert log[1]["details"]["revoked_at"][0] is None and secret not in str(log)
    unscoped = await client.post(f"{API}/tokens", headers=operator, json={"name": "Ops", "role": "admin"})
    assert unscoped.status_code == 201 and unscoped.json()["info"]["site_id"] is None
    assert await db.fetchval("SELECT count(*) FROM moderation_actions WHERE site_id = '*' AND action = "
                             "'token_created' AND details->>'token_id' = $1",
                             str(unscoped.json()["info"]["id"])) == 1
