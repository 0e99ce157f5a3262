"""Static assets and pages: the widget scripts, the moderator page, the landing page, the API
console (Swagger UI) and, in demo mode only, the demo article; and the security headers every page
of this origin is served with.

No page runs inline script, and nothing is loaded from another origin: each Content-Security-Policy
allows scripts from this origin only, and Swagger UI's files come from a Python package installed
with the service (a server without internet access shows its console too). Comment bodies are
sanitised when written; the policy is the second wall if that ever fails. The moderator page and
the console may not be framed (clickjacking a moderator's decisions); the demo article may be
framed by this origin only.

Demo mode (``COMMENTS_DEMO``, on under `comments-service run`): ``/`` redirects to the demo article
at ``/demo``. Otherwise ``/`` is a small landing page with links to health, the schema and the
moderator console, and ``/demo`` does not exist: a production server shows no made-up newspaper.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.params import FromPath, FromQuery

from .. import i18n
from ..http_encodings import EncodedBody
from .public_answers import Conditions, PublicAnswer, answer

_WIDGET = Path(__file__).resolve().parent.parent / "widget"
_DEMO = Path(__file__).resolve().parent.parent / "demo"
# Litestar appends "; charset=utf-8" to text/* media types itself, and only to those
_TYPES = {".js": "application/javascript; charset=utf-8", ".css": "text/css", ".html": "text/html",
          ".svg": "image/svg+xml", ".ico": "image/x-icon"}
DAY = 86_400

# images in comments come from wherever their authors link (sites that allow images: see README)
_OWN_PAGE = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
             "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors ")
_MODERATION_CSP = _OWN_PAGE + "'none'"
_DEMO_CSP = _OWN_PAGE + "'self'"
# the landing page runs nothing and loads only its stylesheet and icon
_LANDING_CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
                "frame-ancestors 'none'")
# Swagger UI sets style attributes as it renders, hence 'unsafe-inline' for styles (never for scripts)
_SWAGGER_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
# any other HTML (the schema router's 404 page): nothing runs, nothing loads, nothing frames it
_STATIC_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
_NO_REFERRER = b"no-referrer"
HTML_POLICIES: dict[str, tuple[bytes, bytes]] = {
    "/": (_LANDING_CSP.encode(), _NO_REFERRER),
    "/moderation": (_MODERATION_CSP.encode(), _NO_REFERRER),
    "/demo": (_DEMO_CSP.encode(), b"strict-origin-when-cross-origin"),
    "/schema": (_SWAGGER_CSP.encode(), _NO_REFERRER),
    "/schema/swagger": (_SWAGGER_CSP.encode(), _NO_REFERRER),
}
# the pages an email's links open (api/notifications.py) and the local mailbox (api/dev_mail.py):
# no script at all, their own small style, and a form that posts back to the same page
_LINK_PAGE_CSP = ("default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; "
                  "frame-ancestors 'none'")
for _path in ("/api/v1/notifications/unsubscribe", "/api/v1/notifications/confirm",
              "/api/v1/notifications/alerts-off", "/dev/mail"):
    HTML_POLICIES[_path] = (_LINK_PAGE_CSP.encode(), _NO_REFERRER)
_DEFAULT_POLICY = (_STATIC_CSP.encode(), _NO_REFERRER)
# on every response (the edge middleware adds it)
NOSNIFF = (b"x-content-type-options", b"nosniff")


def html_security_headers(path: str) -> list[tuple[bytes, bytes]]:
    """The CSP and referrer policy of the HTML page at ``path`` (the edge middleware adds them)."""
    csp, referrer = HTML_POLICIES.get(path, _DEFAULT_POLICY)
    return [(b"content-security-policy", csp), (b"referrer-policy", referrer)]


# Swagger UI's files come from the swagger-ui-bundle-v2 package (pinned in pyproject.toml to this
# version), byte for byte the npm package swagger-ui-dist of the same version. The page names them
# with their Subresource Integrity digests (sha384): a changed file is refused by the browser
# instead of running beside /moderation. A new version needs new digests: `npm pack
# swagger-ui-dist@VERSION`, then `openssl dgst -sha384 -binary FILE | openssl base64 -A`.
SWAGGER_UI_VERSION = "5.31.0"
SWAGGER_UI_INTEGRITY = {
    "swagger-ui.css": "sha384-KX9Rx9vM1AmUNAn07bPAiZhFD4C8jdNgG6f5MRNvR+EfAxs2PmMFtUUazui7ryZQ",
    "swagger-ui-bundle.js": "sha384-cxafBeQ+zYROeFafGFxtFbnp1ICqeS9mG7+f0WWSHzhnrUvwg9Za5CCw6wgrHA7K",
}
# the version is in the path, so a browser's cached copy never outlives the file it was
SWAGGER_UI_PREFIX = f"/swagger-ui/{SWAGGER_UI_VERSION}"


def swagger_ui_file(name: str) -> Path:
    """One of the pinned Swagger UI files, where the installed package keeps it."""
    return Path(str(files("swagger_ui_bundle") / "vendor" / f"swagger-ui-{SWAGGER_UI_VERSION}" / name))


class SwaggerPage(SwaggerRenderPlugin):
    """Swagger UI without inline script or another origin: its files from this origin (pinned, with
    SRI), the start-up from /swagger-init.js, the schema fetched from /schema/openapi.json. No
    OAuth redirect page: the API uses bearer tokens."""

    def __init__(self) -> None:
        super().__init__(version=SWAGGER_UI_VERSION, js_url=f"{SWAGGER_UI_PREFIX}/swagger-ui-bundle.js",
                         css_url=f"{SWAGGER_UI_PREFIX}/swagger-ui.css")

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        title = html.escape(openapi_schema["info"]["title"])
        css, js = (f'{SWAGGER_UI_PREFIX}/{name}' for name in ("swagger-ui.css", "swagger-ui-bundle.js"))
        return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
                '<meta name="viewport" content="width=device-width, initial-scale=1">'
                '<link rel="icon" href="/favicon.svg" type="image/svg+xml">'
                f'<link rel="stylesheet" href="{css}" integrity="{SWAGGER_UI_INTEGRITY["swagger-ui.css"]}"></head>'
                '<body><div id="swagger-container"></div>'
                f'<script src="{js}" integrity="{SWAGGER_UI_INTEGRITY["swagger-ui-bundle.js"]}"></script>'
                '<script src="/swagger-init.js"></script></body></html>').encode()

    def receive_router(self, router: Any) -> None:
        return None


@lru_cache(maxsize=32)
def _read(path: Path) -> bytes:
    return path.read_bytes()


def compact_script(source: str) -> str:
    """A widget script as readers download it: without its comment lines, indentation and blank
    lines (a sixth of its gzipped weight, kept in the source for whoever reads it). Line by line,
    and newlines kept, so automatic semicolon insertion reads it as before; safe for scripts with no
    template literal and no string or comment that spans lines (tests/unit/test_widget_size.py)."""
    kept = (line.strip() for line in source.splitlines())
    return "\n".join(line for line in kept if line and not line.startswith("//")) + "\n"


@lru_cache(maxsize=8)
def _script(path: Path) -> bytes:
    return compact_script(path.read_text(encoding="utf-8")).encode()


@lru_cache(maxsize=64)
def _encoded(path: Path, script: bool = False) -> EncodedBody:
    """A file as readers get it, with its tag and its encodings (each made once per process)."""
    return EncodedBody(_script(path) if script else _read(path))


def _send(request: Request, body: EncodedBody, media_type: str, max_age: int,
          *extra: tuple[bytes, bytes]) -> Response:
    """A file's answer: compressed as the browser accepts, revalidated by its tag (304)."""
    if media_type.startswith("text/") and "charset" not in media_type:
        media_type += "; charset=utf-8"
    headers = [(b"cache-control", f"public, max-age={max_age}".encode()), (b"vary", b"Accept-Encoding"), *extra]
    return PublicAnswer(*answer(body, headers, Conditions.of(request.scope), compress=True,
                                content_type=(b"content-type", media_type.encode())))


