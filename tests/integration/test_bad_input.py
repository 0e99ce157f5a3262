"""Every kind of bad input on the write path: a 4xx with a stable code, and nothing written."""

from __future__ import annotations

import pytest

from tests.support.sites import article_body


async def comment_total(db) -> int:
    return await db.fetchval("SELECT count(*) FROM comments")


async def posted(client, site, article="bad", **body):
    payload = article_body("fine", author_name="Guest")
    payload.update(body)
    return await client.post(f"/api/v1/articles/{article}/comments", params=site.q(), json=payload)


@pytest.mark.parametrize("body,code", [
    ("", "empty_body"), ("   \n\t ", "empty_body"), ("x" * 10_001, "body_too_long"),
    ("nul\x00byte", "invalid_characters"),
])
async def test_bad_bodies(client, site, db, body, code):
    before = await comment_total(db)
    resp = await posted(client, site, body=body)
    assert resp.status_code == 400 and resp.json()["code"] == code, resp.text
    assert resp.json()["detail"] and resp.headers["content-type"].startswith("application/problem+json")
    assert await comment_total(db) == before


async def test_body_at_the_limit_is_accepted(client, site):
    assert (await posted(client, site, body="y" * 10_000)).status_code == 201


async def test_request_over_64kb_is_413(client, site, db):
    before = await comment_total(db)
    resp = await client.post("/api/v1/articles/bad/comments", params=site.q(),
                             content=b'{"body": "' + b"a" * 70_000 + b'"}',
                             headers={"content-type": "application/json"})
    assert resp.status_code == 413 and resp.json()["code"] == "request_too_large"
    assert await comment_total(db) == before


@pytest.mark.parametrize("raw", [b'{"body": "caf\xe9"}', b"{not json", b'{"body": "x"',
                                 b'{"body": ' + b"[" * 5_000 + b"]" * 5_000 + b"}"],
                         ids=["not-utf-8", "not-json", "truncated", "nested-past-the-stack"])
async def test_invalid_json_or_utf8(client, site, raw):
    resp = await client.post("/api/v1/articles/bad/comments", params=site.q(), content=raw,
                             headers={"content-type": "application/json"})
    assert resp.status_code == 400 and resp.json()["code"] in ("invalid_json", "invalid_request"), resp.text


@pytest.mark.parametrize("extra", [{"unexpected": 1}, {"parent_id": "seven"}, {"body": 5}, {"parent_id": 0}])
async def test_unknown_or_mistyped_fields(client, site, extra):
    resp = await posted(client, site, **extra)
    assert resp.status_code == 400 and resp.json()["code"] == "invalid_request", resp.text


async def test_parent_missing_or_in_another_article(client, site, db):
    elsewhere = (await posted(client, site, article="other-article")).json()["comment"]["id"]
    before = await comment_total(db)
    for parent in (elsewhere, 987654321):
        resp = await posted(client, site, parent_id=parent)
        assert resp.status_code == 400 and resp.json()["code"] == "parent_not_found"
    assert await comment_total(db) == before


async def test_reply_deeper_than_the_maximum(client, site):
    parent = None
    for depth in range(7):  # depths 0..6 are allowed
        resp = await posted(client, site, article="deep", parent_id=parent)
        assert resp.status_code == 201, (depth, resp.text)
        parent = resp.json()["comment"]["id"]
    resp = await posted(client, site, article="deep", parent_id=parent)
    assert resp.status_code == 400 and resp.json()["code"] == "thread_too_deep"


async def test_closed_article(client, site, db):
    await posted(client, site, article="closing")
    await db.execute("UPDATE articles SET comments_open = false WHERE site_id = $1 AND external_id = 'closing'",
                     site.id)
    before = await comment_total(db)
    resp = await posted(client, site, article="closing")
    assert resp.status_code == 403 and resp.json()["code"] == "article_closed"
    assert await comment_total(db) == before


async def test_unknown_or_missing_site(client):
    resp = await client.get("/api/v1/articles/x/comments", params={"site": "no-such-site"})
    assert resp.status_code == 404 and resp.json()["code"] == "unknown_site"
    resp = await client.get("/api/v1/articles/x/comments")
    assert resp.status_code == 400 and resp.json()["code"] == "site_required"


async def test_origin_not_allowed_is_refused_before_anything_happens(client, site, db):
    before = await comment_total(db)
    resp = await client.post("/api/v1/articles/bad/comments", params=site.q(),
                             json=article_body("hi", author_name="G"), headers={"Origin": "https://evil.example"})
    assert resp.status_code == 403 and resp.json()["code"] == "origin_not_allowed"
    assert await comment_total(db) == before


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1000}, {"sort": "random"}, {"cursor": "garbage!"},
                                    {"replies": -1}])
async def test_bad_read_parameters(client, site, params):
    resp = await client.get("/api/v1/articles/x/comments", params=site.q(**params))
    assert resp.status_code == 400 and resp.json()["code"] in ("invalid_request", "invalid_cursor"), resp.text


async def test_unknown_route_and_method_are_problems(client):
    resp = await client.get("/api/v1/nothing-here")
    assert resp.status_code == 404 and resp.json()["code"] == "not_found"
    resp = await client.put("/api/v1/counts")
    assert resp.status_code == 405 and resp.json()["code"] == "method_not_allowed"
