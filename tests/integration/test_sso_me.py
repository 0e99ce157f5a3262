"""SSO as the README documents it: the claims a host site's token needs, and `GET /api/v1/me`
answering who the widget is (and whether a ban stops them) before they have written anything."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta

import jwt

from tests.support.paths import REPO
from tests.support.sites import article_body
from tests.support.tokens import staff_token

API = "/api/v1"


def readme_claims() -> dict[str, bool]:
    """The SSO claims table of README.md: claim -> whether the README says it is required."""
    text = (REPO / "README.md").read_text()
    section = text.split("### Signing readers in (SSO)", 1)[1]
    table = re.search(r"\| claim \| required \| what \|\n\|[-|]+\|\n((?:\|.*\|\n)+)", section)
    assert table, "README.md has no claims table under 'Signing readers in (SSO)'"
    claims: dict[str, bool] = {}
    for row in table.group(1).splitlines():
        names, required = (cell.strip() for cell in row.strip("|").split("|")[:2])
        for name in re.findall(r"`(\w+)`", names):
            claims[name] = required.startswith("yes")
    return claims


async def test_the_readme_claim_table_is_what_verification_requires(client, site):
    now = int(time.time())
    full = {"sub": "claims-reader", "name": "Claims Reader", "exp": now + 600, "iat": now - 5, "nbf": now - 5,
            "email": "reader@news.example", "aud": site.id, "role": "reader"}
    documented = readme_claims()
    assert documented.keys() == full.keys(), "every claim the service reads is in the table, and no other"
    assert documented["exp"] is True

    def me(claims: dict):
        return client.get(f"{API}/me", params=site.q(),
                          headers=site.auth(jwt.encode(claims, site.sso_secret, algorithm="HS256")))

    assert (await me(full)).status_code == 200
    for claim, required in documented.items():
        answer = await me({k: v for k, v in full.items() if k != claim})
        if required:
            assert answer.status_code == 401 and answer.json()["code"] == "token_invalid", (claim, answer.text)
            assert f"'{claim}'" in answer.json()["detail"], (claim, answer.json())
        else:
            assert answer.status_code == 200, (claim, answer.text)


async def test_me_greets_an_sso_reader_by_name_before_their_first_comment(client, db, site):
    token = site.sso_token(sub="newcomer", name="New Comer")
    r = await client.get(f"{API}/me", params=site.q(), headers=site.auth(token))
    assert r.status_code == 200, r.text
    assert r.json()["user"] == {"id": None, "name": "New Comer"} and r.json()["kind"] == "sso"
    assert r.json()["banned"] is False and r.json()["banned_until"] is None
    # reading who one is stores nothing: the row comes with the first write
    assert await db.fetchval("SELECT count(*) FROM users WHERE site_id = $1", site.id) == 0

    posted = await client.post(f"{API}/articles/me-art/comments", params=site.q(), json=article_body("Hi"),
                               headers=site.auth(token))
    assert posted.status_code == 201, posted.text
    r = await client.get(f"{API}/me", params=site.q(), headers=site.auth(token))
    assert r.json()["user"] == {"id": posted.json()["user"]["id"], "name": "New Comer"}


async def test_me_says_a_reader_is_banned_and_until_when(client, db, site):
    moderator = {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id)}"}
    token = site.sso_token(sub="suspended", name="Suspended Reader")
    posted = await client.post(f"{API}/articles/me-ban/comments", params=site.q(), json=article_body("Hi"),
                               headers=site.auth(token))
    user_id = posted.json()["user"]["id"]

    r = await client.post(f"{API}/moderation/users/{user_id}/ban", params=site.q(), json={"duration_days": 2},
                          headers=moderator)
    assert r.status_code == 200, r.text
    me = (await client.get(f"{API}/me", params=site.q(), headers=site.auth(token))).json()
    assert me["banned"] is True
    until = datetime.fromisoformat(me["banned_until"])
    assert until == datetime.fromisoformat(r.json()["standing"]["banned_until"])
    assert timedelta(days=1, hours=23) < until - datetime.now(until.tzinfo) <= timedelta(days=2)

    await client.post(f"{API}/moderation/users/{user_id}/ban", params=site.q(), json={}, headers=moderator)
    me = (await client.get(f"{API}/me", params=site.q(), headers=site.auth(token))).json()
    assert me["banned"] is True and me["banned_until"] is None  # until a moderator lifts it

    await client.delete(f"{API}/moderation/users/{user_id}/ban", params=site.q(), headers=moderator)
    me = (await client.get(f"{API}/me", params=site.q(), headers=site.auth(token))).json()
    assert me["banned"] is False and me["banned_until"] is None


async def test_me_with_an_expired_token_answers_token_expired(client, site):
    r = await client.get(f"{API}/me", params=site.q(), headers=site.auth(site.sso_token(expires_in=-120)))
    assert r.status_code == 401 and r.json()["code"] == "token_expired"
