"""The reader's troubleshooter: checks for sign-in, origin, article, standing, pace and own comments;
and what it must never reveal about anyone else."""

from __future__ import annotations

import secrets

import pytest

from comments_service.errors import CATALOGUE
from tests.support.sites import article_body, make_site
from tests.support.tokens import bearer, staff_token

SECRET_WORD = "zorblax" + secrets.token_hex(2)


def checks_of(body: dict) -> dict[str, dict]:
    return {c["id"]: c for c in body["checks"]}


async def post_comment(client, site, token, article, text="Hello there"):
    r = await client.post(f"/api/v1/articles/{article}/comments", params=site.q(), headers=site.auth(token),
                          json=article_body(text))
    assert r.status_code == 201, r.text
    return r.json()["comment"]["id"]


async def test_reader_without_token_gets_every_basic_check(client, site):
    r = await client.get("/api/v1/troubleshoot", params=site.q(article_id="no-such-article"),
                         headers={"Origin": site.origin})
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == site.origin
    body = r.json()
    checks = checks_of(body)
    assert {"api", "site", "origin", "clock", "token", "article", "rate_limit", "service", "browser"} <= set(checks)
    assert checks["api"]["status"] == "ok" and body["version"] in checks["api"]["explanation"]
    assert checks["origin"]["status"] == "ok"
    assert checks["token"]["status"] == "info"
    assert checks["article"]["code"] == "article_not_found"
    assert "server_time" in checks["clock"]["data"]
    assert body["request_id"] == r.headers["x-request-id"]
    for check in body["checks"]:
        assert check["status"] in ("ok", "warn", "problem", "info") and check["explanation"]


async def test_disallowed_origin_still_gets_an_answer_it_can_read(client, site):
    evil = "https://copycat.example"
    r = await client.get("/api/v1/troubleshoot", params=site.q(), headers={"Origin": evil})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == evil
    origin = checks_of(r.json())["origin"]
    assert origin["status"] == "problem" and origin["code"] == "origin_not_allowed"
    assert origin["explanation"] == CATALOGUE["origin_not_allowed"].help
    # the refusal still holds for the rest of the public API
    other = await client.get("/api/v1/articles/a/comments", params=site.q(), headers={"Origin": evil})
    assert other.status_code == 403
    pre = await client.options("/api/v1/troubleshoot", params=site.q(),
                               headers={"Origin": evil, "Access-Control-Request-Method": "GET",
                                        "Access-Control-Request-Headers": "authorization"})
    assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == evil


async def test_unknown_site_is_reported_not_refused(client):
    r = await client.get("/api/v1/troubleshoot", params={"site": "nosuchsite"}, headers={"Origin": "https://x.example"})
    assert r.status_code == 200
    assert checks_of(r.json())["site"]["code"] == "unknown_site"
    r = await client.get("/api/v1/troubleshoot")
    assert checks_of(r.json())["site"]["code"] == "site_required"


@pytest.mark.parametrize("kind, code", [("expired", "token_expired"), ("bad_signature", "token_invalid"),
                                        ("other_site", "token_wrong_site"), ("malformed_header", "token_invalid")])
async def test_token_problems_explained_from_the_catalogue(client, site, kind, code):
    headers = {
        "expired": site.auth(site.sso_token(expires_in=-3600)),
        "bad_signature": site.auth(site.sso_token(secret="x" * 40)),
        "other_site": site.auth(site.sso_token(aud="another-site")),
        "malformed_header": {"Authorization": "Token abc"},
    }[kind]
    r = await client.get("/api/v1/troubleshoot", params=site.q(), headers=headers)
    assert r.status_code == 200
    token = checks_of(r.json())["token"]
    assert token["status"] == "problem" and token["code"] == code
    assert token["explanation"] == CATALOGUE[code].help
    if kind == "expired":
        assert token["data"]["expires_in_seconds"] < 0


