"""SSO tokens and guest tokens: expired, forged and wrong-site tokens get 401 with a reason."""

from __future__ import annotations

from tests.support.sites import article_body, make_site


async def post_as(client, site, token):
    return await client.post("/api/v1/articles/id-art/comments", params=site.q(), json=article_body("hello"),
                             headers={"Authorization": f"Bearer {token}"})


async def test_valid_sso_token_posts_as_that_reader(client, site):
    resp = await post_as(client, site, site.sso_token("u-42", "Ada"))
    assert resp.status_code == 201 and resp.json()["user"]["name"] == "Ada"


async def test_expired_token(client, site):
    resp = await post_as(client, site, site.sso_token(expires_in=-120))
    assert resp.status_code == 401 and resp.json()["code"] == "token_expired"


async def test_forged_token(client, site):
    resp = await post_as(client, site, site.sso_token(secret="not-the-site-secret-at-all-1234567"))
    assert resp.status_code == 401 and resp.json()["code"] == "token_invalid"


async def test_token_for_another_site(client, site, services, db):
    other = await make_site(services, db)
    resp = await post_as(client, site, other.sso_token(aud=other.id))
    assert resp.status_code == 401 and resp.json()["code"] == "token_wrong_site"


async def test_guest_token_of_another_site(client, site, services, db):
    other = await make_site(services, db)
    guest = await client.post("/api/v1/articles/g/comments", params=other.q(),
                              json=article_body("hi", author_name="Wanderer"))
    resp = await post_as(client, site, guest.json()["guest_token"])
    assert resp.status_code == 401 and resp.json()["code"] == "token_wrong_site"


async def test_garbage_and_malformed_headers(client, site):
    resp = await post_as(client, site, "not.a.jwt")
    assert resp.status_code == 401 and resp.json()["code"] == "token_invalid"
    resp = await client.post("/api/v1/articles/id-art/comments", params=site.q(), json=article_body("x"),
                             headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert resp.status_code == 401 and resp.json()["code"] == "token_invalid"


async def test_token_without_required_claims(client, site):
    import time

    import jwt
    token = jwt.encode({"name": "No Sub", "exp": int(time.time()) + 60}, site.sso_secret, algorithm="HS256")
    resp = await post_as(client, site, token)
    assert resp.status_code == 401 and resp.json()["code"] == "token_invalid"


async def test_me_reports_who_the_widget_is(client, site):
    token = site.sso_token("me-1", "Me")
    await post_as(client, site, token)
    resp = await client.get("/api/v1/me", params=site.q(), headers=site.auth(token))
    assert resp.status_code == 200 and resp.json()["user"]["name"] == "Me" and resp.json()["kind"] == "sso"
    anonymous = await client.get("/api/v1/me", params=site.q())
    assert anonymous.json()["user"] is None
