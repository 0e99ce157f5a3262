"""GET /api/v1/comments/{id}/source: a comment's markdown goes to its author (so that an edit in any
browser starts from what they wrote) and to no one else, and never into the shared thread pages."""

from __future__ import annotations

from tests.support.sites import article_body, make_site

MARKDOWN = "A **bold** claim, with a [source](https://example.com/report) and `code`."


async def post(client, site, article, text, token=None):
    body = article_body(text)
    if token is None:
        body["author_name"] = "Guest"
    headers = site.auth(token) if token else {}
    response = await client.post(f"/api/v1/articles/{article}/comments", params=site.q(), json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def source(client, site, comment_id, token=None):
    headers = site.auth(token) if token else {}
    return await client.get(f"/api/v1/comments/{comment_id}/source", params=site.q(), headers=headers)


async def test_the_author_gets_their_markdown_in_any_browser(client, site):
    author = site.sso_token(sub="src-author", name="Author")
    posted = await post(client, site, "src-1", MARKDOWN, author)
    comment_id = posted["comment"]["id"]
    # a fresh browser holds nothing of the draft: the rendered HTML is all the page has
    assert "**bold**" not in posted["comment"]["body_html"]

    response = await source(client, site, comment_id, author)
    assert response.status_code == 200, response.text
    assert response.json() == {"id": comment_id, "body": MARKDOWN}
    assert "no-store" in response.headers["cache-control"] and "private" in response.headers["cache-control"]

    # after an edit, the new text
    edited = await client.patch(f"/api/v1/comments/{comment_id}", params=site.q(), headers=site.auth(author),
                                json={"body": "Now *less* bold."})
    assert edited.status_code == 200, edited.text
    assert (await source(client, site, comment_id, author)).json()["body"] == "Now *less* bold."


async def test_a_guest_author_gets_it_with_their_guest_token(client, site):
    posted = await post(client, site, "src-guest", MARKDOWN)
    response = await source(client, site, posted["comment"]["id"], posted["guest_token"])
    assert response.status_code == 200 and response.json()["body"] == MARKDOWN


async def test_no_one_else_gets_it(client, site):
    posted = await post(client, site, "src-2", MARKDOWN, site.sso_token(sub="src-owner"))
    comment_id = posted["comment"]["id"]

    anonymous = await source(client, site, comment_id)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "auth_required"
    other = await source(client, site, comment_id, site.sso_token(sub="src-other", name="Other"))
    assert other.status_code == 403 and other.json()["code"] == "not_author"
    assert MARKDOWN not in other.text
    guest = await post(client, site, "src-2", "Another view")
    as_guest = await source(client, site, comment_id, guest["guest_token"])
    assert as_guest.status_code == 403 and as_guest.json()["code"] == "not_author"


async def test_another_sites_comment_and_someone_elses_hidden_one_read_as_missing(client, services, site, db):
    owner = site.sso_token(sub="src-hidden")
    posted = await post(client, site, "src-3", MARKDOWN, owner)
    comment_id = posted["comment"]["id"]
    other_site = await make_site(services, db)
    elsewhere = await client.get(f"/api/v1/comments/{comment_id}/source", params=other_site.q(),
                                 headers=other_site.auth(other_site.sso_token(sub="src-hidden")))
    assert elsewhere.status_code == 404 and elsewhere.json()["code"] == "comment_not_found"

    # held for review (arranged directly): its author still edits it; to others it does not exist
    await db.execute("UPDATE comments SET status = 'held' WHERE id = $1", comment_id)
    assert (await source(client, site, comment_id, owner)).json()["body"] == MARKDOWN
    other = await source(client, site, comment_id, site.sso_token(sub="src-prober"))
    assert other.status_code == 404 and other.json()["code"] == "comment_not_found"


async def test_a_deleted_comment_has_no_source(client, site):
    author = site.sso_token(sub="src-deleter")
    comment_id = (await post(client, site, "src-4", MARKDOWN, author))["comment"]["id"]
    deleted = await client.delete(f"/api/v1/comments/{comment_id}", params=site.q(), headers=site.auth(author))
    assert deleted.status_code == 204
    response = await source(client, site, comment_id, author)
    assert response.status_code == 409 and response.json()["code"] == "comment_not_editable"


async def test_thread_pages_never_carry_the_source(client, site):
    author = site.sso_token(sub="src-pages")
    await post(client, site, "src-5", MARKDOWN, author)
    for token in (None, author, site.sso_token(sub="src-reader")):
        headers = site.auth(token) if token else {}
        page = await client.get("/api/v1/articles/src-5/comments", params=site.q(), headers=headers)
        assert page.status_code == 200
        assert "**bold**" not in page.text and "](https://example.com/report)" not in page.text
