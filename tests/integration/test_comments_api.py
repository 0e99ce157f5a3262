"""The public thread API through HTTP: post, read, reply, paginate, edit, delete, vote, count."""

from __future__ import annotations

import asyncio

from tests.support.html import unsafe_parts
from tests.support.sites import article_body, make_site


async def post(client, site, article, text, token=None, **extra):
    headers = site.auth(token) if token else {}
    body = article_body(text, **extra)
    if token is None and "author_name" not in extra:
        body["author_name"] = "Guest"
    return await client.post(f"/api/v1/articles/{article}/comments", params=site.q(), json=body, headers=headers)


async def thread(client, site, article, token=None, **params):
    headers = site.auth(token) if token else {}
    resp = await client.get(f"/api/v1/articles/{article}/comments", params=site.q(**params), headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_first_comment_creates_the_article_and_is_published(client, site):
    resp = await post(client, site, "a1", "Hello **world**", token=site.sso_token())
    assert resp.status_code == 201, resp.text
    data = resp.json()
    assert data["status"] == "published" and data["comment"]["body_html"] == "<p>Hello <strong>world</strong></p>"
    assert data["article"] == {"id": "a1", "title": "An article", "url": "https://news.example/a",
                               "comments_open": True, "premoderation": False, "comment_count": 1, "exists": True,
                               "guest_commenting": True}
    page = await thread(client, site, "a1")
    assert [c["id"] for c in page["comments"]] == [data["comment"]["id"]]
    assert page["comments"][0]["author"]["name"] == "Reader One"


async def test_unknown_article_reads_as_an_empty_thread(client, site):
    page = await thread(client, site, "never-commented")
    assert page["comments"] == [] and page["article"]["exists"] is False


async def test_the_first_comment_needs_the_article_url_and_title(client, site):
    resp = await client.post("/api/v1/articles/new-art/comments", params=site.q(),
                             json={"body": "hi", "author_name": "G"})
    assert resp.status_code == 400 and resp.json()["code"] == "article_details_required"


async def test_replies_nest_and_more_replies_come_through_the_cursor(client, site):
    token = site.sso_token()
    root = (await post(client, site, "a2", "root", token=token)).json()["comment"]["id"]
    reply_ids = []
    for i in range(7):
        resp = await post(client, site, "a2", f"reply {i}", token=token, parent_id=root)
        assert resp.status_code == 201
        reply_ids.append(resp.json()["comment"]["id"])
    nested = (await post(client, site, "a2", "deeper", token=token, parent_id=reply_ids[0])).json()["comment"]
    assert nested["depth"] == 2
    page = await thread(client, site, "a2", replies=5)
    top = page["comments"][0]
    assert top["reply_count"] == 7
    assert [r["id"] for r in top["replies"]] == reply_ids[:5]
    assert [r["id"] for r in top["replies"][0]["replies"]] == [nested["id"]]
    more = await client.get(f"/api/v1/comments/{root}/replies", params=site.q(cursor=top["replies_cursor"]))
    assert more.status_code == 200
    assert [r["id"] for r in more.json()["replies"]] == reply_ids[5:]
    assert more.json()["next_cursor"] is None


async def test_top_level_pages_use_keyset_cursors_in_every_sort(client, site):
    token = site.sso_token()
    ids = [(await post(client, site, "a3", f"c{i}", token=token)).json()["comment"]["id"] for i in range(5)]
    for sort, expected in (("oldest", ids), ("newest", ids[::-1])):
        seen, cursor = [], None
        while True:
            params = {"sort": sort, "limit": 2, **({"cursor": cursor} if cursor else {})}
            page = await thread(client, site, "a3", **params)
            seen += [c["id"] for c in page["comments"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == expected, sort


async def test_votes_are_one_per_reader_changeable_and_order_top(client, site):
    author = site.sso_token("author", "Author")
    first = (await post(client, site, "a4", "first", token=author)).json()["comment"]["id"]
    second = (await post(client, site, "a4", "second", token=author)).json()["comment"]["id"]
    voter = site.sso_token("voter", "Voter")
    url = f"/api/v1/comments/{second}/votes"
    for value, score in ((1, 1), (1, 1), (-1, -1), (0, 0), (1, 1)):
        resp = await client.post(url, params=site.q(), json={"value": value}, headers=site.auth(voter))
        assert resp.status_code == 200 and resp.json()["score"] == score
    other = site.sso_token("voter2", "Voter Two")
    await client.post(url, params=site.q(), json={"value": 1}, headers=site.auth(other))
    page = await thread(client, site, "a4", sort="top")
    assert [c["id"] for c in page["comments"]] == [second, first]
    assert page["comments"][0]["upvotes"] == 2
    own = await client.post(f"/api/v1/comments/{first}/votes", params=site.q(), json={"value": 1},
                            headers=site.auth(author))
    assert own.status_code == 400 and own.json()["code"] == "vote_own_comment"
    anonymous = await client.post(url, params=site.q(), json={"value": 1})
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "auth_required"


async def test_edit_and_delete_by_the_author_within_the_window(client, site, db):
    token = site.sso_token("editor", "Editor")
    cid = (await post(client, site, "a5", "typo", token=token)).json()["comment"]["id"]
    parent_of_reply = (await post(client, site, "a5", "keeps a reply", token=token)).json()["comment"]["id"]
    await post(client, site, "a5", "a reply", token=site.sso_token("other", "Other"), parent_id=parent_of_reply)

    edited = await client.patch(f"/api/v1/comments/{cid}", params=site.q(), json={"body": "fixed"},
                                headers=site.auth(token))
    assert edited.status_code == 200 and edited.json()["edited_at"] is not None
    page = await thread(client, site, "a5")
    assert page["comments"][0]["body_html"] == "<p>fixed</p>" and page["comments"][0]["edited_at"]

    stranger = await client.patch(f"/api/v1/comments/{cid}", params=site.q(), json={"body": "mine now"},
                                  headers=site.auth(site.sso_token("other", "Other")))
    assert stranger.status_code == 403 and stranger.json()["code"] == "not_author"

    deleted = await client.delete(f"/api/v1/comments/{cid}", params=site.q(), headers=site.auth(token))
    assert deleted.status_code == 204
    assert (await client.delete(f"/api/v1/comments/{parent_of_reply}", params=site.q(),
                                headers=site.auth(token))).status_code == 204
    page = await thread(client, site, "a5")
    # the comment without replies is gone; the one with a reply stays as a tombstone
    assert [c["id"] for c in page["comments"]] == [parent_of_reply]
    tomb = page["comments"][0]
    assert tomb["deleted"] and tomb["author"] is None and tomb["body_html"] == "" and len(tomb["replies"]) == 1
    assert page["article"]["comment_count"] == 1

    late = (await post(client, site, "a5", "old one", token=token)).json()["comment"]["id"]
    await db.execute("UPDATE comments SET created_at = now() - interval '16 minutes' WHERE id = $1", late)
    resp = await client.patch(f"/api/v1/comments/{late}", params=site.q(), json={"body": "too late"},
                              headers=site.auth(token))
    assert resp.status_code == 403 and resp.json()["code"] == "edit_window_closed"


async def test_guests_get_a_token_that_edits_only_their_own_comments(client, site):
    resp = await post(client, site, "a6", "as a guest", author_name="Visitor")
    assert resp.status_code == 201
    data = resp.json()
    guest_token = data["guest_token"]
    assert guest_token and data["user"]["name"] == "Visitor"
    edit = await client.patch(f"/api/v1/comments/{data['comment']['id']}", params=site.q(), json={"body": "edited"},
                              headers=site.auth(guest_token))
    assert edit.status_code == 200
    other = (await post(client, site, "a6", "someone else", author_name="Other")).json()
    resp = await client.delete(f"/api/v1/comments/{other['comment']['id']}", params=site.q(),
                               headers=site.auth(guest_token))
    assert resp.status_code == 403 and resp.json()["code"] == "not_author"
    again = await post(client, site, "a6", "second as the same guest", token=guest_token)
    assert again.status_code == 201 and again.json()["user"]["id"] == data["user"]["id"]


async def test_a_guest_sees_their_own_comment_awaiting_review_and_no_one_elses(client, site, db):
    mine = (await post(client, site, "a6g", "mine, held", author_name="Visitor")).json()
    theirs = (await post(client, site, "a6g", "theirs, held", author_name="Other")).json()
    sso = (await post(client, site, "a6g", "a subscriber's, held", token=site.sso_token(sub="held-sub"))).json()
    held = [mine["comment"]["id"], theirs["comment"]["id"], sso["comment"]["id"]]
    # held, as the moderation pipeline would leave them: each reader's own view reads them from
    # PostgreSQL on every first page, whatever the cache holds
    await db.execute("UPDATE comments SET status = 'held' WHERE id = ANY($1::bigint[])", held)
    as_guest = await thread(client, site, "a6g", token=mine["guest_token"])
    assert [c["id"] for c in as_guest["own_pending"]] == [mine["comment"]["id"]]
    as_subscriber = await thread(client, site, "a6g", token=site.sso_token(sub="held-sub"))
    assert [c["id"] for c in as_subscriber["own_pending"]] == [sso["comment"]["id"]]
    # a reader who never wrote here, and one who never wrote at all
    assert (await thread(client, site, "a6", token=mine["guest_token"]))["own_pending"] == []
    assert (await thread(client, site, "a6g", token=site.sso_token(sub="never-wrote")))["own_pending"] == []
    assert (await thread(client, site, "a6g"))["own_pending"] == []


async def test_sites_without_guests_require_sign_in(client, services, db):
    closed = await make_site(services, db, guests=False)
    resp = await post(client, closed, "a7", "hello", author_name="Guest")
    assert resp.status_code == 401 and resp.json()["code"] == "auth_required"


async def test_a_returning_guest_writes_nothing_once_the_site_takes_no_guests(client, services, db):
    site = await make_site(services, db, sso=False)
    first = await post(client, site, "a7g", "Before the change", author_name="Gus")
    assert first.status_code == 201, first.text
    token, mine = first.json()["guest_token"], first.json()["comment"]["id"]
    await db.execute("UPDATE sites SET guest_commenting = false WHERE id = $1", site.id)
    services.sites.forget(site.id)
    again = await post(client, site, "a7g", "After the change", token=token)
    assert again.status_code == 403 and again.json()["code"] == "guests_not_allowed", again.text
    edited = await client.patch(f"/api/v1/comments/{mine}", params=site.q(), headers=site.auth(token),
                                json={"body": "Changed after the change"})
    assert edited.status_code == 403 and edited.json()["code"] == "guests_not_allowed", edited.text
    rows = await db.fetch("SELECT c.body_markdown FROM comments c JOIN articles a ON a.id = c.article_id "
                          "WHERE a.site_id = $1", site.id)
    assert [r["body_markdown"] for r in rows] == ["Before the change"]


async def test_counts_for_many_articles_in_one_call(client, site):
    token = site.sso_token()
    for article, n in (("c1", 2), ("c2", 1)):
        for _ in range(n):
            await post(client, site, article, "x", token=token)
    resp = await client.post("/api/v1/counts", params=site.q(), json={"article_ids": ["c1", "c2", "c3"]})
    assert resp.status_code == 200 and resp.json() == {"counts": {"c1": 2, "c2": 1, "c3": 0}}
    await post(client, site, "c2", "one more", token=token)
    resp = await client.post("/api/v1/counts", params=site.q(), json={"article_ids": ["c2"]})
    assert resp.json() == {"counts": {"c2": 2}}


async def test_stored_and_served_html_is_sanitised(client, site):
    resp = await post(client, site, "a8", '[x](javascript:alert(1)) <img src=x onerror=alert(1)> <script>1</script>',
                      token=site.sso_token())
    html = resp.json()["comment"]["body_html"]
    assert unsafe_parts(html) == []
    page = await thread(client, site, "a8")
    assert unsafe_parts(page["comments"][0]["body_html"]) == []


async def test_concurrent_replies_keep_reply_counts_exact(client, site):
    token = site.sso_token()
    root = (await post(client, site, "a9", "root", token=token)).json()["comment"]["id"]
    results = await asyncio.gather(*(post(client, site, "a9", f"r{i}", token=token, parent_id=root) for i in range(10)))
    assert all(r.status_code == 201 for r in results)
    page = await thread(client, site, "a9")
    assert page["comments"][0]["reply_count"] == 10 and page["article"]["comment_count"] == 11


async def test_a_readers_new_name_in_the_sso_token_follows_them(client, site, db):
    """The poster's user row is written only when missing or changed; a changed name, email or role
    in the token still reaches it (and so every comment of theirs), and the reader stays one user."""
    first = await post(client, site, "a-rename", "before", token=site.sso_token(sub="ren-1", name="Ana"))
    again = await post(client, site, "a-rename", "same name", token=site.sso_token(sub="ren-1", name="Ana"))
    renamed = await post(client, site, "a-rename", "after", token=site.sso_token(sub="ren-1", name="Ana Lima",
                                                                               email="ana@news.example"))
    assert {r.status_code for r in (first, again, renamed)} == {201}
    assert first.json()["user"]["id"] == again.json()["user"]["id"] == renamed.json()["user"]["id"]
    page = await thread(client, site, "a-rename")
    assert [c["author"]["name"] for c in page["comments"]] == ["Ana Lima"] * 3
    user = await db.fetchrow("SELECT display_name, email, role FROM users WHERE site_id = $1 AND external_id = 'ren-1'",
                             site.id)
    assert tuple(user) == ("Ana Lima", "ana@news.example", "reader")
