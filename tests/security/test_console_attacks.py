"""Attacks on the moderator console: a sign-in token whose exp no datetime holds, a session that
outlives the SSO secret it was signed in with, a live stream that outlives its sign-out or its
revoked token, a live stream of a site that does not exist, and the caller's text in the audit
download's file name."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest

from comments_service.db import tokens as token_repo
from comments_service.services.site_admin import OPERATOR
from tests.support.sites import make_site
from tests.support.tokens import bearer, staff_token

API = "/api/v1/moderation"
SESSION = API + "/session"


async def _sign_in(http, token: str, site: str | None = None) -> tuple[str, str]:
    """The session cookie's value and the CSRF token of a console signed in with ``token``."""
    r = await http.post(SESSION, json={"token": token, "site": site})
    http.cookies.clear()  # sent by hand below: a shared client must not carry it to other tests
    assert r.status_code == 200, r.text
    return r.headers["set-cookie"].split(";", 1)[0].split("=", 1)[1], r.json()["csrf"]


def _cookie(session: str, csrf: str | None = None) -> dict[str, str]:
    return {"Cookie": f"cs_staff={session}", **({"X-CSRF-Token": csrf} if csrf else {})}


@pytest.mark.parametrize("exp", [10**12, 253402300800, 1e300])
async def test_an_sso_token_whose_exp_no_datetime_holds_signs_in_for_the_sessions_own_lifetime(client, services,
                                                                                               db, exp):
    # valid to the verifier (it is in the future), but past the year 9999: this was a 500
    site = await make_site(services, db)
    token = site.sso_token(sub="far-future", name="Far Future", role="moderator", exp=exp)
    r = await client.post(SESSION, json={"token": token, "site": site.id})
    client.cookies.clear()
    assert r.status_code == 200, r.text
    left = datetime.fromisoformat(r.json()["expires_at"]) - datetime.now(UTC)
    assert timedelta(hours=11) < left <= timedelta(hours=12)


async def test_rotating_the_sso_secret_ends_the_sites_sso_console_sessions(client, services, db):
    site = await make_site(services, db)
    other = await make_site(services, db)
    sso_admin = await _sign_in(client, site.sso_token(sub="adm", name="Site Admin", role="admin"), site.id)
    elsewhere = await _sign_in(client, other.sso_token(sub="adm", name="Other Admin", role="admin"), other.id)
    by_token = await _sign_in(client, await staff_token(db, "moderator", site.id))
    queue = API + "/queue"
    assert (await client.get(queue, params=site.q(), headers=_cookie(*sso_admin))).status_code == 200

    rotated = await client.post(f"{API}/sites/{site.id}/sso-secret", headers=_cookie(*sso_admin))
    assert rotated.status_code == 200, rotated.text
    # signed in with a token of the old secret: the session ends with it, as the token would be refused
    r = await client.get(queue, params=site.q(), headers=_cookie(*sso_admin))
    assert r.status_code == 401 and r.json()["code"] == "auth_required", r.text
    # another site's SSO sessions and the site's API-token sessions are not the secret's
    assert (await client.get(queue, params=other.q(), headers=_cookie(*elsewhere))).status_code == 200
    assert (await client.get(queue, params=site.q(), headers=_cookie(*by_token))).status_code == 200


async def test_replacing_or_removing_the_sso_secret_ends_the_sites_sso_console_sessions(live, db):
    site = await make_site(live.services, db)
    queue = API + "/queue"
    async with live.http() as http:
        for change in ({"sso_secret": "a-new-secret-for-the-host-0123456789abcdef"}, {"remove_sso": True}):
            signed = await _sign_in(http, site.sso_token(sub="mod", name="Moderator", role="moderator"), site.id)
            assert (await http.get(queue, params=site.q(), headers=_cookie(*signed))).status_code == 200
            await live.services.site_admin.update(site.id, staff=OPERATOR, **change)  # what `site update` runs
            r = await http.get(queue, params=site.q(), headers=_cookie(*signed))
            assert r.status_code == 401, (change, r.text)
            site.sso_secret = change.get("sso_secret", site.sso_secret)


