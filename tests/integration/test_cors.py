"""CORS follows each site's own allowed origins."""


async def test_allowed_origin_gets_cors_headers(client, site):
    resp = await client.get("/api/v1/articles/x/comments", params=site.q(), headers={"Origin": site.origin})
    assert resp.status_code == 200
    assert resp.headers["access-control-allow-origin"] == site.origin and "Origin" in resp.headers["vary"]


async def test_preflight_for_an_allowed_origin(client, site):
    resp = await client.options("/api/v1/articles/x/comments", params=site.q(), headers={
        "Origin": site.origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert resp.status_code == 204
    assert resp.headers["access-control-allow-origin"] == site.origin
    assert "POST" in resp.headers["access-control-allow-methods"]
    assert "authorization" in resp.headers["access-control-allow-headers"]


async def test_other_origins_are_refused_and_get_no_cors_headers(client, site):
    for method in ("get", "options"):
        resp = await getattr(client, method)("/api/v1/articles/x/comments", params=site.q(), headers={
            "Origin": "https://attacker.example", "Access-Control-Request-Method": "POST"})
        assert resp.status_code == 403 and resp.json()["code"] == "origin_not_allowed"
        assert "access-control-allow-origin" not in resp.headers


async def test_an_origin_allowed_for_one_site_is_not_allowed_for_another(client, site, services, db):
    from tests.support.sites import make_site

    other = await make_site(services, db)
    resp = await client.get("/api/v1/articles/x/comments", params=other.q(), headers={"Origin": site.origin})
    assert resp.status_code == 403
