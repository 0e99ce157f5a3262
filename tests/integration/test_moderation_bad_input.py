"""Bad input to the moderation and report routes answers a 4xx problem, never a 5xx."""

from __future__ import annotations

import pytest

from tests.support.seeding import seed_comment
from tests.support.tokens import staff_token

API = "/api/v1/moderation"


@pytest.mark.parametrize("method,path,params,body,status", [
    ("GET", "/queue", {"state": "pending"}, None, 400),
    ("GET", "/queue", {"sort": "newest"}, None, 400),
    ("GET", "/queue", {"limit": 0}, None, 400),
    ("GET", "/queue", {"limit": 1000}, None, 400),
    ("GET", "/queue", {"cursor": "%%%"}, None, 400),
    ("GET", "/queue", {"article_id": "a\x01b"}, None, 400),
    ("GET", "/audit", {"cursor": "abc"}, None, 400),
    ("GET", "/audit", {"since": "yesterday"}, None, 400),
    ("GET", "/audit", {"comment_id": "x"}, None, 400),
    ("POST", "/comments/{c}/decision", {}, {"action": "delete"}, 400),
    ("POST", "/comments/{c}/decision", {}, {"action": "approve", "extra": 1}, 400),
    ("POST", "/comments/{c}/decision", {}, {"action": "reject", "reason": "spam", "note": "a\x00b"}, 400),
    ("POST", "/comments/{c}/decision", {}, {"action": "reject", "reason": "spam", "note": "n" * 1001}, 400),
    ("POST", "/comments/abc/decision", {}, {"action": "approve"}, 404),
    ("POST", "/comments/999999999/decision", {}, {"action": "approve"}, 404),
    ("POST", "/decisions", {}, {"comment_ids": [], "action": "approve"}, 400),
    ("POST", "/decisions", {}, {"comment_ids": list(range(1, 502)), "action": "approve"}, 400),
    ("POST", "/decisions", {}, {"comment_ids": [0], "action": "approve"}, 400),
    ("POST", "/decisions", {}, {"comment_ids": [1], "action": "undo"}, 400),
    ("POST", "/users/999999999/ban", {}, {}, 404),
    ("POST", "/users/{u}/ban", {}, {"until": "2030-01-01T00:00:00"}, 400),
    ("POST", "/users/{u}/ban", {}, {"until": "2030-01-01T00:00:00Z", "duration_days": 2}, 400),
    ("POST", "/users/{u}/ban", {}, {"duration_days": 0}, 400),
    ("PATCH", "/users/{u}", {}, {"trusted": "yes"}, 400),
    ("PATCH", "/articles/art-1", {"site": None}, {"comments_open": False}, 400),
    ("PATCH", "/articles/art-1", {}, {"comments_open": False, "headline": "x"}, 400),
])
async def test_bad_moderation_requests(client, services, db, site, method, path, params, body, status):
    held = await seed_comment(services, db, site.id)
    headers = site.auth(await staff_token(db, "moderator", site.id))
    query = {k: v for k, v in {**site.q(), **params}.items() if v is not None}
    r = await client.request(method, API + path.format(c=held.id, u=held.author_id), params=query,
                             headers=headers, json=body)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert await db.fetchval("SELECT status FROM comments WHERE id = $1", held.id) == "held"


@pytest.mark.parametrize("body", [{}, {"reason": "rude"}, {"reason": "spam", "note": "x\x00"},
                                  {"reason": "spam", "note": "n" * 1001}, {"reason": "spam", "why": "x"}])
async def test_bad_reports(client, services, db, site, body):
    shown = await seed_comment(services, db, site.id, status="published", reason=None)
    r = await client.post(f"/api/v1/comments/{shown.id}/reports", params=site.q(), json=body,
                          headers=site.auth(site.sso_token()))
    assert r.status_code == 400, r.text
    assert await db.fetchval("SELECT count(*) FROM reports WHERE comment_id = $1", shown.id) == 0