@pytest.mark.parametrize("exp, shown", [(None, True), (10**12, False), (10**400, False), (1e300, False)])
async def test_token_expiry_is_shown_when_a_date_can_hold_it(client, site, exp, shown):
    """Any number verifies as ``exp``; past year 9999 the check still answers, without a date."""
    token = site.sso_token(sub="far-future", name="Far") if exp is None else site.sso_token(exp=exp)
    r = await client.get("/api/v1/troubleshoot", params=site.q(), headers=site.auth(token))
    assert r.status_code == 200, r.text
    token_check = checks_of(r.json())["token"]
    assert token_check["status"] == "ok", token_check
    assert ("expires_at" in token_check["data"]) is shown, token_check
    if shown:
        assert 0 < token_check["data"]["expires_in_seconds"] <= 3600


async def test_valid_token_and_clock_skew(client, site):
    import time

    token = site.sso_token(sub="clock-reader", name="Clocky")
    skewed = int((time.time() + 3600) * 1000)
    r = await client.get("/api/v1/troubleshoot", params=site.q(client_time=skewed), headers=site.auth(token))
    checks = checks_of(r.json())
    assert checks["token"]["status"] == "ok" and "Clocky" in checks["token"]["explanation"]
    assert checks["clock"]["status"] == "warn" and checks["clock"]["data"]["skew_seconds"] > 3000


async def test_closed_and_premoderated_article(client, site, db):
    token = site.sso_token(sub="art-reader")
    await post_comment(client, site, token, "art-closed")
    await db.execute("UPDATE articles SET comments_open = false, premoderation = true "
                     "WHERE site_id = $1 AND external_id = 'art-closed'", site.id)
    r = await client.get("/api/v1/troubleshoot", params=site.q(article_id="art-closed"))
    checks = checks_of(r.json())
    assert checks["article"]["status"] == "problem" and checks["article"]["code"] == "article_closed"
    assert checks["article_premoderation"]["status"] == "info"
    assert r.json()["summary"] == "problem"


async def test_own_comments_with_coarse_reasons(client, site, db):
    token = site.sso_token(sub="own-reader", name="Owner")
    ids = [await post_comment(client, site, token, "art-own", f"comment {i}") for i in range(3)]
    await db.execute("UPDATE comments SET status = 'held', status_reason = 'toxicity_hold' WHERE id = $1", ids[0])
    await db.execute("UPDATE comments SET status = 'rejected', status_reason = 'banned_word' WHERE id = $1", ids[1])
    r = await client.get("/api/v1/troubleshoot", params=site.q(article_id="art-own"), headers=site.auth(token))
    recent = checks_of(r.json())["recent_comments"]
    assert recent["status"] == "warn"
    by_id = {c["id"]: c for c in recent["data"]["comments"]}
    assert by_id[ids[0]]["category"] == "awaiting_moderation"
    assert by_id[ids[1]]["category"] == "rejected_language"
    assert by_id[ids[2]]["state"] == "published"
    assert "toxicity_hold" not in r.text and "banned_word" not in r.text
    one = await client.get("/api/v1/troubleshoot", params=site.q(comment_id=ids[1]), headers=site.auth(token))
    assert checks_of(one.json())["comment"]["data"]["comment"]["category"] == "rejected_language"


async def test_banned_reader(client, site, db):
    token = site.sso_token(sub="banned-reader", name="Banned")
    await post_comment(client, site, token, "art-ban")
    user_id = await db.fetchval("SELECT id FROM users WHERE site_id = $1 AND external_id = 'banned-reader'", site.id)
    await db.execute("INSERT INTO bans (site_id, user_id, until, reason, note, created_by) "
                     "VALUES ($1, $2, now() + interval '2 days', 'spam', 'secret moderator note', 'token:1')",
                     site.id, user_id)
    r = await client.get("/api/v1/troubleshoot", params=site.q(article_id="art-ban"), headers=site.auth(token))
    account = checks_of(r.json())["account"]
    assert account["status"] == "problem" and "banned_until" in account["data"]
    assert "secret moderator note" not in r.text


