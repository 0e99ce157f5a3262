"""Static assets and pages: the widget scripts, the moderator page and the demo article, and the
security headers every page of this origin is served with.

No page runs inline script, so each Content-Security-Policy allows scripts from this origin only
(Swagger UI also from its pinned CDN). Comment bodies are sanitised when written; the policy is the
second wall if that ever fails. The moderator page may not be framed (clickjacking a moderator's
decisions); the demo article may be framed by this origin only.
"""

from __future__ import annotations

import html
from functools import lru_cache
from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.openapi.plugins import SwaggerRenderPlugin

_WIDGET = Path(__file__).resolve().parent.parent / "widget"
_DEMO = Path(__file__).resolve().parent.parent / "demo"
# Litestar appends "; charset=utf-8" to text/* media types itself, and only to those
_TYPES = {".js": "application/javascript; charset=utf-8", ".css": "text/css", ".html": "text/html"}

_CDN = "https://cdn.jsdelivr.net"
# images in comments come from wherever their authors link (sites that allow images: see README)
_OWN_PAGE = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
             "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors ")
_MODERATION_CSP = _OWN_PAGE + "'none'"
_DEMO_CSP = _OWN_PAGE + "'self'"
_SWAGGER_CSP = (f"default-src 'none'; script-src 'self' {_CDN}; style-src {_CDN} 'unsafe-inline'; "
                f"img-src 'self' data: {_CDN}; connect-src 'self'; base-uri 'none'; form-action 'none'; "
                "frame-ancestors 'none'")
# any other HTML (the schema router's 404 page): nothing runs, nothing loads, nothing frames it
_STATIC_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
_NO_REFERRER = b"no-referrer"
HTML_POLICIES: dict[str, tuple[bytes, bytes]] = {
    "/moderation": (_MODERATION_CSP.encode(), _NO_REFERRER),
    "/demo": (_DEMO_CSP.encode(), b"strict-origin-when-cross-origin"),
    "/schema": (_SWAGGER_CSP.encode(), _NO_REFERRER),
    "/schema/swagger": (_SWAGGER_CSP.encode(), _NO_REFERRER),
}
_DEFAULT_POLICY = (_STATIC_CSP.encode(), _NO_REFERRER)
# on every response (the edge middleware adds it)
NOSNIFF = (b"x-content-type-options", b"nosniff")


def html_security_headers(path: str) -> list[tuple[bytes, bytes]]:
    """The CSP and referrer policy of the HTML page at ``path`` (the edge middleware adds them)."""
    csp, referrer = HTML_POLICIES.get(path, _DEFAULT_POLICY)
    return [(b"content-security-policy", csp), (b"referrer-policy", referrer)]


# The Swagger UI files this origin's page loads from the CDN, pinned with their Subresource
# Integrity digests (sha384 of the npm package's files, which the CDN serves verbatim): a changed
# file is refused by the browser instead of running beside /moderation. A new version needs new
# digests: `npm pack swagger-ui-dist@VERSION`, then `openssl dgst -sha384 -binary FILE | openssl base64 -A`.
SWAGGER_UI_VERSION = "5.18.2"
SWAGGER_UI_INTEGRITY = {
    "swagger-ui.css": "sha384-rcbEi6xgdPk0iWkAQzT2F3FeBJXdG+ydrawGlfHAFIZG7wU6aKbQaRewysYpmrlW",
    "swagger-ui-bundle.js": "sha384-NXtFPpN61oWCuN4D42K6Zd5Rt2+uxeIT36R7kpXBuY9tLnZorzrJ4ykpqwJfgjpZ",
    "swagger-ui-standalone-preset.js": "sha384-qr68CD0cvHa88PmVu7e1a58Ego4qvKtcvcLdS2a8Mo5zILI01gyIV9jVwJk7X2NU",
}


def _pinned(name: str) -> tuple[str, str]:
    return f"{_CDN}/npm/swagger-ui-dist@{SWAGGER_UI_VERSION}/{name}", SWAGGER_UI_INTEGRITY[name]


class SwaggerPage(SwaggerRenderPlugin):
    """Swagger UI without inline script: the bundle from its CDN (pinned, with SRI), the start-up from
    /swagger-init.js, the schema fetched from /schema/openapi.json. No OAuth redirect page: the API
    uses bearer tokens."""

    def __init__(self) -> None:
        super().__init__(version=SWAGGER_UI_VERSION, js_url=_pinned("swagger-ui-bundle.js")[0],
                         css_url=_pinned("swagger-ui.css")[0],
                         standalone_preset_js_url=_pinned("swagger-ui-standalone-preset.js")[0])

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        title = html.escape(openapi_schema["info"]["title"])
        css, css_sri = _pinned("swagger-ui.css")
        scripts = "".join(f'<script src="{url}" integrity="{sri}" crossorigin="anonymous"></script>'
                          for url, sri in map(_pinned, ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js")))
        return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
                '<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">'
                f'<link rel="stylesheet" href="{css}" integrity="{css_sri}" crossorigin="anonymous"></head>'
                f'<body><div id="swagger-container"></div>{scripts}'
                '<script src="/swagger-init.js"></script></body></html>').encode()

    def receive_router(self, router: Any) -> None:
        return None


@lru_cache(maxsize=32)
def _read(path: Path) -> bytes:
    return path.read_bytes()


def _asset(path: Path, max_age: int = 300) -> Response:
    return Response(content=_read(path), media_type=_TYPES[path.suffix],
                    headers={"Cache-Control": f"public, max-age={max_age}"})


@get("/embed.js", include_in_schema=False)
async def embed_js() -> Response:
    return _asset(_WIDGET / "embed.js")


@get("/embed.css", include_in_schema=False)
async def embed_css() -> Response:
    return _asset(_WIDGET / "embed.css")


@get("/count.js", include_in_schema=False)
async def count_js() -> Response:
    return _asset(_WIDGET / "count.js")


@get("/moderation", include_in_schema=False)
async def moderation_page() -> Response:
    return _asset(_WIDGET / "moderation.html", max_age=0)


@get("/moderation.js", include_in_schema=False)
async def moderation_js() -> Response:
    return _asset(_WIDGET / "moderation.js", max_age=60)


@get("/moderation.css", include_in_schema=False)
async def moderation_css() -> Response:
    return _asset(_WIDGET / "moderation.css", max_age=60)


@get("/swagger-init.js", include_in_schema=False)
async def swagger_init_js() -> Response:
    return _asset(_WIDGET / "swagger-init.js", max_age=60)


@get("/demo", include_in_schema=False)
async def demo_page() -> Response:
    return _asset(_DEMO / "article.html", max_age=0)


@get("/demo.css", include_in_schema=False)
async def demo_css() -> Response:
    return _asset(_DEMO / "article.css", max_age=60)


@get("/", include_in_schema=False)
async def index() -> Response:
    return Response(content=b"", status_code=302, headers={"Location": "/demo"})


PAGE_ROUTES = [embed_js, embed_css, count_js, moderation_page, moderation_js, moderation_css, swagger_init_js,
               demo_page, demo_css, index]
