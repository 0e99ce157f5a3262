"""A site's default language: set by its admin, refused when the widget lacks it, and told to the
widget by the public site route (what the widget falls back to when neither the page nor the browser
names a language it has: tests/browser/test_widget_locales.py)."""

from __future__ import annotations

from tests.support.sites import make_site
from tests.support.tokens import bearer, staff_token

API = "/api/v1/moderation"


async def test_the_widget_learns_the_sites_default_language(client, services, db):
    site = await make_site(services, db, settings={"default_language": "ru"}, guests=False)
    r = await client.get("/api/v1/site", params=site.q())
    assert r.status_code == 200, r.text
    assert r.json() == {"id": site.id, "default_language": "ru", "guest_commenting": False}
    assert r.headers["cache-control"] == "public, max-age=300"
    # a shared cache keeps one copy per Origin (the CORS headers differ); no purge call is
    # configured here, so it names no surrogate keys (tests/integration/test_cdn.py has them)
    assert "Origin" in r.headers["vary"] and "surrogate-key" not in r.headers


async def test_an_admin_sets_it_and_a_site_without_one_is_english(client, db, site):
    assert (await client.get("/api/v1/site", params=site.q())).json()["default_language"] == "en"
    admin = bearer(await staff_token(db, "admin"))
    r = await client.patch(f"{API}/sites/{site.id}", json={"default_language": "tg"}, headers=admin)
    assert r.status_code == 400 and "default_language" in r.json()["detail"]
    r = await client.patch(f"{API}/sites/{site.id}", json={"default_language": "fa"}, headers=admin)
    assert r.status_code == 200, r.text
    assert await db.fetchval("SELECT settings->>'default_language' FROM sites WHERE id = $1", site.id) == "fa"


async def test_an_unknown_site_is_a_404_not_a_default(client):
    r = await client.get("/api/v1/site", params={"site": "no-such-site"})
    assert r.status_code == 404 and r.json()["code"] == "unknown_site"
    r = await client.get("/api/v1/site")
    assert r.status_code == 400 and r.json()["code"] == "site_required"
