"""The read fast path: a GET of a thread page or of counts that this process holds in its
first-level cache (local_cache.py) is answered here, in front of the framework, without routing,
parameter parsing or a handler: an anonymous reader's, and a signed-in reader's thread page (with
the private caching headers the handler gives it) where it is the public page.

Litestar's own work per request (routing, the handler's parameters, its response) costs more than
everything else a cached page needs together; this layer answers the hottest request at a small
fraction of that (BENCHMARKS.md, "Hot reads"). It answers only when the answer is certain to be the
one the route handler would give, and hands the request to the application unchanged otherwise:

- anything but a GET of exactly those two routes; any parameter the route does not know, given
  twice, blank or out of its bounds; an article id that is not valid;
- a reader's token this process has not verified lately (identity.VERIFIED), or, on a first
  page, a signed-in reader not known to have nothing of their own awaiting review on the article
  (services/own_pending.py: such comments are shown to their author, and only the handler looks
  them up); a token, or an Origin, given twice;
- a site this process has not loaded within its directory's time to live (services/sites.py), or
  an Origin the site does not allow (the handler refuses it, with the problem response);
- anything the first-level cache does not hold, or holds while it may not be trusted (Redis failing,
  or its invalidations not known to arrive: cache.py); a counts request over its rate limit.

What it answers carries everything the handler's answer does: the same body (the cache's own
bytes), caching headers, entity tag and 304 (api/public_answers.py), the request id and the
security and CORS headers the edge adds (api/middleware.py), and the same metrics and access log
line. The rate limit of counts is applied as the handler applies it. A post or a moderator's
decision drops this process's copy before it answers (local_cache.py), so a reader sees it at once
here as on the other path.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Literal

import msgspec
from litestar import Litestar
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from ..domain import article_ids
from ..errors import RateLimited
from ..http_encodings import EncodedBody
from ..identity import VERIFIED, Identity
from ..services.comments import page_suffix
from ..services.own_pending import reader_key
from .article_paths import SLASH_STAND_IN, routed_path
from .deps import scope_client_ip
from .middleware import EXPOSE_HEADERS, NOSNIFF, query_pairs, record_request, request_id_for
from .public_answers import PRIVATE_PAGE, Conditions, answer
from .schemas import CountsResponse

THREAD_PREFIX = "/api/v1/articles/"
THREAD_SUFFIX = "/comments"
COUNTS_PATH = "/api/v1/counts"
# the route templates the metrics and the access log name (as Litestar's routing gives them)
THREAD_ROUTE = "/api/v1/articles/{article_id}/comments"
COUNTS_ROUTE = COUNTS_PATH
# request state: the rate limit's refusal of a counts request the fast path checked (the handler raises it)
COUNTS_REFUSAL = "counts_refusal"
_SORTS = frozenset({"oldest", "newest", "top"})
# ``lang`` (the widget sends it on every call) names the language of an error's message: an answer
# given here is never one, and its bytes are the same in every language
_PAGE_PARAMS = frozenset({"site", "sort", "limit", "cursor", "replies", "lang"})
_COUNTS_PARAMS = frozenset({"site", "article_ids", "lang"})
_MAX_COUNTS = 200
_MAX_CURSOR = 200
_KEY_MAX = 4096  # the longest path and query whose reading is kept
_PARSED_MAX = 4096  # readings kept
_encoder = msgspec.json.Encoder()
log = logging.getLogger("comments_service.fast_reads")


class _Request:
    """What the fast path reads of a request's headers, in one pass."""

    __slots__ = ("origin", "request_id", "conditions", "authorization")

    def __init__(self, origin: bytes | None, request_id: str | None, conditions: Conditions,
                 authorization: bytes | None) -> None:
        self.origin = origin
        self.request_id = request_id
        self.conditions = conditions
        self.authorization = authorization


def _read_headers(scope: Scope) -> _Request | None:
    origin = incoming = if_none_match = accept_encoding = authorization = None
    for key, value in scope["headers"]:
        if key == b"origin":
            if origin is not None:
                return None
            origin = value
        elif key == b"authorization":
            if authorization is not None:
                return None
            authorization = value
        elif key == b"content-length" or key == b"transfer-encoding":
            return None  # a GET with a body
        elif key == b"x-request-id":
            incoming = value.decode("latin-1")
        elif key == b"if-none-match":  # a list may come in several lines
            if_none_match = value if if_none_match is None else if_none_match + b", " + value
        elif key == b"accept-encoding":
            accept_encoding = value
    return _Request(origin, incoming, Conditions(if_none_match, accept_encoding), authorization)


def _params(query: bytes, known: frozenset[str]) -> dict[str, str] | None:
    """The query's parameters when each is known, given once and not blank."""
    found: dict[str, str] = {}
    for name, value in query_pairs(query):
        if name not in known or name in found or not value:
            return None
        found[name] = value
    return found


def _bounded(raw: str | None, default: int, low: int, high: int) -> int | None:
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 4):
        return None
    value = int(raw)
    return value if low <= value <= high else None


