"""Security headers on every response, diagnostics scoped to the admin's site, and the warning that
images in comments reach third-party hosts.

Every HTML page this origin serves carries a Content-Security-Policy that runs no inline script,
says who may frame it, and comes with nosniff and a referrer policy; the pages themselves hold no
inline script or style their policy would block. The routes are discovered from the app, so a new
HTML page without its policy fails here. A site's admin gets that site's diagnostics only; the
service's own state is for an unscoped admin token.
"""

from __future__ import annotations

import logging
import re
import secrets
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

from comments_service.db import problem_reports
from tests.support.apps import other_app
from tests.support.sites import article_body, make_site
from tests.support.tokens import bearer, staff_token

# pages the service must serve as HTML (the discovery below must find at least these), and in demo mode
KNOWN_HTML = {"/", "/moderation", "/schema", "/schema/swagger", "/schema/{path:str}"}
KNOWN_DEMO_HTML = {"/demo", "/moderation", "/schema", "/schema/swagger", "/schema/{path:str}"}
# the landing page, moderator pages and the API console: no one may frame them
UNFRAMEABLE = {"/", "/moderation", "/schema", "/schema/swagger"}
# long-lived streams: a GET never ends
STREAMS = re.compile(r"/events$")


def csp_directives(header: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


class _PageScan(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.script_srcs: list[str] = []
        self.inline_scripts = 0
        self.inline_styles = 0
        self.handlers: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.handlers += [name for name in attributes if name.startswith("on")]
        if "style" in attributes:
            self.inline_styles += 1
        if tag == "style":
            self.inline_styles += 1
        if tag == "script":
            self._in_script = True
            if attributes.get("src"):
                self.script_srcs.append(attributes["src"])
            else:
                self.inline_scripts += 1

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline_scripts += 1


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: "1" if ":int" in m[0] else "no-such-page", path)


async def _get_routes(client) -> dict[str, object]:
    """route template -> response, for every GET route of the app (streams left out)."""
    answers = {}
    for route in client.app.routes:
        if "GET" not in getattr(route, "methods", ()) or STREAMS.search(route.path):
            continue
        answers[route.path] = await client.get(_concrete(route.path), follow_redirects=False)
    return answers


def _script_allowed(src: str, script_src: list[str]) -> bool:
    if src.startswith("/") and not src.startswith("//"):
        return "'self'" in script_src
    return any(src.startswith(origin + "/") for origin in script_src if origin.startswith("https://"))


async def test_every_html_page_has_its_security_headers(client):
    await _html_pages_are_guarded(client, KNOWN_HTML)


async def test_every_html_page_of_demo_mode_has_its_security_headers(storage, database):
    async with other_app(storage, COMMENTS_DEMO="true") as demo:
        await _html_pages_are_guarded(demo, KNOWN_DEMO_HTML)


async def _html_pages_are_guarded(client, known: set[str]) -> None:
    answers = await _get_routes(client)
    html = {path: r for path, r in answers.items() if r.headers.get("content-type", "").startswith("text/html")}
    assert html.keys() >= known, sorted(html)
    for path, r in html.items():
        assert r.headers["content-type"] == "text/html; charset=utf-8", path  # one charset, said once
        assert r.headers.get("x-content-type-options") == "nosniff", path
        assert r.headers.get("referrer-policy") in ("no-referrer", "strict-origin-when-cross-origin",
                                                    "same-origin", "strict-origin"), path
        policy = csp_directives(r.headers.get("content-security-policy", ""))
        assert policy, f"{path} has no Content-Security-Policy"
        script_src = policy.get("script-src", policy.get("default-src"))
        assert script_src is not None, path
        assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src, (path, script_src)
        assert "*" not in script_src and "https:" not in script_src and "data:" not in script_src, (path, script_src)
        assert policy.get("object-src", policy.get("default-src")) == ["'none'"], path
        assert policy.get("base-uri") == ["'none'"], path
        ancestors = policy.get("frame-ancestors")
        assert ancestors in (["'none'"], ["'self'"]), (path, ancestors)
        if path in UNFRAMEABLE:
            assert ancestors == ["'none'"], path
        if path == "/moderation":
            assert r.headers["referrer-policy"] == "no-referrer"

        scan = _PageScan()
        scan.feed(r.text)
        assert scan.inline_scripts == 0 and not scan.handlers, (path, scan.inline_scripts, scan.handlers)
        for src in scan.script_srcs:
            assert _script_allowed(src, script_src), (path, src, script_src)
        style_src = policy.get("style-src", policy.get("default-src", []))
        if "'unsafe-inline'" not in style_src:
            assert scan.inline_styles == 0, path
        # a page's own scripts and styles are served, as the types the browser needs under nosniff
        for src in scan.script_srcs:
            if src.startswith("/"):
                asset = await client.get(src)
                assert asset.status_code == 200 and "javascript" in asset.headers["content-type"], src


# What the Swagger UI page loads besides its own start-up: the pinned files, from this origin (no CDN),
# with their sha384 digests taken from the npm package (`npm pack swagger-ui-dist@5.31.0`), which the
# swagger-ui-bundle-v2 package the service serves them from holds byte for byte.
SWAGGER_SRI = {
    "/swagger-ui/5.31.0/swagger-ui.css": "sha384-KX9Rx9vM1AmUNAn07bPAiZhFD4C8jdNgG6f5MRNvR+EfAxs2PmMFtUUazui7ryZQ",
    "/swagger-ui/5.31.0/swagger-ui-bundle.js":
        "sha384-cxafBeQ+zYROeFafGFxtFbnp1ICqeS9mG7+f0WWSHzhnrUvwg9Za5CCw6wgrHA7K",
}
SWAGGER_OWN = {"/swagger-init.js", "/favicon.svg"}


class _Subresources(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        url = attributes.get("src") if tag == "script" else attributes.get("href") if tag == "link" else None
        if url and not url.startswith("data:"):
            self.found.append((url, attributes))


async def test_swagger_ui_loads_only_pinned_files_with_subresource_integrity(client):
    """The API console shares its origin with /moderation: a changed file must not run there."""
    import base64
    import hashlib

    for path in ("/schema", "/schema/swagger"):
        r = await client.get(path)
        assert r.status_code == 200, path
        scan = _Subresources()
        scan.feed(r.text)
        assert sorted(url for url, _ in scan.found) == sorted({*SWAGGER_SRI, *SWAGGER_OWN}), path
        for url, attributes in scan.found:
            if url in SWAGGER_SRI:
                assert attributes.get("integrity") == SWAGGER_SRI[url], (path, url)
                served = (await client.get(url)).content
                assert SWAGGER_SRI[url] == "sha384-" + base64.b64encode(hashlib.sha384(served).digest()).decode()


async def test_json_and_problem_responses_are_nosniff(client, site):
    ok = await client.get("/api/v1/articles/hdr-art/comments", params=site.q())
    missing = await client.get("/api/v1/comments/999999999/replies", params=site.q())
    unknown = await client.get("/no-such-path")
    for r in (ok, missing, unknown):
        assert r.headers.get("x-content-type-options") == "nosniff", r.request.url
        assert not r.headers.get("content-type", "").startswith("text/html")


async def test_assets_are_nosniff(client):
    for path in ("/embed.js", "/embed.css", "/count.js", "/challenge.js", "/dialogs.js", "/console/core.js",
                 "/moderation.css", "/landing.css",
                 "/swagger-init.js", *SWAGGER_SRI, "/locales/ru.json", "/locales/ar.json"):
        r = await client.get(path)
        assert r.status_code == 200 and r.headers["x-content-type-options"] == "nosniff", path
        expected = ("text/css; charset=utf-8" if path.endswith(".css") else "application/json"
                    if path.endswith(".json") else "application/javascript; charset=utf-8")
        assert r.headers["content-type"] == expected, path
    # only the bundled languages, by their plain names (English is built into embed.js)
    for path in ("/locales/en.json", "/locales/xx.json", "/locales/ru.js", "/locales/..%2Fembed.js"):
        assert (await client.get(path)).status_code == 404, path


# ---------------------------------------------------------------- diagnostics scope
GLOBAL_ONLY = {"postgres", "redis", "cache", "scoring", "model", "rate_limit_rejections", "errors_by_code",
               "process_id", "build", "migration_level"}


async def _site_with_queue(client, services, db, held: int, pending: int, reports: int):
    site = await make_site(services, db)
    token = site.sso_token(sub="diag-scope")
    for i in range(held + pending):
        r = await client.post("/api/v1/articles/scope-art/comments", params=site.q(), headers=site.auth(token),
                              json=article_body(f"comment {i}"))
        assert r.status_code == 201, r.text
        status = "held" if i < held else "pending_scoring"
        await db.execute("UPDATE comments SET status = $2 WHERE id = $1", r.json()["comment"]["id"], status)
    for _ in range(reports):
        await problem_reports.insert(db, reference=f"R-{secrets.token_hex(4)}", site_id=site.id, user_id=None,
                                     article_external_id="scope-art", comment_id=None, description="it broke",
                                     troubleshoot={}, user_agent=None, request_id=None)
    return site


async def _clear_queue(db, *sites) -> None:
    await db.execute("UPDATE comments SET status = 'published' WHERE site_id = ANY($1::text[])", [s.id for s in sites])


async def test_a_site_admin_sees_only_that_site(client, services, db):
    a = await _site_with_queue(client, services, db, held=2, pending=1, reports=1)
    b = await _site_with_queue(client, services, db, held=3, pending=2, reports=2)
    try:
        scoped = await staff_token(db, "admin", site_id=a.id)
        sso_admin = a.sso_token(sub="a-admin", role="admin")
        answers = [await client.get("/api/v1/diagnostics", headers=bearer(scoped)),
                   # the token's site decides, whatever site the request names
                   await client.get("/api/v1/diagnostics", params=b.q(), headers=bearer(scoped)),
                   await client.get("/api/v1/diagnostics", params=a.q(), headers=a.auth(sso_admin))]
        for r in answers:
            assert r.status_code == 200, r.text
            d = r.json()
            assert d["scope"] == "site" and d["site_id"] == a.id
            assert d["queue"]["depth"] == {"held": 2, "pending_scoring": 1}
            assert d["open_problem_reports"] == 1
            assert d["service_status"] in ("pass", "warn")
            assert not GLOBAL_ONLY & d.keys(), d.keys()
            assert b.id not in r.text
    finally:
        await _clear_queue(db, a, b)


async def test_an_unscoped_admin_sees_the_whole_service(client, services, db):
    a = await _site_with_queue(client, services, db, held=2, pending=1, reports=0)
    b = await _site_with_queue(client, services, db, held=3, pending=2, reports=0)
    try:
        admin = await staff_token(db, "admin")
        r = await client.get("/api/v1/diagnostics", params=a.q(), headers=bearer(admin))
        assert r.status_code == 200, r.text
        d = r.json()
        assert d["scope"] == "global" and d.keys() >= GLOBAL_ONLY
        assert d["queue"]["depth"]["held"] >= 5 and d["queue"]["depth"]["pending_scoring"] >= 3
        assert d["postgres"]["reachable"] and d["postgres"]["pool"]["max"] >= 1
    finally:
        await _clear_queue(db, a, b)


async def test_a_site_moderator_gets_no_diagnostics(client, services, db):
    site = await make_site(services, db)
    moderator = await staff_token(db, "moderator", site_id=site.id)
    assert (await client.get("/api/v1/diagnostics", headers=bearer(moderator))).status_code == 403
    sso_moderator = site.sso_token(sub="a-mod", role="moderator")
    r = await client.get("/api/v1/diagnostics", params=site.q(), headers=site.auth(sso_moderator))
    assert r.status_code == 403


# ---------------------------------------------------------------- images
async def test_saving_a_site_with_images_warns_about_third_party_hosts(services, db, caplog):
    with caplog.at_level(logging.WARNING, logger="comments_service.sites"):
        with_images = await make_site(services, db, images=True)
        await make_site(services, db, images=False)
    warnings = [r for r in caplog.records if r.name == "comments_service.sites"]
    assert len(warnings) == 1 and with_images.id in warnings[0].getMessage()
    assert "IP address" in warnings[0].getMessage()


def test_the_images_option_says_where_readers_addresses_go():
    done = subprocess.run([sys.executable, "-m", "comments_service.cli", "site", "create", "--help"],
                          cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "IP addresses" in " ".join(done.stdout.split())
