"""Access: CORS per site, tokens bound to their site, moderator routes closed to readers and to other
sites' moderators, guests confined to their own comments, no enumeration of hidden comments through
error codes, and no secret in the server's logs."""

from __future__ import annotations

import secrets

import httpx
import pytest

from tests.support.sites import article_body, make_site
from tests.support.tokens import staff_token


async def post(client, site, article="acc", headers=None, **extra):
    return await client.post(f"/api/v1/articles/{article}/comments", params=site.q(),
                             json=article_body(extra.pop("body", "hello"), **extra), headers=headers or {})


# ---------------------------------------------------------------- CORS
@pytest.mark.parametrize("variant", [
    "https://attacker.example", "null", "{o}.evil.example", "{o}:8443", "http://{h}", "https://sub.{h}",
    "https://{h}@attacker.example", "",
])
async def test_cors_refuses_every_origin_but_the_sites_own(client, site, variant):
    host = site.origin.split("://", 1)[1]
    origin = variant.format(o=site.origin, h=host)
    for method in ("GET", "OPTIONS"):
        resp = await client.request(method, "/api/v1/articles/x/comments", params=site.q(),
                                    headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
        assert resp.status_code == 403, (origin, resp.status_code)
        assert "access-control-allow-origin" not in resp.headers


async def test_cors_allows_the_sites_origin_case_insensitively(client, site):
    upper = site.origin.replace("https://", "HTTPS://").upper().replace("HTTPS://", "https://")
    resp = await client.get("/api/v1/articles/x/comments", params=site.q(), headers={"Origin": upper})
    assert resp.status_code == 200 and resp.headers["access-control-allow-origin"] == upper


async def test_moderator_routes_never_send_cors_headers(client, site):
    resp = await client.get("/api/v1/moderation/counts", params=site.q(), headers={"Origin": site.origin})
    assert "access-control-allow-origin" not in resp.headers


# ---------------------------------------------------------------- tokens bound to sites
async def test_sso_token_of_one_site_is_refused_by_another(client, services, db):
    a = await make_site(services, db)
    b = await make_site(services, db)
    await services.sites.save(db, site_id=b.id, name="B", origins=[b.origin], sso_secret="another-secret-" + "y" * 20,
                              guests=True)
    token = a.sso_token(sub="alice", name="Alice")
    resp = await post(client, b, headers=a.auth(token))
    assert resp.status_code == 401 and resp.json()["code"] == "token_invalid"
    # with an audience claim the refusal names the reason
    resp = await post(client, b, headers=a.auth(a.sso_token(sub="alice", name="Alice", aud=a.id)))
    assert resp.status_code == 401 and resp.json()["code"] == "token_wrong_site"


async def test_guest_token_of_one_site_is_refused_by_another(client, services, db):
    a = await make_site(services, db)
    b = await make_site(services, db)
    guest = (await post(client, a, author_name="Gus")).json()["guest_token"]
    resp = await post(client, b, headers=a.auth(guest))
    assert resp.status_code == 401 and resp.json()["code"] == "token_wrong_site"


async def test_moderator_routes_refuse_readers_and_other_sites_moderators(client, services, db):
    a = await make_site(services, db)
    b = await make_site(services, db)
    # test sites share one SSO secret; b gets its own, as real sites have
    await services.sites.save(db, site_id=b.id, name="B", origins=[b.origin], sso_secret="b-secret-" + "y" * 24,
                              guests=True)
    mod_a = await staff_token(db, "moderator", a.id)
    checks = [
        ({}, 401),
        (b.auth(b.sso_token(sub="reader", name="Reader", secret="b-secret-" + "y" * 24)), 403),  # b's reader
        (a.auth(a.sso_token(sub="m", name="M", role="moderator")), 401),  # a's SSO moderator acting on b
        (a.auth(a.sso_token(sub="m", name="M", role="moderator", aud=a.id)), 401),
        ({"Authorization": f"Bearer {mod_a}"}, 403),  # a's API token acting on b
        ({"Authorization": "Bearer csm_" + secrets.token_urlsafe(32)}, 401),  # an unknown API token
    ]
    for headers, status in checks:
        resp = await client.get("/api/v1/moderation/counts", params=b.q(), headers=headers)
        if resp.status_code == 404 and resp.json()["code"] == "not_found":
            pytest.skip("no moderation routes in this build")
        assert resp.status_code == status, (headers, resp.text)
    # and a's moderator token works on a
    resp = await client.get("/api/v1/moderation/counts", params=a.q(), headers={"Authorization": f"Bearer {mod_a}"})
    assert resp.status_code == 200, resp.text


# ---------------------------------------------------------------- guests and others' comments
async def test_guest_cannot_edit_or_delete_others_comments(client, site, db):
    first = (await post(client, site, author_name="First")).json()
    second = (await post(client, site, author_name="Second")).json()
    sso = (await post(client, site, headers=site.auth(site.sso_token(sub="s1", name="S1")))).json()
    for victim in (first["comment"]["id"], sso["comment"]["id"]):
        resp = await client.patch(f"/api/v1/comments/{victim}", params=site.q(), json={"body": "pwned"},
                                  headers=site.auth(second["guest_token"]))
        assert resp.status_code == 403 and resp.json()["code"] == "not_author"
        resp = await client.delete(f"/api/v1/comments/{victim}", params=site.q(),
                                   headers=site.auth(second["guest_token"]))
        assert resp.status_code == 403 and resp.json()["code"] == "not_author"
    rows = await db.fetch("SELECT body_markdown, status FROM comments WHERE id = ANY($1::bigint[])",
                          [first["comment"]["id"], sso["comment"]["id"]])
    assert all(r["body_markdown"] == "hello" and r["status"] == "published" for r in rows)


async def test_forged_guest_token_is_refused(client, site):
    import jwt

    forged = jwt.encode({"iss": "comments_service", "typ": "guest", "site": site.id, "sub": "1", "name": "x",
                         "exp": 9999999999}, "not-the-key", algorithm="HS256")
    resp = await post(client, site, headers=site.auth(forged))
    assert resp.status_code == 401 and resp.json()["code"] == "token_invalid"


# ---------------------------------------------------------------- no enumeration of hidden comments
@pytest.mark.parametrize("hidden_status", ["held", "pending_scoring", "rejected"])
async def test_hidden_and_missing_comments_are_indistinguishable(client, site, db, hidden_status):
    author = site.auth(site.sso_token(sub="hidden-author", name="Hidden"))
    other = site.auth(site.sso_token(sub="prober", name="Prober"))
    hidden = (await post(client, site, article="enum", headers=author)).json()["comment"]["id"]
    await db.execute("UPDATE comments SET status = $2 WHERE id = $1", hidden, hidden_status)
    missing = hidden + 10_000_000

    async def probe(comment_id: int) -> dict:
        out = {}
        r = await post(client, site, article="enum", headers=other, parent_id=comment_id)
        out["reply"] = (r.status_code, r.json()["code"])
        r = await client.post(f"/api/v1/comments/{comment_id}/votes", params=site.q(), json={"value": 1}, headers=other)
        out["vote"] = (r.status_code, r.json()["code"])
        r = await client.get(f"/api/v1/comments/{comment_id}/replies", params=site.q())
        out["replies"] = (r.status_code, r.json().get("code"))
        return out

    assert await probe(hidden) == await probe(missing)


# ---------------------------------------------------------------- secrets never logged
async def test_secrets_never_reach_the_logs(live_server, services, db, world):
    site = await make_site(services, db)
    sso = site.sso_token(sub="logged", name="Logged")
    bad_sig = site.sso_token(sub="logged", name="Logged", secret="wrong-secret-" + "z" * 20)
    expired = site.sso_token(sub="logged", name="Logged", expires_in=-3600)
    api_token = await staff_token(db, "moderator", site.id)
    bogus_api = "csm_" + secrets.token_urlsafe(32)
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        r = await http.post("/api/v1/articles/logs/comments", params=site.q(),
                            json=article_body("guest", author_name="G"))
        guest = r.json()["guest_token"]
        for token in (sso, bad_sig, expired, guest, api_token, bogus_api, "garbage-token"):
            h = {"Authorization": f"Bearer {token}", "Cookie": f"session={token}", "X-Api-Key": token}
            await http.post("/api/v1/articles/logs/comments", params=site.q(), json=article_body("hi"), headers=h)
            await http.get("/api/v1/me", params=site.q(), headers=h)
            await http.get("/api/v1/moderation/counts", params=site.q(), headers=h)
            await http.get("/api/v1/moderation/audit", params={"site": site.id, "action": "x\x00"}, headers=h)
            await http.get(f"/api/v1/comments/{2**70}/replies", params=site.q(), headers=h)
            await http.get("/api/v1/articles/logs/comments", params={**site.q(), "token": token}, headers=h)
    logs = live_server.logs()
    assert '"level"' in logs, "the server writes JSON logs"
    secret_key = live_server.env["COMMENTS_SECRET_KEY"]
    for name, value in [("sso token", sso), ("bad-signature token", bad_sig), ("expired token", expired),
                        ("guest token", guest), ("api token", api_token), ("unknown api token", bogus_api),
                        ("sso secret", site.sso_secret), ("service secret key", secret_key)]:
        # a token's signature part alone must not appear either
        for fragment in {value, value.rsplit(".", 1)[-1]}:
            assert fragment not in logs, f"{name} found in the server's logs"