class Answer:
    """A fast-path answer, ready to send: what the ASGI layer sends as messages and the server's
    own HTTP protocol (server.py) writes as they are."""

    __slots__ = ("status", "headers", "content", "route", "site_id", "request_id", "started")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], content: bytes, route: str, site_id: str,
                 request_id: str, started: float) -> None:
        self.status = status
        self.headers = headers
        self.content = content
        self.route = route
        self.site_id = site_id
        self.request_id = request_id
        self.started = started


class FastReads:
    """ASGI, in front of the application's own handler (see the module's docstring)."""

    __slots__ = ("app", "inner", "answered", "written", "_parsed")

    def __init__(self, app: Litestar, inner: ASGIApp) -> None:
        self.app = app  # whose lifespan puts its services in app.state
        self.inner = inner
        self.answered = 0  # requests this layer answered (tests tell the paths apart by these two)
        self.written = 0  # of which the server's protocol wrote itself
        self._parsed: dict[tuple[Any, bytes], Any] = {}  # (path, query) -> what they name, or False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and scope["method"] == "GET":
            try:
                found = self.answer_now(scope)
                if found is None and scope["path"] == COUNTS_PATH:
                    found = await self._limited_counts(scope)
            except Exception:  # the application's own path answers it, and logs what it meets
                log.exception("fast path failed; the request goes on through the application")
                found = None
            if found is not None:
                await send({"type": "http.response.start", "status": found.status, "headers": found.headers})
                await send({"type": "http.response.body", "body": found.content, "more_body": False})
                self.done(found)
                return
        await self.inner(scope, receive, send)

    def answer_now(self, scope: Scope) -> Answer | None:
        """The answer to a GET when it can be given at once, from what this process holds (None:
        the application answers; so does the caller when this raises)."""
        path = scope["path"]
        if path != COUNTS_PATH and not (path.startswith(THREAD_PREFIX) and path.endswith(THREAD_SUFFIX)):
            return None
        path = routed_path(scope)  # the path as routing reads it: an encoded slash is no separator
        counts = path == COUNTS_PATH
        if not counts and not (path.startswith(THREAD_PREFIX) and path.endswith(THREAD_SUFFIX)):
            return None
        services = self.app.state.get("services")
        if services is None or not services.settings.server.fast_reads:
            return None
        started = time.perf_counter()
        request = _read_headers(scope)
        if request is None:
            return None
        if counts:
            if request.authorization is not None:
                return None  # counts are public: a token there is unusual
            if services.limiter.applies("counts", "ip"):
                return None  # it waits on Redis: _limited_counts
            found = self._counts(scope, services, request)
        else:
            found = self._page(scope, services, request)
        return None if found is None else self._answer(found, request, started, counts)

    def done(self, answer: Answer, written: bool = False) -> None:
        """Count the answer sent: metrics and the access log line, as the edge does for the others.
        ``written``: by the server's own protocol rather than through ASGI."""
        self.answered += 1
        self.written += written
        record_request("GET", answer.route, answer.status, time.perf_counter() - answer.started, answer.request_id,
                       answer.site_id, None, self.app.state.get("services"))

    async def _limited_counts(self, scope: Scope) -> Answer | None:
        """Counts where their rate limit applies: checked as the handler checks it, after what
        is held is known to answer (a refusal is the handler's, with its problem response)."""
        services = self.app.state.get("services")
        if services is None or not services.settings.server.fast_reads or not services.limiter.applies("counts", "ip"):
            return None
        started = time.perf_counter()
        request = _read_headers(scope)
        found = None if request is None else self._counts(scope, services, request)
        if request is None or found is None:
            return None
        try:
            await services.limiter.check("counts", user=None, ip=scope_client_ip(scope))
        except RateLimited as refusal:
            # the handler answers it, with its problem response and Retry-After, without asking again
            scope["state"][COUNTS_REFUSAL] = refusal
            return None
        return self._answer(found, request, started, True)

    @staticmethod
    def _answer(found: tuple[str, tuple[int, list[tuple[bytes, bytes]], bytes]], request: _Request, started: float,
                counts: bool) -> Answer:
        site_id, (status, headers, content) = found
        rid = request_id_for(request.request_id)
        headers += [(b"x-request-id", rid.encode()), NOSNIFF]
        if request.origin is not None:
            headers += [(b"access-control-allow-origin", request.origin), (b"vary", b"Origin"),
                        (b"access-control-expose-headers", EXPOSE_HEADERS)]
        return Answer(status, headers, content, COUNTS_ROUTE if counts else THREAD_ROUTE, site_id, rid, started)

    @staticmethod
    def _site(services: Any, site_id: str | None, origin: bytes | None) -> Any:
        """The site's entry when it is held and the request's origin may read it (else None)."""
        if not site_id:
            return None
        directory = services.sites
        entry = directory.cached(site_id)
        if entry is None or (origin is not None and not directory.origin_allowed(entry.site, origin.decode("latin-1"))):
            return None
        return entry

    def _remember(self, key: tuple[Any, bytes], parsed: Any) -> None:
        if len(self._parsed) >= _PARSED_MAX:  # any reader may send any query: bounded
            self._parsed.clear()
        self._parsed[key] = parsed

    def _page(self, scope: Scope, services: Any, request: _Request) -> tuple[str, tuple[int, list, bytes]] | None:
        raw: bytes | None = scope.get("raw_path")  # optional in ASGI
        query = scope["query_string"]
        # what a request's path and query name depends on nothing else: read once per distinct pair
        key = (raw, query) if raw is not None and len(raw) + len(query) <= _KEY_MAX else None
        parsed = None if key is None else self._parsed.get(key)
        if parsed is None:
            parsed = _page_params(scope, services.settings.comments)
            if key is not None:
                self._remember(key, parsed)
        if parsed is False:
            return None
        site_id, external_id, suffix, first = parsed
        entry = self._site(services, site_id, request.origin)
        if entry is None:
            return None
        held = services.cache.held_page(site_id, external_id, suffix)
        if held is None:
            return None
        if request.authorization is None:
            return site_id, answer(held, services.cdn.page_headers(site_id, external_id), request.conditions,
                                   compress=True)
        # a signed-in reader's view is the public page unless comments of their own await review,
        # which only a first page shows; it is theirs alone, so no shared cache keeps it
        identity = _known_reader(services, entry, request.authorization)
        if identity is None:
            return None
        if first:
            own_pending = services.own_pending
            if own_pending is None or not own_pending.known_clear(site_id, external_id, reader_key(identity)):
                return None
        return site_id, answer(held, PRIVATE_PAGE, request.conditions, compress=True)

    def _counts(self, scope: Scope, services: Any, request: _Request) -> tuple[str, tuple[int, list, bytes]] | None:
        query = scope["query_string"]
        key = (COUNTS_PATH, query) if len(query) <= _KEY_MAX else None
        parsed = None if key is None else self._parsed.get(key)
        if parsed is None:
            parsed = _counts_params(query)
            if key is not None:
                self._remember(key, parsed)
        if parsed is False:
            return None
        site_id, ids = parsed
        if self._site(services, site_id, request.origin) is None:
            return None
        cache = services.cache
        local = cache.first_level()
        if local is None:
            return None
        # a front page's list is asked for by every reader: its answer is made once per generation
        made = None if key is None else local.answer(key)
        if made is None:
            generation = local.generation
            found = local.counts_at(site_id, ids)
            if found is None:
                return None
            counts, stored = found
            made = (EncodedBody(_encoder.encode(CountsResponse(counts=counts))),
                    services.cdn.public_headers(site_id, ids), len(counts))
            if key is not None:
                local.put_answer(key, made, generation, stored)
        body, headers, n = made
        cache.counted_hits(n)
        return site_id, answer(body, headers, request.conditions, compress=False)


