"""Article ids with slashes in request paths.

A site names its articles as it likes, and a newsroom's ids are often paths ("2026/11/troops-return",
what an import's ``--url-pattern`` gives). The widget sends an id percent-encoded (its slashes as
%2F), but the server decodes the path before routing, so such an id would split into segments and
match no route. Before routing, an encoded slash is kept as U+0000 instead, a character no article id
may hold (domain/article_ids.py), and ``params.checked_article_id`` makes it a slash again.
"""

from __future__ import annotations

from collections.abc import Awaitable
from urllib.parse import unquote

from litestar.types import ASGIApp, Receive, Scope, Send

SLASH_STAND_IN = "\x00"


class EncodedSlashes:
    __slots__ = ("app",)

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    # Not a coroutine: it hands back the app's own, so a request pays no extra frame for the check.
    # Litestar gives its handler HTTP and websocket scopes only (lifespan goes elsewhere).
    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        scope["path"] = routed_path(scope)
        return self.app(scope, receive, send)


def routed_path(scope: Scope) -> str:
    """The request's path as routing reads it: decoded, with each encoded slash as SLASH_STAND_IN."""
    raw = scope.get("raw_path")
    if raw and b"%2" in raw and (b"%2F" in raw or b"%2f" in raw):
        text = raw.decode("latin-1").replace("%2F", "%00").replace("%2f", "%00")
        return unquote(text.partition("?")[0], errors="replace")
    path: str = scope["path"]
    return path
