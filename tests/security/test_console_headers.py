"""The moderator console's pages and answers, header by header: each HTML page named with the
policy it must carry (test_headers_and_scope.py discovers every HTML route and holds the rules
common to all; this file pins what each page of the console and around it gets), the console's
scripts served as scripts under nosniff, and the session's answers never cached.
"""

from __future__ import annotations

import pytest

from tests.security.test_headers_and_scope import csp_directives
from tests.support.apps import other_app
from tests.support.tokens import staff_token

# path -> (frame-ancestors, referrer policy, script-src): what each page must say
PAGES = {
    "/": (["'none'"], "no-referrer", None),  # runs nothing: default-src 'none'
    "/moderation": (["'none'"], "no-referrer", ["'self'"]),
    "/schema": (["'none'"], "no-referrer", ["'self'"]),
    "/schema/swagger": (["'none'"], "no-referrer", ["'self'"]),
    "/schema/no-such-page": (["'none'"], "no-referrer", None),  # the schema router's HTML 404
}
DEMO_PAGES = {
    "/demo": (["'self'"], "strict-origin-when-cross-origin", ["'self'"]),
    "/moderation": (["'none'"], "no-referrer", ["'self'"]),
}


def _check_page(path: str, r, expected: tuple) -> None:
    ancestors, referrer, script_src = expected
    assert r.headers["content-type"].startswith("text/html"), (path, r.headers["content-type"])
    assert r.headers["x-content-type-options"] == "nosniff", path
    assert r.headers["referrer-policy"] == referrer, path
    policy = csp_directives(r.headers["content-security-policy"])
    assert policy["default-src"] == ["'none'"], path
    assert policy.get("frame-ancestors") == ancestors, path
    assert policy.get("base-uri") == ["'none'"], path
    assert policy.get("script-src") == script_src, (path, policy.get("script-src"))
    for directive, sources in policy.items():
        # no inline or evaluated script, and nothing from anywhere, under any directive that runs code
        if directive in ("script-src", "default-src", "script-src-elem", "script-src-attr", "worker-src"):
            assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "https:", "http:", "data:"} & set(sources), path
    # the console may talk to its own origin only (its API, its live stream)
    assert policy.get("connect-src", ["'none'"]) in (["'self'"], ["'none'"]), path


async def test_each_page_carries_its_policy(client):
    for path, expected in PAGES.items():
        r = await client.get(path, follow_redirects=False)
        assert r.status_code == (404 if "no-such" in path else 200), (path, r.status_code)
        _check_page(path, r, expected)


async def test_each_page_of_demo_mode_carries_its_policy(storage, database):
    async with other_app(storage, COMMENTS_DEMO="true") as demo:
        for path, expected in DEMO_PAGES.items():
            r = await demo.get(path)
            assert r.status_code == 200, path
            _check_page(path, r, expected)


async def test_the_console_page_forms_post_to_its_own_origin_only(client):
    policy = csp_directives((await client.get("/moderation")).headers["content-security-policy"])
    assert policy["form-action"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]  # no inline style either


async def test_the_consoles_scripts_are_scripts_under_nosniff(client):
    page = (await client.get("/moderation")).text
    scripts = [part.split('"', 1)[0] for part in page.split('src="')[1:]]
    assert scripts, "the console page loads no script"
    for src in scripts:
        assert src.startswith("/") and not src.startswith("//"), src
        r = await client.get(src)
        assert r.status_code == 200, src
        assert r.headers["content-type"] == "application/javascript; charset=utf-8", src
        assert r.headers["x-content-type-options"] == "nosniff", src
    # a name that is not a file of the console is nothing, not a way into the package
    for name in ("../moderation.html", "..%2fmoderation.html", "core.py", "x.js"):
        assert (await client.get(f"/console/{name}")).status_code == 404, name


@pytest.mark.parametrize("path", ["/moderation/", "/moderation/x", "/api/v1/moderation/session"])
async def test_no_other_console_path_answers_as_an_unguarded_page(client, path):
    r = await client.get(path)
    assert r.headers["x-content-type-options"] == "nosniff"
    if r.headers.get("content-type", "").startswith("text/html"):
        # any HTML there (the console itself, reached with a trailing slash) is framed by no one and
        # runs this origin's files only
        policy = csp_directives(r.headers["content-security-policy"])
        assert policy.get("frame-ancestors") == ["'none'"], path
        assert policy.get("script-src", ["'self'"]) == ["'self'"] and policy["default-src"] == ["'none'"], path


async def test_the_session_answers_are_never_cached(client, db, site):
    token = await staff_token(db, "moderator", site.id)
    signed = await client.post("/api/v1/moderation/session", json={"token": token})
    client.cookies.clear()
    assert signed.status_code == 200
    cookie = {"Cookie": f"cs_staff={signed.cookies['cs_staff']}"}
    current = await client.get("/api/v1/moderation/session", headers=cookie)
    for r in (signed, current):
        assert r.headers["cache-control"] == "no-store"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["content-type"].startswith("application/json")
