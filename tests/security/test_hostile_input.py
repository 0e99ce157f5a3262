"""Hostile input through the real app: deeply nested JSON (in a request body or in a token's
unverified payload), numbers beyond every range (cursor keys and ids, path and query integers,
token dates) and odd digits. Each is a 4xx from the error catalogue, never a 500.

The route lists come from the app's own OpenAPI schema, so a route added later is covered too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest

from comments_service.errors import CATALOGUE
from tests.support.tokens import SSO_SECRET, staff_token

# deeper than the interpreter's recursion limit, well under the request size limit
DEPTH = 5_000
STREAMING = ("/events",)
HUGE_INTS = [2**63, 10**30, -(2**63) - 1]


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def jwt_of(header: bytes, payload: bytes, key: bytes = SSO_SECRET.encode()) -> str:
    """A token built from raw segments (PyJWT cannot write JSON nested this deep)."""
    signing_input = f"{b64(header)}.{b64(payload)}"
    return f"{signing_input}.{b64(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())}"


def nested(depth: int = DEPTH, opener: str = "[") -> str:
    if opener == "[":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


HEADER = b'{"alg":"HS256","typ":"JWT"}'
NESTED_TOKENS = {
    "payload-array": jwt_of(HEADER, ('{"sub":"u","name":"n","exp":9999999999,"x":' + nested() + "}").encode()),
    "payload-object": jwt_of(HEADER, nested(opener="{").encode()),
    "header": jwt_of(('{"alg":"HS256","x":' + nested() + "}").encode(), b'{"sub":"u","exp":9999999999}'),
}


def assert_problem(resp, code: str | None = None) -> None:
    assert 400 <= resp.status_code < 500, f"{resp.status_code}: {resp.text[:300]}"
    body = resp.json()
    assert body["code"] in CATALOGUE and CATALOGUE[body["code"]].status == resp.status_code, body
    assert resp.headers["content-type"].startswith("application/problem+json")
    if code is not None:
        assert body["code"] == code, body


def operations(client):
    """(method, path template, operation) for every non-streaming route in the app's schema."""
    schema = client.app.openapi_schema.to_schema()
    for path, item in schema["paths"].items():
        if path.endswith(STREAMING):
            continue
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield method.upper(), path, op


def fill(path: str, site_id: str, **overrides) -> str:
    values = {"article_id": "hostile-article", "comment_id": 1, "user_id": 1, "report_id": 1, "webhook_id": 1,
              "subscription_id": 1, "campaign_id": 1,
              "notice_id": 1, "appeal_id": 1, "statement_id": 1, "reference": "N-AAAA-AAAA",
              "site_id": site_id, **overrides}
    return path.format(**values)


def is_integer(param: dict) -> bool:
    schema = param.get("schema", {})
    return schema.get("type") == "integer" or any(s.get("type") == "integer" for s in schema.get("oneOf", []))


@pytest.fixture
async def admin(db) -> dict[str, str]:
    return {"Authorization": f"Bearer {await staff_token(db, 'admin', None)}"}


# ------------------------------------------------------------------ nested JSON
@pytest.mark.parametrize("which", list(NESTED_TOKENS))
@pytest.mark.parametrize("method, path", [("GET", "/api/v1/articles/hostile/comments"),
                                          ("POST", "/api/v1/articles/hostile/comments"),
                                          ("GET", "/api/v1/me"),
                                          ("GET", "/api/v1/moderation/queue")])
async def test_a_token_with_deeply_nested_json_is_token_invalid(client, site, method, path, which):
    resp = await client.request(method, path, params=site.q(), json={"body": "hello", "author_name": "G"}
                                if method == "POST" else None,
                                headers={"Authorization": f"Bearer {NESTED_TOKENS[which]}"})
    assert_problem(resp, "token_invalid" if "moderation" not in path else None)


@pytest.mark.parametrize("which", list(NESTED_TOKENS))
async def test_the_troubleshooter_diagnoses_a_token_with_deeply_nested_json(client, site, which):
    resp = await client.get("/api/v1/troubleshoot", params=site.q(),
                            headers={"Authorization": f"Bearer {NESTED_TOKENS[which]}"})
    assert resp.status_code == 200, resp.text
    token = next(c for c in resp.json()["checks"] if c["id"] == "token")
    assert token["status"] == "problem" and token["code"] == "token_invalid", token


