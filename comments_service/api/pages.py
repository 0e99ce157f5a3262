"""Static assets and pages: the widget scripts, the moderator page and the demo article."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from litestar import Response, get

_WIDGET = Path(__file__).resolve().parent.parent / "widget"
_DEMO = Path(__file__).resolve().parent.parent / "demo"
_TYPES = {".js": "application/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".html": "text/html; charset=utf-8"}


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


@get("/demo", include_in_schema=False)
async def demo_page() -> Response:
    return _asset(_DEMO / "article.html", max_age=0)


@get("/", include_in_schema=False)
async def index() -> Response:
    return Response(content=b"", status_code=302, headers={"Location": "/demo"})


PAGE_ROUTES = [embed_js, embed_css, count_js, moderation_page, moderation_js, moderation_css, demo_page, index]
