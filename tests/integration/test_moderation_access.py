"""Who may use the moderation routes: every route against every kind of caller."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from comments_service.services.webhook_sender import new_secret
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
    ("GET", "/sites/{site}", None),
    ("GET", "/sites", None),
    ("POST", "/sites", {"id": "made-by-{role_slug}", "origins": ["https://new.example"]}),
    ("DELETE", "/sites/{site}?force=true", None),
    ("GET", "/problem-reports", None),
    ("POST", "/problem-reports/{problem}/close", {}),
    # session routes
    ("GET", "/session", None),
    ("DELETE", "/session", None),
    # people routes
    ("GET", "/people?q=Read", None),
    ("GET", "/people?q={user}", None),
    ("GET", "/users/{user}/profile", None),
    ("POST", "/users/{user}/notes", {"text": "Watch this one."}),
    ("POST", "/users/{user}/suspend", {"hours": 2, "reason": "cool off"}),
    # a reader's data, erased at their request (admins)
    ("DELETE", "/users/{user}/data", {"confirm": "erase"}),
    # articles routes
    ("GET", "/articles", None),
    ("GET", "/articles?sort=held&q=art", None),
    ("GET", "/articles/art-1/thread?include=held,rejected", None),
    ("GET", "/surges", None),
    # copy-paste campaigns
    ("GET", "/campaigns", None),
    ("POST", "/campaigns/{campaign}/decision", {"action": "reject"}),
    ("PATCH", "/articles/art-1", {"close_at": "2031-01-01T00:00:00Z"}),
    # featured routes
    ("POST", "/comments/{published}/feature", {"note": "pick"}),
    ("DELETE", "/comments/{published}/feature", None),
    ("GET", "/articles/art-1/featured", None),
    ("PUT", "/articles/art-1/pin", {"comment_id": "{published}"}),
    ("DELETE", "/articles/art-1/pin", None),
    # live routes
    ("GET", "/events", None),
    ("POST", "/presence", {"comment_id": "{comment}"}),
    # settings and admin routes
    ("POST", "/sites/{site}/try", {"text": "A calm remark about the weather.", "moderation": {"fail_closed": False}}),
    ("GET", "/sites/{site}/policy", None),
    ("POST", "/sites/{site}/sso-secret", None),
    ("GET", "/tokens", None),
    ("POST", "/tokens", {"name": "new moderator", "role": "moderator", "site_id": "{site}"}),
    ("DELETE", "/tokens/{token}", None),
    # audit and stats routes
    ("GET", "/audit.csv", None),
    ("GET", "/audit/actors", None),
    ("GET", "/stats", None),
    # a moderator's own email alerts
    ("GET", "/alerts", None),
    ("PUT", "/alerts", {"email": "desk@news.example", "problem_reports": True, "held_digest_minutes": 30}),
    ("DELETE", "/alerts", None),
    # webhook routes
    ("GET", "/webhooks", None),
    ("POST", "/webhooks", {"url": "https://hooks.example/in", "event_types": ["comment.published"]}),
    ("PATCH", "/webhooks/{webhook}", {"description": "orders", "enabled": True}),
    ("DELETE", "/webhooks/{webhook}", None),
    ("POST", "/webhooks/{webhook}/rotate-secret", None),
    ("POST", "/webhooks/{webhook}/test", None),
    ("GET", "/webhooks/{webhook}/attempts", None),
    ("GET", "/webhooks/events/schema", None),
    # the Digital Services Act's notices, appeals and transparency report (api/dsa.py)
    ("GET", "/notices", None),
    ("POST", "/notices/{notice}/decision", {"action": "keep", "explanation": "Lawful criticism."}),
    ("GET", "/appeals", None),
    ("POST", "/appeals/{appeal}/decision", {"outcome": "confirm", "explanation": "The hold stands."}),
    ("GET", "/transparency", None),
]
ADMIN_ONLY = {"/sites/{site}", "/sites", "/sites/{site}/try", "/sites/{site}/policy", "/sites/{site}/sso-secret",
              "/tokens", "/tokens/{token}", "/webhooks", "/webhooks/{webhook}", "/webhooks/{webhook}/rotate-secret",
              "/webhooks/{webhook}/test", "/webhooks/{webhook}/attempts", "/webhooks/events/schema",
              "/users/{user}/data"}
# the transparency report (Art. 15/24 DSA) is the site's admins'
ADMIN_ONLY.add("/transparency")
# creating and deleting sites: an admin for every site only (an API token without a site)
UNSCOPED_ADMIN_ONLY = {("POST", "/sites"), ("DELETE", "/sites/{site}?force=true")}
# lists that answer every staff member with what is theirs, and documents the same for every admin:
# another site's staff get a 2xx that never names this site
OWN_ONLY = {("GET", "/sites"), ("GET", "/session"), ("DELETE", "/session"), ("GET", "/webhooks/events/schema")}
# the console's session as its cookie names it: a bearer token's holder has none (401) to read
COOKIE_ONLY = {("GET", "/session")}
# an open stream never ends: here only refused callers ask (test_moderation_live.py streams)
STREAMS = {("GET", "/events")}
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
    # the console's cookie (api/staff_session.py), from a moderator token of the site
    "moderator session": None,
    "session without csrf": None,  # refused (csrf_failed) on every state-changing route: below
    "session of another site": 403,
}
OTHER_SITE = {"moderator token of another site", "session of another site"}
MODERATORS = {"moderator api token", "sso moderator", "moderator session", "session without csrf"}


async def _session(client, token: str, csrf: bool = True) -> dict:
    signed = await client.post(API + "/session", json={"token": token})
    client.cookies.clear()  # sent by hand below; the shared client's jar would send it to every test
    headers = {"Cookie": f"cs_staff={signed.cookies['cs_staff']}"}
    return {**headers, "X-CSRF-Token": signed.json()["csrf"]} if csrf else headers


async def _headers(role: str, db, site, other, client) -> dict:
    if role == "no token":
        return {}
    if "session" in role:
        token = await staff_token(db, "admin" if role == "session of another site" else "moderator",
                                  other.id if role == "session of another site" else site.id)
        return await _session(client, token, csrf=role != "session without csrf")
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
    problem = await db.fetchval(
        "INSERT INTO problem_reports (reference, site_id, description, troubleshoot) "
        "VALUES ($1, $2, 'cannot post', '{}') RETURNING id", f"ref-{site.id}", site.id)
    names = {"comment": str(held.id), "user": str(await seed_reader(db, site.id)), "site": site.id,
             "problem": str(problem), "role_slug": role.replace(" ", "-"),
             "published": str((await seed_comment(services, db, site.id, status="published", reason=None)).id),
             "token": str(await db.fetchval(
                 "INSERT INTO api_tokens (name, role, site_id, token_hash) VALUES ('to revoke', 'moderator', $1, "
                 "sha256(convert_to(gen_random_uuid()::text, 'UTF8'))) RETURNING id", site.id)),
             "webhook": str(await db.fetchval(
                 "INSERT INTO webhook_endpoints (site_id, url, secret_sealed, event_types) "
                 "VALUES ($1, 'https://hooks.example/old', $2, '{comment.published}') RETURNING id",
                 site.id, services.keyring.encrypt(new_secret())))}
    # a notice on a published comment, and an author's appeal of the held comment's statement (the
    # automatic moderation's: any staff member of the site may decide it)
    names["notice"] = str(await db.fetchval(
        "INSERT INTO dsa_notices (reference, site_id, comment_id, category, explanation, notifier_name, "
        "notifier_email) VALUES ('N-' || upper(substr(md5(random()::text), 1, 4)) || '-' || "
        "upper(substr(md5(random()::text), 1, 4)), $1, $2, 'defamation', 'False claim.', 'N', 'n@example.org') "
        "RETURNING id", site.id, int(names["published"])))
    names["appeal"] = str(await db.fetchval(
        "INSERT INTO dsa_appeals (site_id, statement_id, appellant, explanation) SELECT site_id, id, 'author', "
        "'Not toxic.' FROM statements_of_reasons WHERE comment_id = $1 RETURNING id", held.id))
    names["campaign"] = str(await db.fetchval(
        "INSERT INTO spam_campaigns (site_id, signature) VALUES ($1, 'sig') RETURNING id", site.id))
    await db.execute("UPDATE comments SET campaign_id = $1 WHERE id = $2", int(names["campaign"]), held.id)
    if (method, path) in STREAMS and ROLES[role] is None:
        return
    headers = await _headers(role, db, site, other, client)
    route, _, query = _fill(path, names).partition("?")
    r = await client.request(method, API + route, params={**site.q(), **dict(parse_qsl(query))}, headers=headers,
                             json=_fill(body, names) if body is not None else None)
    expected = ROLES[role]
    if path in ADMIN_ONLY and role in MODERATORS:
        expected = 403
    if role == "session without csrf" and method != "GET":
        expected = 403
    if (method, path) in COOKIE_ONLY and "session" not in role:
        assert r.status_code == (403 if role == "reader sso" else 401), r.text
        return
    if (method, path) in UNSCOPED_ADMIN_ONLY and expected is None and role != "admin api token":
        expected = 403
    if (method, path) in OWN_ONLY and role in OTHER_SITE:
        assert 200 <= r.status_code < 300, r.text
        assert site.id not in r.text
        return
    if expected is None:
        assert 200 <= r.status_code < 300, r.text
        return
    if role in OTHER_SITE and r.status_code == 404:
        # what belongs to another site may answer exactly as something that does not exist
        assert r.json()["code"].endswith("_not_found"), r.text
    else:
        assert r.status_code == expected, r.text
        assert r.json()["code"] in ("auth_required", "token_invalid", "forbidden", "csrf_failed")
    # nothing was decided, banned or changed by a refused caller
    assert await db.fetchval("SELECT count(*) FROM moderation_actions WHERE site_id = $1", site.id) == 0