@pytest.mark.parametrize("shape", ["array", "object", "in-a-field"])
async def test_every_json_body_nested_too_deeply_is_invalid_json(client, site, admin, db, shape):
    raw = {"array": nested(), "object": nested(opener="{"), "in-a-field": '{"body":' + nested() + "}"}[shape]
    before = await db.fetchval("SELECT count(*) FROM comments")
    seen = []
    for method, path, op in operations(client):
        if "requestBody" not in op:
            continue
        resp = await client.request(method, fill(path, site.id), params=site.q(), content=raw.encode(),
                                    headers={"content-type": "application/json", **admin})
        assert_problem(resp, "invalid_json")
        seen.append(path)
    assert "/api/v1/articles/{article_id}/comments" in seen and "/api/v1/counts" in seen, seen
    assert any(p.startswith("/api/v1/moderation/") for p in seen), seen
    assert await db.fetchval("SELECT count(*) FROM comments") == before


async def test_json_nested_within_the_limit_is_an_ordinary_validation_error(client, site):
    resp = await client.post("/api/v1/articles/hostile/comments", params=site.q(),
                             content=('{"body":' + nested(200) + "}").encode(),
                             headers={"content-type": "application/json"})
    assert_problem(resp, "invalid_request")


# ------------------------------------------------------------------ cursors
def cursor(*fields) -> str:
    return b64(json.dumps(list(fields)).encode())


@pytest.mark.parametrize("url, params", [
    ("/api/v1/articles/hostile/comments", {"cursor": cursor("oldest", 10**20, 1)}),
    ("/api/v1/articles/hostile/comments", {"sort": "newest", "cursor": cursor("newest", -(10**20), 1)}),
    ("/api/v1/articles/hostile/comments", {"sort": "newest", "cursor": cursor("newest", 2**63 + 5, 1)}),
    ("/api/v1/articles/hostile/comments", {"sort": "top", "cursor": cursor("top", 2**31, 1)}),
    ("/api/v1/articles/hostile/comments", {"sort": "top", "cursor": cursor("top", -(2**31) - 1, 1)}),
    ("/api/v1/articles/hostile/comments", {"cursor": cursor("oldest", 1, 2**63)}),
    ("/api/v1/articles/hostile/comments", {"cursor": cursor("oldest", 1, -1)}),
    ("/api/v1/comments/1/replies", {"cursor": cursor("replies", -(10**17), 1)}),
    ("/api/v1/comments/1/replies", {"cursor": cursor("replies", 10**18, 1)}),
    ("/api/v1/comments/1/replies", {"cursor": cursor("replies", 1, 10**30)}),
])
async def test_a_cursor_out_of_range_is_invalid_cursor(client, site, url, params):
    assert_problem(await client.get(url, params=site.q(**params)), "invalid_cursor")


@pytest.mark.parametrize("params", [
    {"cursor": cursor("held", "oldest", 1e300, 1)},
    {"cursor": cursor("held", "oldest", -1e30, 1)},
    {"cursor": cursor("held", "oldest", 1.0, 2**63)},
    {"sort": "score", "cursor": cursor("held", "score", 0.5, 10**30)},
    {"sort": "score", "cursor": cursor("held", "score", 0.5, -1)},
])
async def test_a_moderation_queue_cursor_out_of_range_is_invalid_cursor(client, site, admin, params):
    resp = await client.get("/api/v1/moderation/queue", params=site.q(**params), headers=admin)
    assert_problem(resp, "invalid_cursor")


@pytest.mark.parametrize("url", ["/api/v1/moderation/audit", "/api/v1/moderation/problem-reports"])
@pytest.mark.parametrize("value", ["\u00b2", "1\u00b3", "9" * 20])
async def test_a_numeric_cursor_needs_ascii_digits_within_int64(client, site, admin, url, value):
    """``"²".isdigit()`` is true but ``int("²")`` raises."""
    assert_problem(await client.get(url, params=site.q(cursor=value), headers=admin), "invalid_cursor")