def _known_reader(services: Any, entry: Any, authorization: bytes) -> Identity | None:
    """Whom a token this process verified lately names, for the site (identity.VERIFIED answers
    only as a full verification would); None for any other token, which the handler verifies."""
    scheme, _, token = authorization.decode("latin-1").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return VERIFIED.get(token, entry.site.id, services.keyring, entry.sso_secret, entry.sso, time.time())


def _page_params(scope: Scope, cfg: Any) -> tuple[str, str, str, bool] | Literal[False]:
    """(site, article, the cache's name of the page, whether it is a first page) a thread page's
    path and query name, or False where the route handler should read them (anything unusual)."""
    path = routed_path(scope)
    if not (path.startswith(THREAD_PREFIX) and path.endswith(THREAD_SUFFIX)):
        return False
    raw_id = path[len(THREAD_PREFIX):-len(THREAD_SUFFIX)]
    if "/" in raw_id or len(raw_id) > article_ids.MAX_LENGTH:
        return False
    external_id = raw_id.replace(SLASH_STAND_IN, "/")
    params = _params(scope["query_string"], _PAGE_PARAMS)
    if params is None or not article_ids.is_valid(external_id) or not params.get("site"):
        return False
    sort = params.get("sort", "oldest")
    cursor = params.get("cursor")
    limit = _bounded(params.get("limit"), cfg.page_size, 1, 100)
    replies = _bounded(params.get("replies"), cfg.replies_per_comment, 0, 20)
    if sort not in _SORTS or limit is None or replies is None or (cursor is not None and len(cursor) > _MAX_CURSOR):
        return False
    return params["site"], external_id, page_suffix(sort, cursor, limit, replies), cursor is None


def _counts_params(query: bytes) -> tuple[str, list[str]] | Literal[False]:
    """(site, the articles) a counts query names, or False (see _page_params)."""
    params = _params(query, _COUNTS_PARAMS)
    if params is None or "article_ids" not in params or not params.get("site"):
        return False
    ids = list(dict.fromkeys(params["article_ids"].split("\n")))
    if len(ids) > _MAX_COUNTS or not all(map(article_ids.is_valid, ids)):
        return False
    return params["site"], ids
