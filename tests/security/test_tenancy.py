"""One site per request, and only the site's own power in its tokens and pages: repeated query
parameters are refused at the edge; SSO staff roles need the site's consent and ``aud``; an article's
url lies on the site's origins and the site can correct what the first commenter's page said."""

from __future__ import annotations

import pytest

from tests.support.sites import article_body, make_site
from tests.support.tokens import staff_token

API = "/api/v1"


@pytest.mark.parametrize("query", [
    "site={a}&site={b}", "site={b}&site={a}", "site={a}&si%74e={b}", "site=&site={b}", "site={a}&site={a}",
])
async def test_a_repeated_site_never_passes_one_sites_cors_for_another(client, services, db, query):
    a = await make_site(services, db)
    b = await make_site(services, db)
    q = query.format(a=a.id, b=b.id)
    token = b.sso_token(sub="victim")
    for method, path, kwargs in (
            ("get", f"{API}/articles/x/comments", {}),
            ("post", f"{API}/articles/x/comments", {"json": article_body("cross-site")}),
            ("post", f"{API}/counts", {"json": {"article_ids": ["x"]}})):
        r = await getattr(client, method)(f"{path}?{q}", headers={"Origin": a.origin, **b.auth(token)}, **kwargs)
        assert r.status_code == 400 and r.json()["code"] == "invalid_request", (method, path, r.text)
        assert "access-control-allow-origin" not in r.headers
    assert await db.fetchval("SELECT count(*) FROM articles WHERE site_id = ANY($1::text[])", [a.id, b.id]) == 0


async def test_any_repeated_parameter_is_refused(client, site):
    r = await client.get(f"{API}/articles/x/comments?site={site.id}&sort=oldest&sort=top")
    assert r.status_code == 400 and "sort" in r.json()["detail"]
    r = await client.get(f"{API}/moderation/queue?site={site.id}&site={site.id}")
    assert r.status_code == 400


async def test_cors_and_the_handler_act_on_one_site(client, site):
    r = await client.post(f"{API}/articles/one-site/comments", params=site.q(), json=article_body("hello"),
                          headers={"Origin": site.origin, **site.auth(site.sso_token())})
    assert r.status_code == 201 and r.headers["access-control-allow-origin"] == site.origin
    assert r.json()["article"]["id"] == "one-site"


async def test_staff_roles_in_sso_tokens_need_the_sites_consent(client, services, db):
    site = await make_site(services, db, settings={})
    staff_token = site.sso_token(sub="editor", role="moderator")  # with aud = the site
    r = await client.get(f"{API}/moderation/queue", params=site.q(), headers=site.auth(staff_token))
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    r = await client.get(f"{API}/me", params=site.q(), headers=site.auth(staff_token))
    assert r.json()["role"] == "reader"
    # a moderator role in a widget token does not publish past the policy either
    r = await client.post(f"{API}/articles/staff/comments", params=site.q(), json=article_body("hi"),
                          headers=site.auth(staff_token))
    assert await db.fetchval("SELECT role FROM users WHERE id = $1", r.json()["user"]["id"]) == "reader"


async def test_staff_roles_need_aud_even_where_the_site_allows_them(client, services, db):
    site = await make_site(services, db, settings={"sso_staff_roles": True})
    without_aud = site.sso_token(sub="editor", role="admin", aud=None)
    r = await client.get(f"{API}/moderation/queue", params=site.q(), headers=site.auth(without_aud))
    assert r.status_code == 403
    with_aud = site.sso_token(sub="editor", role="admin")
    r = await client.get(f"{API}/moderation/queue", params=site.q(), headers=site.auth(with_aud))
    assert r.status_code == 200, r.text


async def test_a_site_may_require_aud_on_every_token(client, services, db):
    site = await make_site(services, db, settings={"sso_require_aud": True})
    r = await client.get(f"{API}/me", params=site.q(), headers=site.auth(site.sso_token()))
    assert r.status_code == 401 and r.json()["code"] == "token_invalid"
    r = await client.get(f"{API}/me", params=site.q(), headers=site.auth(site.sso_token(aud=site.id)))
    # verified, and greeted by name; not stored until it writes
    assert r.status_code == 200 and r.json()["user"] == {"id": None, "name": "Reader One"}


