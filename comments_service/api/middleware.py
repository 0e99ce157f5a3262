"""Request ids and per-site CORS, as ASGI middleware around every route.

CORS cannot be a static list here: each site names its own allowed origins, and every public
request names its site in the ``site`` query parameter. A browser request whose Origin the site
does not allow is refused before any handler runs.
"""

from __future__ import annotations

import os
import re
from urllib.parse import parse_qs

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import DomainError
from ..logs import request_id
from .problems import PROBLEM_JSON, problem_bytes

_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_PUBLIC_PREFIX = "/api/v1/"
_PRIVATE_PREFIXES = ("/api/v1/moderation", "/api/v1/diagnostics")
# The troubleshooter answers every origin (it reports a refused origin as one of its checks), and
# lets the page read the answer: it returns nothing about anyone but the token's own holder.
_ANSWERS_ANY_ORIGIN = "/api/v1/troubleshoot"
ALLOW_HEADERS = "authorization, content-type, x-request-id"
ALLOW_METHODS = "GET, POST, PATCH, DELETE, OPTIONS"
EXPOSE_HEADERS = "x-request-id, retry-after"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


class RequestIdMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        incoming = _header(scope, b"x-request-id")
        rid = incoming if incoming and _INCOMING_ID.match(incoming) else os.urandom(16).hex()
        token = request_id.set(rid)
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await next_app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)


class SiteCorsMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        path: str = scope["path"]
        origin = _header(scope, b"origin")
        if origin is None or not path.startswith(_PUBLIC_PREFIX) or path.startswith(_PRIVATE_PREFIXES):
            await next_app(scope, receive, send)
            return
        if path == _ANSWERS_ANY_ORIGIN:
            await self._any_origin(scope, receive, send, next_app, origin)
            return
        site_id = (parse_qs(scope.get("query_string", b"").decode("latin-1")).get("site") or [None])[0]
        directory = scope["litestar_app"].state.services.sites
        try:
            entry = await directory.get(site_id)
        except DomainError as err:
            await self._refuse(send, err.code, err.message)
            return
        if not directory.origin_allowed(entry.site, origin):
            await self._refuse(send, "origin_not_allowed", f"The site {entry.site.id!r} does not allow {origin}.")
            return
        await self._with_cors(scope, receive, send, next_app, origin, ALLOW_METHODS)

    @staticmethod
    async def _any_origin(scope: Scope, receive: Receive, send: Send, next_app: ASGIApp, origin: str) -> None:
        await SiteCorsMiddleware._with_cors(scope, receive, send, next_app, origin, "GET, OPTIONS")

    @staticmethod
    async def _with_cors(scope: Scope, receive: Receive, send: Send, next_app: ASGIApp, origin: str,
                         methods: str) -> None:
        """Answer a preflight, or pass the request on and add CORS headers to its response."""
        cors = [(b"access-control-allow-origin", origin.encode()), (b"vary", b"Origin"),
                (b"access-control-expose-headers", EXPOSE_HEADERS.encode())]
        if scope["method"] == "OPTIONS" and _header(scope, b"access-control-request-method"):
            await send({"type": "http.response.start", "status": 204, "headers": [
                *cors, (b"access-control-allow-methods", methods.encode()),
                (b"access-control-allow-headers", ALLOW_HEADERS.encode()), (b"access-control-max-age", b"600")]})
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *cors]
            await send(message)

        await next_app(scope, receive, send_with_cors)

    @staticmethod
    async def _refuse(send: Send, code: str, detail: str) -> None:
        status, body = problem_bytes(code, detail)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"vary", b"Origin")]})
        await send({"type": "http.response.body", "body": body})