def _asset(request: Request, path: Path, max_age: int = 300) -> Response:
    return _send(request, _encoded(path), _TYPES[path.suffix], max_age)


def _widget_script(request: Request, name: str) -> Response:
    return _send(request, _encoded(_WIDGET / name, script=True), _TYPES[".js"], 300)


@get("/embed.js", include_in_schema=False)
async def embed_js(request: Request) -> Response:
    return _widget_script(request, "embed.js")


@get("/embed.css", include_in_schema=False)
async def embed_css(request: Request) -> Response:
    return _asset(request, _WIDGET / "embed.css")


@get("/count.js", include_in_schema=False)
async def count_js(request: Request) -> Response:
    return _widget_script(request, "count.js")


# the guests' proof of work, loaded by embed.js only when a guest writes (not in its size budget)
@get("/challenge.js", include_in_schema=False)
async def challenge_js(request: Request) -> Response:
    return _widget_script(request, "challenge.js")


# the forms readers seldom open (reports, the DSA's notices, statements and appeals, the reader's data,
# the troubleshooter), loaded by embed.js the first time one opens (its own size budget)
@get("/dialogs.js", include_in_schema=False)
async def dialogs_js(request: Request) -> Response:
    return _widget_script(request, "dialogs.js")


# the widget's languages besides English (built into embed.js), fetched by it before it draws anything:
# plain JSON (strings only, nothing the host page must let run), readable from any page, as the
# public, credential-free files they are
_LOCALES = _WIDGET / "locales"
WIDGET_LOCALES = frozenset({"ru", "uk", "fr", "de", "es", "tr", "ar", "fa"})