async def test_the_article_url_must_be_on_the_sites_origins(client, db, site):
    host = site.origin.removeprefix("https://")
    for url in ("https://attacker.example/fake", "javascript:alert(1)", "https://news.example.attacker.example/a",
                # a browser goes to attacker.example; urlsplit would say the site's host
                f"https://attacker.example\\@{host}/a", f"https://user:pw@{host}/a", f"https://{host}/a b",
                f"https://{host}/a\nb", f"https://{host}:99999/a"):
        r = await client.post(f"{API}/articles/url-check/comments", params=site.q(),
                              json={"body": "first", "article_url": url, "article_title": "Fake"},
                              headers=site.auth(site.sso_token()))
        assert r.status_code == 400, (url, r.text)
        assert r.json()["code"] in ("article_url_not_allowed", "article_details_required")
    assert await db.fetchval("SELECT count(*) FROM articles WHERE site_id = $1", site.id) == 0
    r = await client.post(f"{API}/articles/url-check/comments", params=site.q(),
                          json={"body": "first", "article_url": f"{site.origin.upper()}/story?p=1#c",
                                "article_title": "Real"}, headers=site.auth(site.sso_token()))
    assert r.status_code == 201, r.text
    assert r.json()["article"]["url"] == f"{site.origin}/story?p=1#c"  # stored as rebuilt from its parts


async def test_the_site_corrects_an_articles_title_and_url(client, db, site):
    r = await client.post(f"{API}/articles/fixme/comments", params=site.q(),
                          json={"body": "first", "article_url": f"{site.origin}/wrong", "article_title": "Wrong"},
                          headers=site.auth(site.sso_token()))
    assert r.status_code == 201
    mod = {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id)}"}
    r = await client.patch(f"{API}/moderation/articles/fixme", params=site.q(), headers=mod,
                           json={"url": "https://attacker.example/x"})
    assert r.status_code == 400 and r.json()["code"] == "article_url_not_allowed"
    r = await client.patch(f"{API}/moderation/articles/fixme", params=site.q(), headers=mod, json={"title": "   "})
    assert r.status_code == 400 and r.json()["code"] == "invalid_request"
    r = await client.patch(f"{API}/moderation/articles/fixme", params=site.q(), headers=mod,
                           json={"title": "Troops return to the border", "url": f"{site.origin}/troops"})
    assert r.status_code == 200, r.text
    assert (r.json()["title"], r.json()["url"]) == ("Troops return to the border", f"{site.origin}/troops")
    page = (await client.get(f"{API}/articles/fixme/comments", params=site.q())).json()
    assert (page["article"]["title"], page["article"]["url"]) == ("Troops return to the border",
                                                                 f"{site.origin}/troops")
    audit = await db.fetchval("SELECT details FROM moderation_actions WHERE site_id = $1 AND "
                              "action = 'article_settings' ORDER BY id DESC LIMIT 1", site.id)
    assert audit["title"] == ["Wrong", "Troops return to the border"]


@pytest.mark.parametrize("header", ["Origin", "Authorization"])
async def test_a_repeated_identity_header_is_refused(serve, services, db, header):
    import asyncio
    from urllib.parse import urlsplit

    site = await make_site(services, db)
    value = site.origin if header == "Origin" else f"Bearer {site.sso_token()}"
    async with serve() as live:
        url = urlsplit(live.url)
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        # raw HTTP: client libraries fold repeated headers into one
        writer.write((f"GET {API}/articles/x/comments?site={site.id} HTTP/1.1\r\nHost: {url.netloc}\r\n"
                      f"{header}: {value}\r\n{header}: {value}\r\nConnection: close\r\n\r\n").encode())
        await writer.drain()
        answer = (await asyncio.wait_for(reader.read(), 10)).decode()
        writer.close()
    assert answer.startswith("HTTP/1.1 400"), answer[:200]
    assert f"The {header} header is given more than once" in answer


@pytest.mark.parametrize("field", ["article_title", "author_name"])
@pytest.mark.parametrize("text", ["T\u202eevil", "two\nlines", "bell\x07", "escape\x1b[31m", "c1\x85"])
async def test_names_and_titles_hold_no_control_or_direction_characters(client, db, site, field, text):
    body = {"body": "hi", "article_url": f"{site.origin}/labels", "article_title": "Fine", "author_name": "Fine"}
    r = await client.post(f"{API}/articles/labels/comments", params=site.q(), json={**body, field: text})
    assert (r.status_code, r.json()["code"]) == (400, "invalid_characters"), r.text
    assert await db.fetchval("SELECT count(*) FROM articles WHERE site_id = $1", site.id) == 0


async def test_moderators_and_host_sites_are_held_to_the_same_label_rule(client, db, site):
    r = await client.post(f"{API}/articles/labels2/comments", params=site.q(), json=article_body("hi"),
                          headers=site.auth(site.sso_token(sub="bidi", name="\u202eenO redaeR\u202c")))
    assert r.status_code == 201 and r.json()["user"]["name"] == "enO redaeR", r.text
    mod = {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id)}"}
    r = await client.patch(f"{API}/moderation/articles/labels2", params=site.q(), headers=mod,
                           json={"title": "Troops \u2066return\u2069"})
    assert (r.status_code, r.json()["code"]) == (400, "invalid_characters"), r.text
