"""One table of error codes: every code the API can return is in CATALOGUE with a plain-language
help text; the troubleshooter and the widget explain codes from that same table; problem bodies
carry the request id that the X-Request-ID header carries."""

from __future__ import annotations

import ast
from pathlib import Path

from comments_service.api.problems import _STATUS_CODES
from comments_service.errors import CATALOGUE

SOURCE = Path(__file__).resolve().parents[2] / "comments_service"
# callables whose argument at this position is an error code
CODE_ARGS = {"DomainError": 0, "problem_response": 0, "problem_bytes": 0, "_catalogued": 3}


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def codes_in_source() -> dict[str, list[str]]:
    """code -> where it is raised; string constants anywhere in the code argument (a conditional
    expression choosing between two codes yields both)."""
    found: dict[str, list[str]] = {}
    for path in SOURCE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or _name(node.func) not in CODE_ARGS:
                continue
            index = CODE_ARGS[_name(node.func)]
            if len(node.args) <= index:
                continue
            for const in ast.walk(node.args[index]):
                if isinstance(const, ast.Constant) and isinstance(const.value, str):
                    found.setdefault(const.value, []).append(f"{path.relative_to(SOURCE.parent)}:{node.lineno}")
    return found


def test_every_code_raised_is_in_the_catalogue_with_help():
    found = codes_in_source()
    # the subclasses raise these two; the mapper turns bare HTTP errors into these
    for code in ("rate_limited", "service_unavailable", *_STATUS_CODES.values()):
        found.setdefault(code, []).append("errors.py / api/problems.py")
    assert len(found) >= 25, "the scan found too few codes: is it still reading the source?"
    missing = {code: where for code, where in found.items() if code not in CATALOGUE}
    assert not missing, f"codes raised but not in CATALOGUE: {missing}"
    for code in found:
        info = CATALOGUE[code]
        assert info.help.strip() and info.message.strip(), code
        assert 400 <= info.status < 600, code


def test_catalogue_entries_are_plain_language():
    for code, info in CATALOGUE.items():
        assert info.help[0].isupper() and info.help.rstrip().endswith((".", "!")), code
        for jargon in ("JWT", "SQL", "Redis", "PostgreSQL", "exception", "null"):
            assert jargon not in info.help, (code, jargon)


async def test_the_widget_and_troubleshooter_read_the_same_table(client, site):
    r = await client.get("/api/v1/troubleshoot/codes", params=site.q())
    assert r.status_code == 200
    served = r.json()["codes"]
    assert served.keys() == CATALOGUE.keys()
    assert all(served[c]["help"] == CATALOGUE[c].help and served[c]["status"] == CATALOGUE[c].status for c in served)

    expired = site.sso_token(expires_in=-600)
    answer = await client.get("/api/v1/troubleshoot", params=site.q(), headers={**site.auth(expired),
                                                                                "Origin": "https://elsewhere.example"})
    coded = [c for c in answer.json()["checks"] if c.get("code")]
    assert {c["code"] for c in coded} >= {"token_expired", "origin_not_allowed"}
    for check in coded:
        assert check["explanation"].startswith(CATALOGUE[check["code"]].help), check
    # the API's own error for the same token carries the same code
    refused = await client.post("/api/v1/articles/a1/comments", params=site.q(), headers=site.auth(expired),
                                json={"body": "hi", "article_url": "https://news.example/a", "article_title": "A"})
    assert refused.status_code == 401 and refused.json()["code"] == "token_expired"


async def test_problem_body_carries_the_request_id_of_the_header(client, site):
    r = await client.get("/api/v1/comments/123456789/replies", params=site.q())
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["request_id"] == r.headers["x-request-id"] and len(r.headers["x-request-id"]) >= 8

    mine = "widget-req-0001"
    r = await client.get("/api/v1/articles/x/comments", params={"site": "nosuchsite"}, headers={"X-Request-ID": mine})
    assert r.status_code == 404
    assert r.headers["x-request-id"] == mine and r.json()["request_id"] == mine