class Body:
    """A stream's body, read to its end by a task of its own."""

    def __init__(self, response) -> None:
        self.ended = asyncio.Event()
        self._task = asyncio.create_task(self._drain(response))

    async def _drain(self, response) -> None:
        try:
            async for _ in response.aiter_raw():
                pass
        finally:
            self.ended.set()

    async def ends_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self.ended.wait(), seconds)
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        self._task.cancel()


@pytest.fixture
async def live(serve):
    async with serve(COMMENTS_LIVE_HEARTBEAT_SECONDS="0.3") as running:
        yield running


async def test_a_live_queue_stream_ends_when_its_console_signs_out(live, db):
    site = await make_site(live.services, db)
    token = await staff_token(db, "moderator", site.id)
    async with live.http() as http:
        session, csrf = await _sign_in(http, token)
        async with http.stream("GET", f"{API}/events", params=site.q(), headers=_cookie(session)) as events:
            assert events.status_code == 200
            body = Body(events)
            try:
                assert not await body.ends_within(1.0)  # alive while the session is
                out = await http.delete(SESSION, headers=_cookie(session, csrf))
                assert out.status_code == 200 and out.json() == {"ended": True}
                assert await body.ends_within(5.0), "the stream went on after its console signed out"
            finally:
                body.close()


async def test_a_live_queue_stream_ends_when_its_token_is_revoked(live, db):
    site = await make_site(live.services, db)
    token = await staff_token(db, "moderator", site.id, name="Soon Revoked")
    token_id = await db.fetchval("SELECT id FROM api_tokens WHERE name = 'Soon Revoked' ORDER BY id DESC LIMIT 1")
    async with live.http() as http:
        session, _ = await _sign_in(http, token)
        async with http.stream("GET", f"{API}/events", params=site.q(), headers=_cookie(session)) as by_cookie, \
                http.stream("GET", f"{API}/events", params=site.q(), headers=bearer(token)) as by_bearer:
            assert by_cookie.status_code == 200 and by_bearer.status_code == 200
            bodies = Body(by_cookie), Body(by_bearer)
            try:
                assert not await bodies[0].ends_within(1.0)
                assert await token_repo.revoke(db, token_id)  # what `token revoke` and the console's revoke run
                assert await bodies[0].ends_within(5.0), "the cookie's stream went on after its token was revoked"
                assert await bodies[1].ends_within(5.0), "the bearer's stream went on after its token was revoked"
            finally:
                for body in bodies:
                    body.close()


@pytest.mark.parametrize("site", ['x"; filename=evil.html', "x\r\nSet-Cookie: cs_staff=fixed", "ünïcode", "a/../b"])
async def test_the_audit_downloads_file_name_holds_no_text_of_the_caller(client, db, site):
    # an admin of every site may name any site (an unknown one is an empty log): the name is theirs
    admin = bearer(await staff_token(db, "admin", None))
    r = await client.get(f"{API}/audit.csv", params={"site": site}, headers=admin)
    assert r.status_code == 200, r.text
    assert re.fullmatch(r'attachment; filename="audit-[A-Za-z0-9_-]+-\d{8}-\d{4}\.csv"',
                        r.headers["content-disposition"]), r.headers["content-disposition"]
    assert "set-cookie" not in r.headers


@pytest.mark.parametrize(("site", "status"), [("no-such-site", 404), ("a\x00b", 400)])
async def test_a_live_queue_stream_of_a_site_that_is_none_is_refused_before_it_begins(client, db, site, status):
    # an admin of every site may name any site; one that does not exist broke the stream once begun
    admin = bearer(await staff_token(db, "admin", None))
    async with client.stream("GET", f"{API}/events", params={"site": site}, headers=admin) as events:
        assert events.status_code == status
