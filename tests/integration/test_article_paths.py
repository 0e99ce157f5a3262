"""Article ids that hold slashes ("2026/11/troops-return") work in every article route when the
widget sends them percent-encoded, as encodeURIComponent does."""

from __future__ import annotations

from urllib.parse import quote

from tests.support.sites import article_body, make_site


async def test_an_id_with_slashes_is_one_article_for_posting_reading_and_moderating(client, services, db) -> None:
    site = await make_site(services, db)
    article = "2026/11/troops-return"
    path = quote(article, safe="")
    posted = await client.post(f"/api/v1/articles/{path}/comments", params=site.q(),
                               json=article_body("Welcome home", author_name="Gina"))
    assert posted.status_code == 201, posted.text
    read = await client.get(f"/api/v1/articles/{path}/comments", params=site.q())
    assert read.status_code == 200 and [c["body_html"] for c in read.json()["comments"]] == ["<p>Welcome home</p>"]
    assert await db.fetchval("SELECT external_id FROM articles WHERE site_id = $1", site.id) == article
    # the same id, lower-case escape, is the same article
    again = await client.get(f"/api/v1/articles/{path.replace('%2F', '%2f')}/comments", params=site.q())
    assert again.json()["article"]["comment_count"] == 1
    # unencoded, it is a path of other segments: no route, as before
    assert (await client.get(f"/api/v1/articles/{article}/comments", params=site.q())).status_code == 404


async def test_an_encoded_slash_elsewhere_is_a_client_error(client, services, db) -> None:
    site = await make_site(services, db)
    for path in ("/console/a%2Fb", "/api/v1/comments/1%2F2/votes", "/api/v1/articles/a%2F%0Ab/comments"):
        r = await client.get(path, params=site.q())
        assert 400 <= r.status_code < 500, (path, r.status_code)
