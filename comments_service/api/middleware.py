"""The edge of every HTTP request: request metrics and the access log line (logs.access), request
ids, per-site CORS and the security headers (``nosniff`` everywhere; on HTML pages their CSP and
referrer policy, api/pages.py).

One plain ASGI middleware does all of it in a single pass over the headers and a single send
wrapper: as three Litestar middlewares, each layer would cost a wrapper call and a send closure on
every request, together about a tenth of a cached thread page's time in the process.

CORS cannot be a static list here: each site names its own allowed origins, and every public
request names its site in the ``site`` query parameter. A browser request whose Origin the site
does not allow is refused before any handler runs. Which API routes are staff-only (never
cross-origin) or answer any origin is declared on the routes themselves (``opt``: PRIVATE,
ANY_ORIGIN), and read here from the route the request resolved to.

The query string is read here once for the whole request. A parameter given twice is refused: a
check that read the first value while a handler acted on the last would let one tenant's origin act
on another's site. The site named (and, after a CORS check, the site's entry) is kept in the
request's state, and handlers take it from there (api/deps.site_entry_of): CORS and the handler act
on the very same site.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPResponseBodyEvent, HTTPResponseStartEvent, Message, Receive, Scope, Send

from .. import i18n, metrics
from ..domain.structs import Struct
from ..errors import CATALOGUE, DomainError
from ..logs import access, request_id
from .pages import HTML_POLICIES, NOSNIFF, html_security_headers
from .problems import PROBLEM_JSON, problem_bytes

_INCOMING_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
_PUBLIC_PREFIX = "/api/v1/"
# Route ``opt`` keys. PRIVATE: a staff route, never answered cross-origin. ANY_ORIGIN: a route that
# answers every origin and lets the page read the answer (the troubleshooter, which reports a
# refused origin as one of its checks and returns nothing about anyone but the token's holder).
# Declared on the controller or router, so that the OPTIONS handler Litestar adds to each of its
# routes carries it too.
PRIVATE = "private"
ANY_ORIGIN = "any_origin"
ALLOW_HEADERS = b"authorization, content-type, x-request-id"
ALLOW_METHODS = b"GET, POST, PATCH, DELETE, OPTIONS"
ANY_ORIGIN_METHODS = b"GET, OPTIONS"
EXPOSE_HEADERS = b"x-request-id, retry-after"


class EdgeMiddleware:
    """Times, counts and logs every routed request by its route template (never the raw path, whose
    ids would make a new time series per comment), gives it a request id (the caller's when it is
    well-formed) and answers or decorates cross-origin requests by the site's own origins."""

    __slots__ = ("app",)

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        incoming = origin = preflight = None
        repeated = None  # a header that decides who or where, given twice
        authorizations = 0
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                incoming = value.decode("latin-1")
            elif key == b"origin":
                if origin is not None:
                    repeated = "Origin"
                origin = value
            elif key == b"authorization":
                authorizations += 1
                if authorizations > 1:
                    repeated = "Authorization"
            elif key == b"access-control-request-method":
                preflight = value
        rid = request_id_for(incoming)
        token = request_id.set(rid)
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        extra = [(b"x-request-id", rid.encode()), NOSNIFF]
        status = 500
        problem = False  # the answer is a problem response: its body names the error code
        code = None

        async def send_with_headers(message: Message) -> None:
            nonlocal status, problem, code
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", ()), *extra]
                if status >= 400:
                    problem = any(k == b"content-type" and v.startswith(_PROBLEM_TYPE) for k, v in headers)
                # pages outside the API, and the few pages of its own (an email's links), are HTML;
                # the API's other answers skip the look
                if (not scope["path"].startswith(_PUBLIC_PREFIX) or scope["path"] in HTML_POLICIES) and any(
                        k == b"content-type" and v.startswith(b"text/html") for k, v in headers):
                    headers += html_security_headers(scope["path"])
                message["headers"] = headers
            elif problem and message["type"] == "http.response.body":
                # read back from what the client gets, so the log names exactly the code and the
                # request id ("Reference") the reader is shown, whichever layer answered
                problem = False
                code = _problem_code(message.get("body", b""))
            await send(message)

        try:
            try:
                if repeated is not None:
                    raise DomainError("invalid_request", f"The {repeated} header is given more than once.")
                state[SITE_ID] = _site_parameter(scope.get("query_string", b""))
            except DomainError as err:
                await _refuse(send_with_headers, err.code, err.message, i18n.scope_locale(scope))
                return
            if origin is not None and scope["path"].startswith(_PUBLIC_PREFIX) and not (
                    opt := scope["route_handler"].opt).get(PRIVATE):
                refusal, methods = await _site_cors(scope, origin.decode("latin-1"), opt.get(ANY_ORIGIN, False))
                if refusal is not None:
                    await _refuse(send_with_headers, *refusal, i18n.scope_locale(scope))
                    return
                extra += [(b"access-control-allow-origin", origin), (b"vary", b"Origin"),
                          (b"access-control-expose-headers", EXPOSE_HEADERS)]
                if scope["method"] == "OPTIONS" and preflight:
                    await _preflight(send_with_headers, methods)
                    return
            await self.app(scope, receive, send_with_headers)
        finally:
            request_id.reset(token)
            record_request(scope["method"], scope.get("path_template") or "unmatched", status,
                           time.perf_counter() - start, rid, state.get(SITE_ID), code,
                           getattr(scope["litestar_app"].state, "services", None))


