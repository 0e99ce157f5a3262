"""Who may use the moderation routes: every route against every kind of caller."""

from __future__ import annotations

import pytest

from tests.support.seeding import seed_comment, seed_reader
from tests.support.sites import make_site
from tests.support.tokens import staff_token

API = "/api/v1/moderation"
ROUTES = [
    ("GET", "/queue", None),
    ("GET", "/counts", None),
    ("GET", "/reason-codes", None),
    ("GET", "/audit", None),
    ("POST", "/comments/{comment}/decision", {"action": "approve"}),
    ("POST", "/decisions", {"comment_ids": ["{comment}"], "action": "approve"}),
    ("GET", "/users/{user}", None),
    ("POST", "/users/{user}/ban", {"duration_days": 1}),
    ("DELETE", "/users/{user}/ban", None),
    ("PATCH", "/users/{user}", {"trusted": False}),
    ("PATCH", "/articles/art-1", {"premoderation": False}),
    ("PATCH", "/sites/{site}", {"report_threshold": 1}),
]
ADMIN_ONLY = {"/sites/{site}"}
# caller -> expected status on a moderator route (None: allowed, any 2xx)
ROLES = {
    "no token": 401,
    "reader sso": 403,
    "revoked api token": 401,
    "moderator token of another site": 403,
    "moderator api token": None,
    "admin api token": None,
    "sso moderator": None,
    "sso admin": None,
}


async def _headers(role: str, db, site, other) -> dict:
    if role == "no token":
        return {}
    if role.startswith("reader"):
        return site.auth(site.sso_token(sub="plain-reader"))
    if role == "sso moderator":
        return site.auth(site.sso_token(sub="mod-1", role="moderator"))
    if role == "sso admin":
        return site.auth(site.sso_token(sub="admin-1", role="admin"))
    if role == "revoked api token":
        token = await staff_token(db, "admin")
        await db.execute("UPDATE api_tokens SET revoked_at = now() WHERE id = (SELECT max(id) FROM api_tokens)")
        return site.auth(token)
    if role == "moderator token of another site":
        return site.auth(await staff_token(db, "admin", other.id))
    if role == "moderator api token":
        return site.auth(await staff_token(db, "moderator", site.id))
    return site.auth(await staff_token(db, "admin"))


def _fill(value, names: dict):
    if isinstance(value, str):
        filled = value.format(**names)
        return int(filled) if value.startswith("{") and filled.isdigit() else filled
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    return value


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("method,path,body", ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
async def test_route_access(client, services, db, site, role, method, path, body):
    other = await make_site(services, db)
    held = await seed_comment(services, db, site.id)
    names = {"comment": str(held.id), "user": str(await seed_reader(db, site.id)), "site": site.id}
    headers = await _headers(role, db, site, other)
    r = await client.request(method, API + _fill(path, names), params=site.q(), headers=headers,
                             json=_fill(body, names) if body is not None else None)
    expected = ROLES[role]
    if path in ADMIN_ONLY and role in ("moderator api token", "sso moderator"):
        expected = 403
    if expected is None:
        assert 200 <= r.status_code < 300, r.text
    else:
        assert r.status_code == expected, r.text
        assert r.json()["code"] in ("auth_required", "token_invalid", "forbidden")
        # nothing was decided, banned or changed by a refused caller
        assert await db.fetchval("SELECT count(*) FROM moderation_actions WHERE site_id = $1", site.id) == 0
