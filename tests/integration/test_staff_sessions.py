"""The moderator console's sessions: a token exchanged once for an HttpOnly, SameSite=Strict cookie;
CSRF and Origin checks on every request that rides on the cookie; idle and absolute expiry, sign-out
and token revocation; SSO sign-in only where the site lets SSO tokens carry staff roles; the
sign-in's rate limit; a session scoped to its site like its token."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

import pytest

from comments_service.db import tokens as token_repo
from comments_service.services.staff_sessions import MAX_SESSIONS_PER_MEMBER
from tests.support.apps import BASE_URL, other_app
from tests.support.limits import limits_env
from tests.support.seeding import seed_comment
from tests.support.sites import make_site
from tests.support.tokens import bearer, staff_token

API = "/api/v1/moderation"
SESSION = API + "/session"


class Signed:
    """A signed-in console: its cookie value, CSRF token, the sign-in answer and its Set-Cookie."""

    def __init__(self, response) -> None:
        assert response.status_code == 200, response.text
        self.response = response
        self.body = response.json()
        self.set_cookie = response.headers["set-cookie"]
        self.cookie = self.set_cookie.split(";", 1)[0].split("=", 1)[1]
        self.csrf = self.body["csrf"]

    def headers(self, csrf: bool = True, **extra: str) -> dict[str, str]:
        return {"Cookie": f"cs_staff={self.cookie}", **({"X-CSRF-Token": self.csrf} if csrf else {}), **extra}


async def sign_in(client, token: str, site: str | None = None, **headers: str) -> Signed:
    response = await _sign_in(client, token, site, **headers)
    return Signed(response)


async def _sign_in(client, token: str, site: str | None = None, **headers: str):
    try:
        return await client.post(SESSION, json={"token": token, "site": site}, headers=headers)
    finally:
        # the shared test client would send the cookie on every later request of every test
        client.cookies.clear()


def attributes(set_cookie: str) -> dict[str, str]:
    parts = [p.strip() for p in set_cookie.split(";")][1:]
    return {p.split("=", 1)[0].lower(): (p.split("=", 1)[1] if "=" in p else "") for p in parts}


async def session_rows(db, staff_id: str | None = None) -> int:
    if staff_id is None:
        return await db.fetchval("SELECT count(*) FROM staff_sessions")
    return await db.fetchval("SELECT count(*) FROM staff_sessions WHERE staff_id = $1", staff_id)


async def test_an_api_token_signs_in_to_a_strict_http_only_cookie_that_opens_the_queue(client, db, site):
    token = await staff_token(db, "moderator", site.id, name="Mod Erator")
    signed = await sign_in(client, token)
    cookie = attributes(signed.set_cookie)
    assert "httponly" in cookie and cookie["samesite"].lower() == "strict" and cookie["path"] == "/"
    assert "secure" not in cookie  # plain http, public URL http
    assert 12 * 3600 - 60 <= int(cookie["max-age"]) <= 12 * 3600
    assert signed.response.headers["cache-control"] == "no-store"
    staff = signed.body["staff"]
    assert staff["name"] == "Mod Erator" and staff["role"] == "moderator" and staff["site_id"] == site.id
    assert staff["kind"] == "api_token" and staff["id"].startswith("token:")
    assert signed.body["idle_timeout_s"] == 1800
    assert len(signed.csrf) >= 40 and signed.csrf not in signed.cookie
    # only the cookie's hash is kept
    stored = await db.fetchval("SELECT id_hash FROM staff_sessions WHERE staff_id = $1", staff["id"])
    assert stored == hashlib.sha256(signed.cookie.encode()).digest()

    queue = await client.get(API + "/queue", params=site.q(), headers=signed.headers(csrf=False))
    assert queue.status_code == 200, queue.text
    # a reloaded console gets its CSRF token back from the cookie alone
    again = await client.get(SESSION, headers=signed.headers(csrf=False))
    assert again.status_code == 200 and again.json() == signed.body
    assert again.headers["cache-control"] == "no-store"


async def test_a_state_changing_request_needs_the_csrf_token(client, services, db, site):
    held = await seed_comment(services, db, site.id)
    signed = await sign_in(client, await staff_token(db, "moderator", site.id))
    path = f"{API}/comments/{held.id}/decision"
    for headers in (signed.headers(csrf=False), {**signed.headers(csrf=False), "X-CSRF-Token": "x" * 43},
                    {**signed.headers(csrf=False), "X-CSRF-Token": signed.csrf[:-1] + ("B" if signed.csrf.endswith("A")
                                                                                        else "A")},
                    {**signed.headers(csrf=False), "X-CSRF-Token": ""}):
        refused = await client.post(path, params=site.q(), json={"action": "approve"}, headers=headers)
        assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed", refused.text
    # nor is another spelling of the right one: the last character's bits the decoder ignores
    last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".index(signed.csrf[-1])
    twin = signed.csrf[:-1] + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last ^ 1]
    refused = await client.post(path, params=site.q(), json={"action": "approve"},
                                headers={**signed.headers(csrf=False), "X-CSRF-Token": twin})
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed", refused.text
    # another session's CSRF token is no good either
    other = await sign_in(client, await staff_token(db, "moderator", site.id))
    refused = await client.post(path, params=site.q(), json={"action": "approve"},
                                headers={**signed.headers(csrf=False), "X-CSRF-Token": other.csrf})
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    assert await db.fetchval("SELECT status FROM comments WHERE id = $1", held.id) == "held"
    assert await db.fetchval("SELECT count(*) FROM moderation_actions WHERE site_id = $1", site.id) == 0

    done = await client.post(path, params=site.q(), json={"action": "approve"}, headers=signed.headers())
    assert done.status_code == 200, done.text
    assert await db.fetchval("SELECT status FROM comments WHERE id = $1", held.id) == "published"
    actor = await db.fetchval("SELECT actor_id FROM moderation_actions WHERE comment_id = $1", held.id)
    assert actor == signed.body["staff"]["id"]


async def test_a_request_from_another_origin_is_refused(client, db, site):
    token = await staff_token(db, "moderator", site.id)
    signed = await sign_in(client, token)
    for method in ("GET", "POST"):
        for bad in ({"Origin": "https://evil.example"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"},
                    {"Sec-Fetch-Site": "same-site"}):
            r = await client.request(method, API + ("/queue" if method == "GET" else "/decisions"), params=site.q(),
                                     json={"comment_ids": [1], "action": "approve"} if method == "POST" else None,
                                     headers=signed.headers(**bad))
            assert r.status_code == 403 and r.json()["code"] == "csrf_failed", (method, bad, r.text)
    own = await client.get(API + "/queue", params=site.q(),
                           headers=signed.headers(Origin=BASE_URL, **{"Sec-Fetch-Site": "same-origin"}))
    assert own.status_code == 200, own.text
    # nor may another origin's page sign anyone in
    before = await session_rows(db)
    refused = await _sign_in(client, token, Origin="https://evil.example")
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    assert "set-cookie" not in refused.headers and await session_rows(db) == before


async def test_signing_out_ends_the_session_and_clears_the_cookie(client, db, site):
    signed = await sign_in(client, await staff_token(db, "moderator", site.id))
    refused = await client.delete(SESSION, headers=signed.headers(csrf=False))
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    out = await client.delete(SESSION, headers=signed.headers())
    client.cookies.clear()
    assert out.status_code == 200 and out.json() == {"ended": True}
    cleared = attributes(out.headers["set-cookie"])
    assert out.headers["set-cookie"].startswith("cs_staff=;") or out.headers["set-cookie"].startswith('cs_staff="";')
    assert cleared["max-age"] == "0"
    assert await session_rows(db, signed.body["staff"]["id"]) == 0
    after = await client.get(API + "/queue", params=site.q(), headers=signed.headers())
    assert after.status_code == 401 and after.json()["code"] == "auth_required"
    # the answer tells the browser to drop the dead cookie
    assert attributes(after.headers["set-cookie"])["max-age"] == "0"


async def test_sessions_end_when_idle_and_at_their_absolute_end(client, db, site):
    token = await staff_token(db, "moderator", site.id)
    idle = await sign_in(client, token)
    staff_id = idle.body["staff"]["id"]
    id_hash = hashlib.sha256(idle.cookie.encode()).digest()
    # used within the idle lifetime: it lives on, and the use moves its last-seen time
    await db.execute("UPDATE staff_sessions SET last_seen_at = now() - interval '29 minutes' WHERE id_hash = $1",
                     id_hash)
    assert (await client.get(API + "/queue", params=site.q(), headers=idle.headers())).status_code == 200
    seen = await db.fetchval("SELECT now() - last_seen_at FROM staff_sessions WHERE id_hash = $1", id_hash)
    assert seen < timedelta(minutes=1)
    await db.execute("UPDATE staff_sessions SET last_seen_at = now() - interval '31 minutes' WHERE id_hash = $1",
                     id_hash)
    r = await client.get(API + "/queue", params=site.q(), headers=idle.headers())
    assert r.status_code == 401 and r.json()["code"] == "auth_required"

    busy = await sign_in(client, token)
    expires = datetime.fromisoformat(busy.body["expires_at"])
    assert timedelta(hours=12) - timedelta(minutes=1) < expires - datetime.now(UTC) <= timedelta(hours=12)
    busy_hash = hashlib.sha256(busy.cookie.encode()).digest()
    await db.execute("UPDATE staff_sessions SET expires_at = now() - interval '1 second' WHERE id_hash = $1",
                     busy_hash)
    r = await client.get(API + "/queue", params=site.q(), headers=busy.headers())
    assert r.status_code == 401 and r.json()["code"] == "auth_required"
    # ended sessions are purged by the next sign-in
    await sign_in(client, token)
    assert await db.fetchval("SELECT count(*) FROM staff_sessions WHERE id_hash = ANY($1::bytea[])",
                             [id_hash, busy_hash]) == 0
    assert await session_rows(db, staff_id) == 1


async def test_the_lifetimes_come_from_the_settings(storage, database, db):
    async with other_app(storage, COMMENTS_CONSOLE_IDLE_MINUTES="5", COMMENTS_CONSOLE_SESSION_HOURS="1") as app:
        site = await make_site(app.app.state.services, db)
        signed = await sign_in(app, await staff_token(db, "admin", site.id))
        assert signed.body["idle_timeout_s"] == 300
        expires = datetime.fromisoformat(signed.body["expires_at"])
        assert timedelta(minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=1)
        assert 3540 <= int(attributes(signed.set_cookie)["max-age"]) <= 3600
        await db.execute("UPDATE staff_sessions SET last_seen_at = now() - interval '6 minutes' WHERE id_hash = $1",
                         hashlib.sha256(signed.cookie.encode()).digest())
        assert (await app.get(API + "/queue", params=site.q(), headers=signed.headers())).status_code == 401


async def test_revoking_the_api_token_ends_its_sessions_at_once(client, db, site):
    token = await staff_token(db, "moderator", site.id)
    signed = await sign_in(client, token)
    assert (await client.get(API + "/queue", params=site.q(), headers=signed.headers())).status_code == 200
    token_id = int(signed.body["staff"]["id"].removeprefix("token:"))
    assert await token_repo.revoke(db, token_id)  # what `comments-service token revoke` runs
    r = await client.get(API + "/queue", params=site.q(), headers=signed.headers())
    assert r.status_code == 401 and r.json()["code"] == "auth_required"
    assert (await client.get(SESSION, headers=signed.headers())).status_code == 401
    again = await _sign_in(client, token)
    assert again.status_code == 401 and again.json()["code"] == "token_invalid"


async def test_an_sso_token_signs_in_only_where_the_site_lets_it_carry_staff_roles(client, services, db, site):
    signed = await sign_in(client, site.sso_token(sub="mod-7", name="Moderator Seven", role="moderator",
                                                  expires_in=600), site.id)
    assert signed.body["staff"] == {"name": "Moderator Seven", "role": "moderator", "site_id": site.id,
                                    "kind": "sso", "id": f"sso:{site.id}:mod-7"}
    # the session never outlives the SSO token
    expires = datetime.fromisoformat(signed.body["expires_at"])
    assert timedelta(minutes=9) < expires - datetime.now(UTC) <= timedelta(minutes=10)
    assert int(attributes(signed.set_cookie)["max-age"]) <= 600
    queue = await client.get(API + "/queue", params=site.q(), headers=signed.headers())
    assert queue.status_code == 200, queue.text

    strict = await make_site(services, db, settings={})  # sso_staff_roles off
    before = await session_rows(db)
    for token, site_id, status, code in (
            (strict.sso_token(sub="mod-7", role="moderator"), strict.id, 403, "forbidden"),
            (site.sso_token(sub="reader-7"), site.id, 403, "forbidden"),
            (site.sso_token(sub="mod-7", role="moderator"), None, 400, "site_required"),
            (site.sso_token(sub="mod-7", role="moderator"), strict.id, 401, "token_wrong_site"),
            (site.sso_token(sub="mod-7", role="moderator", expires_in=-600), site.id, 401, "token_expired"),
            (site.sso_token(sub="mod-7", role="moderator", secret="another-secret-0123456789abcdefgh"), site.id, 401,
             "token_invalid")):
        r = await _sign_in(client, token, site_id)
        assert r.status_code == status and r.json()["code"] == code, (site_id, r.text)
        assert "set-cookie" not in r.headers
    assert await session_rows(db) == before

    # a site that stops letting SSO tokens carry staff roles ends their sessions
    second = await sign_in(client, site.sso_token(sub="mod-8", role="moderator"), site.id)
    admin = bearer(await staff_token(db, "admin"))
    off = await client.patch(f"{API}/sites/{site.id}", params=site.q(), json={"sso_staff_roles": False},
                             headers=admin)
    assert off.status_code == 200, off.text
    assert (await client.get(API + "/queue", params=site.q(), headers=second.headers())).status_code == 401
    on = await client.patch(f"{API}/sites/{site.id}", params=site.q(), json={"sso_staff_roles": True}, headers=admin)
    assert on.status_code == 200, on.text

    # the session ends with the SSO token's exp
    await db.execute("UPDATE staff_sessions SET expires_at = now() - interval '1 second' WHERE staff_id = $1",
                     f"sso:{site.id}:mod-7")
    assert (await client.get(API + "/queue", params=site.q(), headers=signed.headers())).status_code == 401


async def test_bad_tokens_are_refused_and_write_nothing(client, db, site):
    before = await session_rows(db)
    revoked = await staff_token(db, "admin", site.id)
    await db.execute("UPDATE api_tokens SET revoked_at = now() WHERE id = (SELECT max(id) FROM api_tokens)")
    for token, code in (("csm_" + secrets.token_urlsafe(32), "token_invalid"), (revoked, "token_invalid"),
                        ("not-a-token", "token_invalid")):
        r = await _sign_in(client, token, site.id)
        assert r.status_code == 401 and r.json()["code"] == code, r.text
        assert "set-cookie" not in r.headers
    for body in ({}, {"token": ""}, {"token": "x" * 5000}, {"token": "csm_x", "extra": 1}, {"token": 5}):
        r = await client.post(SESSION, json=body)
        assert r.status_code == 400, (body, r.text)
    assert await session_rows(db) == before
    # a cookie that names no session of ours is no session
    for value in ("x", "A" * 43, "é" * 43, "a" * 4000, "A" * 42 + ";"):
        r = await client.get(API + "/queue", params=site.q(), headers={"Cookie": f"cs_staff={value}".encode()})
        assert r.status_code == 401 and r.json()["code"] == "auth_required", (value, r.text)


async def test_a_site_token_signs_in_to_its_own_site_only(client, db, site):
    other = await make_site(client.app.state.services, db)
    token = await staff_token(db, "moderator", site.id)
    r = await _sign_in(client, token, other.id)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    # an unscoped admin may name any site
    admin = await staff_token(db, "admin")
    assert (await sign_in(client, admin, other.id)).body["staff"]["site_id"] is None


async def test_a_moderator_session_of_one_site_cannot_read_or_act_on_another(client, services, db, site):
    other = await make_site(services, db)
    theirs = await seed_comment(services, db, other.id)
    for signed in (await sign_in(client, await staff_token(db, "moderator", site.id)),
                   await sign_in(client, site.sso_token(sub="mod-a", role="moderator"), site.id)):
        r = await client.get(API + "/queue", params=other.q(), headers=signed.headers())
        assert r.status_code == 403 and r.json()["code"] == "forbidden", r.text
        r = await client.post(f"{API}/comments/{theirs.id}/decision", params=other.q(), json={"action": "approve"},
                              headers=signed.headers())
        assert r.status_code == 403, r.text
        r = await client.patch(f"{API}/sites/{other.id}", params=other.q(), json={"report_threshold": 1},
                               headers=signed.headers())
        assert r.status_code == 403, r.text
    assert await db.fetchval("SELECT status FROM comments WHERE id = $1", theirs.id) == "held"
    assert await db.fetchval("SELECT count(*) FROM moderation_actions WHERE site_id = $1", other.id) == 0


async def test_a_members_sessions_are_capped(client, db, site):
    token = await staff_token(db, "moderator", site.id)
    sessions = [await sign_in(client, token) for _ in range(MAX_SESSIONS_PER_MEMBER + 3)]
    assert await session_rows(db, sessions[0].body["staff"]["id"]) == MAX_SESSIONS_PER_MEMBER
    oldest = await client.get(API + "/queue", params=site.q(), headers=sessions[0].headers())
    newest = await client.get(API + "/queue", params=site.q(), headers=sessions[-1].headers())
    assert oldest.status_code == 401 and newest.status_code == 200


async def test_a_bearer_caller_has_no_console_session(client, db, site):
    token = await staff_token(db, "moderator", site.id)
    r = await client.get(SESSION, headers=bearer(token))
    assert r.status_code == 401 and r.json()["code"] == "auth_required"
    r = await client.delete(SESSION, headers=bearer(token))
    assert r.status_code == 200 and r.json() == {"ended": False}
    # the API's own callers are unchanged: a bearer token needs no CSRF token
    held = await seed_comment(client.app.state.services, db, site.id)
    r = await client.post(f"{API}/comments/{held.id}/decision", params=site.q(), json={"action": "approve"},
                          headers={**bearer(token), "Origin": "https://evil.example"})
    assert r.status_code == 200, r.text
    assert (await client.get(SESSION)).status_code == 401


async def test_sign_in_is_rate_limited_per_address(serve, storage, db):
    async with serve(**limits_env(storage, signin_ip="3600:3")) as live, live.http() as http:
        site = await make_site(live.services, db)
        before = await session_rows(db)
        answers = [await http.post(SESSION, json={"token": "csm_" + secrets.token_urlsafe(32)}) for _ in range(3)]
        assert [a.status_code for a in answers] == [401] * 3
        good = await staff_token(db, "moderator", site.id)
        limited = await http.post(SESSION, json={"token": good})
        assert limited.status_code == 429 and limited.json()["code"] == "rate_limited", limited.text
        assert int(limited.headers["retry-after"]) >= 1
        assert await session_rows(db) == before


@pytest.mark.parametrize("how", ["forwarded https", "https public url"])
async def test_the_cookie_is_secure_over_https(serve, storage, db, how):
    env = ({"COMMENTS_TRUSTED_PROXIES": "127.0.0.1"} if how == "forwarded https"
           else {"COMMENTS_PUBLIC_URL": "https://comments.example"})
    async with serve(**env) as live, live.http() as http:
        site = await make_site(live.services, db)
        token = await staff_token(db, "moderator", site.id)
        headers = {"X-Forwarded-Proto": "https"} if how == "forwarded https" else {}
        r = await http.post(SESSION, json={"token": token}, headers=headers)
        assert r.status_code == 200, r.text
        assert "secure" in attributes(r.headers["set-cookie"])
        if how == "forwarded https":
            # the same proxy forwarding plain http gets no Secure cookie
            plain = await http.post(SESSION, json={"token": token}, headers={"X-Forwarded-Proto": "http"})
            assert "secure" not in attributes(plain.headers["set-cookie"])