@get("/locales/{name:str}", include_in_schema=False)
async def widget_locale(request: Request, name: FromPath[str]) -> Response:
    code, dot, ext = name.partition(".")
    if code not in WIDGET_LOCALES or dot + ext != ".json":
        raise NotFoundException()
    return _send(request, _encoded(_LOCALES / f"{code}.json"), "application/json", 300,
                 (b"access-control-allow-origin", b"*"))


@get("/moderation", include_in_schema=False)
async def moderation_page(request: Request) -> Response:
    return _asset(request, _WIDGET / "moderation.html", max_age=0)


@get("/moderation.css", include_in_schema=False)
async def moderation_css(request: Request) -> Response:
    return _asset(request, _WIDGET / "moderation.css", max_age=60)


# the console's views, one script (and stylesheet) per view: only files that exist, by a plain name
_CONSOLE = _WIDGET / "console"
_CONSOLE_FILE = re.compile(r"[a-z][a-z_]{0,40}\.(?:js|css)")


@get("/console/{name:str}", include_in_schema=False)
async def console_asset(request: Request, name: FromPath[str]) -> Response:
    if not _CONSOLE_FILE.fullmatch(name) or not (_CONSOLE / name).is_file():
        raise NotFoundException()
    return _asset(request, _CONSOLE / name, max_age=60)


# the console's languages besides English (built into its scripts), fetched by core.js before it draws
_CONSOLE_LOCALES = _CONSOLE / "locales"


@get("/console/locales/{name:str}", include_in_schema=False)
async def console_locale(request: Request, name: FromPath[str]) -> Response:
    code, dot, ext = name.partition(".")
    if code not in WIDGET_LOCALES or dot + ext != ".json" or not (_CONSOLE_LOCALES / name).is_file():
        raise NotFoundException()
    return _send(request, _encoded(_CONSOLE_LOCALES / name), "application/json", 60)


@get("/swagger-init.js", include_in_schema=False)
async def swagger_init_js(request: Request) -> Response:
    return _asset(request, _WIDGET / "swagger-init.js", max_age=60)


@get(f"{SWAGGER_UI_PREFIX}/{{name:str}}", include_in_schema=False)
async def swagger_ui_asset(request: Request, name: FromPath[str]) -> Response:
    if name not in SWAGGER_UI_INTEGRITY:
        raise NotFoundException()
    return _asset(request, swagger_ui_file(name), max_age=DAY)


@get("/favicon.svg", include_in_schema=False)
async def favicon_svg(request: Request) -> Response:
    return _asset(request, _WIDGET / "favicon.svg", max_age=DAY)


@get("/favicon.ico", include_in_schema=False)
async def favicon_ico(request: Request) -> Response:
    return _asset(request, _WIDGET / "favicon.ico", max_age=DAY)


@get("/", include_in_schema=False)
async def landing_page(request: Request) -> Response:
    return _asset(request, _WIDGET / "landing.html", max_age=300)


@get("/landing.css", include_in_schema=False)
async def landing_css(request: Request) -> Response:
    return _asset(request, _WIDGET / "landing.css", max_age=300)


@get("/demo", include_in_schema=False)
async def demo_page(lang: FromQuery[str | None] = None) -> Response:
    """The demo article; ``?lang=`` (one of the widget's languages) embeds the widget in it, as a
    site would with the embed's ``data-lang``."""
    page = _read(_DEMO / "article.html")
    if lang in i18n.LOCALES and lang != i18n.DEFAULT:
        page = page.replace(b'data-container="comments"', f'data-container="comments" data-lang="{lang}"'.encode())
    return Response(content=page, media_type=_TYPES[".html"], headers={"Cache-Control": "public, max-age=0"})


@get("/demo.css", include_in_schema=False)
async def demo_css(request: Request) -> Response:
    return _asset(request, _DEMO / "article.css", max_age=60)


@get("/", include_in_schema=False)
async def demo_index() -> Response:
    return Response(content=b"", status_code=302, headers={"Location": "/demo"})


_COMMON = [embed_js, embed_css, count_js, challenge_js, dialogs_js, widget_locale, moderation_page, moderation_css,
           console_asset, console_locale, swagger_init_js, swagger_ui_asset, favicon_svg, favicon_ico, landing_css]


def page_routes(demo: bool) -> list[HTTPRouteHandler]:
    """The pages of a server in demo mode (``/`` leads to the demo article) or of a real one (``/``
    is the landing page; no demo)."""
    return [*_COMMON, *([demo_page, demo_css, demo_index] if demo else [landing_page])]