def request_id_for(incoming: str | None) -> str:
    """A request's id: the caller's when it is well-formed, else a new one."""
    return incoming if incoming and _INCOMING_ID.fullmatch(incoming) else os.urandom(16).hex()


def record_request(method: str, route: str, status: int, elapsed: float, rid: str, site: str | None,
                   code: str | None, services: Any) -> None:
    """A finished request's metrics and access log line (``services``: the app's, once started)."""
    metrics.observe_request(method, route, status, elapsed)
    access(method, route, status, elapsed, rid, site, code)
    if services is not None:
        metrics.COUNTER_SYNC.sync(services.cache.stats, services.limiter.rejections)


SITE_ID = "site_id"  # request state: the ``site`` query parameter (None when absent)
SITE_ENTRY = "site_entry"  # request state: the site's entry, once resolved
_PROBLEM_TYPE = PROBLEM_JSON.encode()


class _ProblemCode(Struct):
    code: str


def _problem_code(body: bytes) -> str | None:
    try:
        return msgspec.json.decode(body, type=_ProblemCode).code
    except msgspec.DecodeError:  # not one JSON document (a streamed body): the line goes without
        return None


def _site_parameter(query: bytes) -> str | None:
    """The ``site`` parameter of a query string; DomainError when any parameter is repeated (blank
    values count: Litestar drops them, so ``site=&site=b`` would read differently in two places)."""
    if not query:
        return None
    site = None
    seen: set[str] = set()
    for name, value in query_pairs(query):
        if name in seen:
            raise DomainError("invalid_request", f"The query parameter {name!r} is given more than once.")
        seen.add(name)
        if name == "site":
            site = value
    return site


def query_pairs(query: bytes) -> list[tuple[str, str]]:
    """A query string's (name, value) pairs, decoded, blank values kept."""
    text = query.decode("latin-1")
    if "%" in text or "+" in text:
        return parse_qsl(text, keep_blank_values=True, separator="&", errors="replace")
    # nothing to decode (the usual query): a plain split is several times cheaper
    return [(name, value) for name, _, value in (part.partition("=") for part in text.split("&") if part)]


async def _site_cors(scope: Scope, origin: str, any_origin: bool) -> tuple[tuple[str, str] | None, bytes]:
    """(code, detail) of a refusal or None, and the methods a preflight may allow."""
    if any_origin:
        return None, ANY_ORIGIN_METHODS
    directory = scope["litestar_app"].state.services.sites
    try:
        entry = await directory.get(scope["state"][SITE_ID])
    except DomainError as err:
        return (err.code, err.message), ALLOW_METHODS
    scope["state"][SITE_ENTRY] = entry
    if not directory.origin_allowed(entry.site, origin):
        return ("origin_not_allowed", f"The site {entry.site.id!r} does not allow {origin}."), ALLOW_METHODS
    return None, ALLOW_METHODS


async def _preflight(send: Send, methods: bytes) -> None:
    start: HTTPResponseStartEvent = {"type": "http.response.start", "status": 204, "headers": [
        (b"access-control-allow-methods", methods), (b"access-control-allow-headers", ALLOW_HEADERS),
        (b"access-control-max-age", b"600")]}
    body: HTTPResponseBodyEvent = {"type": "http.response.body", "body": b"", "more_body": False}
    await send(start)
    await send(body)


async def _refuse(send: Send, code: str, detail: str, locale: str) -> None:
    status, content = problem_bytes(code, detail, locale)
    start: HTTPResponseStartEvent = {"type": "http.response.start", "status": status, "headers": [
        (b"content-type", PROBLEM_JSON.encode()), (b"vary", b"Origin, Accept-Language"),
        (b"content-language", i18n.problem_language(code, CATALOGUE[code].message, locale).encode())]}
    body: HTTPResponseBodyEvent = {"type": "http.response.body", "body": content, "more_body": False}
    await send(start)
    await send(body)