async def test_rate_limited_reader_is_told_when_to_retry(client, site, storage):
    from tests.support.apps import other_app

    async with other_app(storage, COMMENTS_RATE_LIMITS="post.user=600:1,post.ip=0:1") as limited:
        reader = site.sso_token(sub="fast-reader")
        first = await limited.post("/api/v1/articles/art-pace/comments", params=site.q(), headers=site.auth(reader),
                                   json=article_body("first"))
        assert first.status_code == 201
        r = await limited.get("/api/v1/troubleshoot", params=site.q(), headers=site.auth(reader))
        pace = checks_of(r.json())["rate_limit"]
        assert pace["status"] == "warn" and pace["code"] == "rate_limited" and pace["data"]["retry_after"] > 500


async def test_browser_self_check_is_echoed(client, site):
    r = await client.get("/api/v1/troubleshoot", params=site.q(client_check="cookies=blocked,local_storage=blocked"))
    browser = checks_of(r.json())["browser"]
    assert browser["status"] == "problem"
    assert browser["data"]["client_check"] == {"cookies": "blocked", "local_storage": "blocked"}
    ok = await client.get("/api/v1/troubleshoot", params=site.q(client_check="cookies=ok,local_storage=ok"))
    assert checks_of(ok.json())["browser"]["status"] == "ok"


async def test_someone_elses_comment_reveals_nothing(client, site, db):
    victim = site.sso_token(sub="victim", name="Victoria Secretname", email="victoria@private.example")
    held_id = await post_comment(client, site, victim, "art-privacy", f"a {SECRET_WORD} comment")
    rejected_id = await post_comment(client, site, victim, "art-privacy", "another one")
    await db.execute("UPDATE comments SET status = 'held', status_reason = 'user_premoderated', "
                     "author_ip = '203.0.113.77', "
                     "toxicity = '{\"toxicity\": 0.8731}'::jsonb, decision_detail = $2::jsonb WHERE id = $1",
                     held_id, f'{{"term": "{SECRET_WORD}", "threshold": 0.6543}}')
    await db.execute("UPDATE comments SET status = 'rejected', status_reason = 'toxicity_reject' WHERE id = $1",
                     rejected_id)
    await db.execute("UPDATE users SET premoderate = true WHERE site_id = $1 AND external_id = 'victim'", site.id)
    snoop = site.sso_token(sub="snoop", name="Snoop")
    answers = []
    for comment_id in (held_id, rejected_id, 987654321):
        for headers in (site.auth(snoop), {}):
            r = await client.get("/api/v1/troubleshoot", params=site.q(article_id="art-privacy", comment_id=comment_id),
                                 headers=headers)
            assert r.status_code == 200
            text = r.text
            for secret in ("Victoria", "victoria@private.example", "203.0.113.77", "0.8731", "0.6543", SECRET_WORD,
                           "user_premoderated", "toxicity_reject", "held", "rejected", "premoderat"):
                assert secret not in text, (secret, comment_id)
            answers.append(checks_of(r.json())["comment"]["explanation"])
    # held, rejected and non-existent comments are indistinguishable
    assert len(set(answers)) == 1