# ------------------------------------------------------------------ numbers beyond range
@pytest.mark.parametrize("value", HUGE_INTS)
async def test_every_integer_path_parameter_beyond_int64_is_4xx(client, site, admin, value):
    tried = 0
    for method, path, op in operations(client):
        names = [p["name"] for p in op.get("parameters", []) if p["in"] == "path" and is_integer(p)]
        if not names:
            continue
        kwargs = {"json": {}} if "requestBody" in op else {}
        resp = await client.request(method, fill(path, site.id, **dict.fromkeys(names, value)), params=site.q(),
                                    headers=admin, **kwargs)
        assert_problem(resp)
        tried += 1
    assert tried >= 10


@pytest.mark.parametrize("value", HUGE_INTS + [10**400])
async def test_every_integer_query_parameter_out_of_range_is_invalid_request(client, site, admin, value):
    tried = 0
    for method, path, op in operations(client):
        names = [p["name"] for p in op.get("parameters", []) if p["in"] == "query" and is_integer(p)]
        for name in names:
            resp = await client.request(method, fill(path, site.id), params=site.q(**{name: str(value)}),
                                        headers=admin, **({"json": {}} if "requestBody" in op else {}))
            assert_problem(resp)
            tried += 1
    assert tried >= 8


# ------------------------------------------------------------------ token dates
def signed(claims: dict) -> str:
    return jwt_of(HEADER, json.dumps({"sub": "hostile-reader", "name": "Hostile", **claims}).encode())


LATER = int(time.time()) + 3600
# (claims, the troubleshooter's token check status, its code)
DATE_CLAIMS = [
    ({"exp": 10**12}, "ok", None),
    ({"exp": 1e12 + 0.5}, "ok", None),
    ({"exp": 253402300800}, "ok", None),  # the first second of year 10000
    ({"exp": 1e300}, "ok", None),
    ({"exp": 10**400}, "ok", None),
    ({"exp": -(10**400)}, "problem", "token_expired"),
    ({"exp": -1e300}, "problem", "token_expired"),
    ({"exp": -62135596801}, "problem", "token_expired"),  # a second before year 1
    ({"exp": True}, "problem", "token_invalid"),
    ({"exp": "9999999999"}, "problem", "token_invalid"),
    ({"exp": None}, "problem", "token_invalid"),
    ({"exp": LATER, "iat": 10**400}, "problem", "token_invalid"),
    ({"exp": LATER, "nbf": 1e300}, "problem", "token_invalid"),
    ({"exp": LATER, "iat": -(10**400), "nbf": -1e300}, "ok", None),
    ({"exp": LATER, "iat": False}, "problem", "token_invalid"),
]


@pytest.mark.parametrize("claims, status, code", DATE_CLAIMS, ids=[repr(c)[:40] for c, _, _ in DATE_CLAIMS])
async def test_token_dates_of_any_size_get_a_diagnosis(client, site, claims, status, code):
    resp = await client.get("/api/v1/troubleshoot", params=site.q(),
                            headers={"Authorization": f"Bearer {signed(claims)}"})
    assert resp.status_code == 200, resp.text
    token = next(c for c in resp.json()["checks"] if c["id"] == "token")
    assert (token["status"], token.get("code")) == (status, code), token


@pytest.mark.parametrize("claims, status, code", DATE_CLAIMS, ids=[repr(c)[:40] for c, _, _ in DATE_CLAIMS])
async def test_token_dates_of_any_size_sign_in_or_are_refused(client, site, claims, status, code):
    resp = await client.get("/api/v1/me", params=site.q(), headers={"Authorization": f"Bearer {signed(claims)}"})
    if status == "ok":
        assert resp.status_code == 200, resp.text
    else:
        assert_problem(resp, code)


async def test_a_token_of_several_kilobytes_is_token_invalid(client, site):
    token = f"{b64(HEADER)}.{'A' * 6_000}.{'B' * 43}"
    resp = await client.get("/api/v1/me", params=site.q(), headers={"Authorization": f"Bearer {token}"})
    assert_problem(resp, "token_invalid")