async def test_problem_report_filed_listed_and_closed(client, site, db, services):
    token = site.sso_token(sub="reporter", name="Reporter")
    r = await client.post("/api/v1/troubleshoot/reports", params=site.q(), headers={**site.auth(token),
                          "User-Agent": "TestBrowser/1.0", "Origin": site.origin},
                          json={"description": "My comment vanished", "article_id": "art-report",
                                "client_check": "cookies=ok,local_storage=ok"})
    assert r.status_code == 201, r.text
    filed = r.json()
    assert filed["reference"].startswith("CS-") and filed["reference"] in filed["message"]

    mod = await staff_token(db, "moderator", site.id)
    listed = await client.get("/api/v1/moderation/problem-reports", headers=bearer(mod))
    assert listed.status_code == 200
    report = next(x for x in listed.json()["reports"] if x["reference"] == filed["reference"])
    assert report["description"] == "My comment vanished" and report["user_agent"] == "TestBrowser/1.0"
    assert report["reader"]["name"] == "Reporter" and report["article_id"] == "art-report"
    assert any(c["id"] == "browser" for c in report["checks"])

    other_site = await make_site(services, db)
    other_mod = await staff_token(db, "moderator", other_site.id)
    foreign = await client.get("/api/v1/moderation/problem-reports", headers=bearer(other_mod))
    assert all(x["reference"] != filed["reference"] for x in foreign.json()["reports"])
    # naming the other site does not widen a site's moderator's view
    named = await client.get("/api/v1/moderation/problem-reports", params=site.q(), headers=bearer(other_mod))
    assert named.status_code == 403 and named.json()["code"] == "forbidden"
    denied = await client.post(f"/api/v1/moderation/problem-reports/{report['id']}/close", headers=bearer(other_mod))
    assert denied.status_code == 404 and denied.json()["code"] == "problem_report_not_found"

    closed = await client.post(f"/api/v1/moderation/problem-reports/{report['id']}/close", headers=bearer(mod),
                               json={"resolution": "Comment was held; approved it."})
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed" and closed.json()["resolution"].startswith("Comment was held")
    still_open = await client.get("/api/v1/moderation/problem-reports", headers=bearer(mod))
    assert all(x["id"] != report["id"] for x in still_open.json()["reports"])
    everything = await client.get("/api/v1/moderation/problem-reports", params={"status": "all"}, headers=bearer(mod))
    assert any(x["id"] == report["id"] for x in everything.json()["reports"])


async def test_problem_reports_need_a_moderator(client, site):
    assert (await client.get("/api/v1/moderation/problem-reports")).status_code == 401
    reader = site.sso_token(sub="nosy")
    r = await client.get("/api/v1/moderation/problem-reports", params=site.q(), headers=site.auth(reader))
    assert r.status_code == 403


async def test_problem_report_input_is_checked(client, site):
    r = await client.post("/api/v1/troubleshoot/reports", params=site.q(), json={"description": ""})
    assert r.status_code == 400
    r = await client.post("/api/v1/troubleshoot/reports", params=site.q(), json={"description": "x" * 5000})
    assert r.status_code == 400


async def test_a_fresh_guest_learns_when_votes_will_count(client, site):
    posted = await client.post("/api/v1/articles/art-fresh/comments", params=site.q(),
                               json=article_body("Hello", author_name="Newcomer"))
    r = await client.get("/api/v1/troubleshoot", params=site.q(), headers=site.auth(posted.json()["guest_token"]))
    standing = checks_of(r.json())["standing"]
    assert standing["status"] == "info" and standing["code"] == "standing_required"
    signed_in = await client.get("/api/v1/troubleshoot", params=site.q(), headers=site.auth(site.sso_token()))
    assert "standing" not in checks_of(signed_in.json())


async def test_a_guest_on_a_banned_guests_network_is_told(serve, services, db):
    from tests.support.tokens import staff_token

    site = await make_site(services, db)
    mod = {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id)}"}
    forwarded = {"X-Forwarded-For": "81.2.69.170"}
    async with serve(COMMENTS_TRUSTED_PROXIES="127.0.0.1/32") as live, live.http() as http:
        troll = await http.post("/api/v1/articles/art-net/comments", params=site.q(), headers=forwarded,
                                json=article_body("Troll", author_name="Troll"))
        neighbour = await http.post("/api/v1/articles/art-net/comments", params=site.q(), headers=forwarded,
                                    json=article_body("Neighbour", author_name="Neighbour"))
        await http.post(f"/api/v1/moderation/users/{troll.json()['user']['id']}/ban", params=site.q(),
                        json={"reason": "abuse"}, headers=mod)
        r = await http.get("/api/v1/troubleshoot", params=site.q(),
                           headers={**forwarded, **site.auth(neighbour.json()["guest_token"])})
    checks = checks_of(r.json())
    assert checks["account"]["status"] == "ok"  # the neighbour's own account is not banned
    assert checks["network"]["status"] == "problem" and checks["network"]["code"] == "user_banned"
