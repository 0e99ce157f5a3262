"""Operator diagnostics (admin only, scoped to the admin's site) and the Prometheus scrape endpoint.

/metrics is the service's own state (routes, error codes, queue depth), so it is not for the
public: ``COMMENTS_METRICS_TOKEN`` makes it answer only that bearer token, and
``COMMENTS_METRICS_PORT`` moves it to a listener of its own (bound to ``COMMENTS_METRICS_HOST``),
leaving the public port answering 404 for it. With neither, it answers this machine only: a
loopback peer whose request no proxy forwarded; everyone else gets the 404 of an unknown route.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from http import HTTPStatus

from litestar import Controller, Litestar, Request, Response, get
from litestar.di import NamedDependency
from litestar.types import ControllerRouterHandler, Scope

from .. import metrics
from ..errors import DomainError
from ..services.diagnostics import Diagnostics, DiagnosticsService, SiteDiagnostics
from ..settings import Settings
from ..wiring import ApiServices
from .auth import requires_admin, staff_of
from .deps import client_ip
from .middleware import PRIVATE
from .problems import PROBLEM_JSON, problem_bytes

log = logging.getLogger("comments_service.diagnostics")


class DiagnosticsController(Controller):
    path = "/api/v1/diagnostics"
    guards = [requires_admin]
    opt = {PRIVATE: True}

    @get("", summary="Version, dependencies, queue, model, limits and recent errors",
         description="An unscoped admin token gets the whole service (scope \"global\"); a site's admin gets "
                     "only that site's queue and problem reports (scope \"site\").",
         tags=["operations"])
    async def get_diagnostics(self, diagnostics: NamedDependency[DiagnosticsService],
                              request: Request) -> Diagnostics | SiteDiagnostics:
        staff = staff_of(request)
        if staff.site_id is None:
            return await diagnostics.report()
        return await diagnostics.site_report(staff.site_id)


def scrape_allowed(settings: Settings, authorization: bytes | None) -> bool:
    expected = settings.security.metrics_token
    if expected is None:
        return True
    # digests of equal length: the comparison takes the same time whatever was sent
    sent = hashlib.sha256(authorization or b"").digest()
    return hmac.compare_digest(sent, hashlib.sha256(b"Bearer " + expected.encode()).digest())


# a reverse proxy on this machine connects from loopback too; what it forwards is not local
_FORWARDED = frozenset((b"forwarded", b"x-forwarded-for", b"x-real-ip"))


def local_scraper(request: Request) -> bool:
    """A loopback peer (127.0.0.0/8, ::1) with no proxy's forwarding header. A peer that is no IP
    address (a unix socket, an in-process client) is not local: a proxy may sit behind a socket too."""
    peer = client_ip(request)
    if peer is None or not ipaddress.ip_address(peer).is_loopback:
        return False
    return not any(name in _FORWARDED for name, _ in request.scope["headers"])


def _authorization(scope: Scope) -> bytes | None:
    return next((v for k, v in scope["headers"] if k == b"authorization"), None)


@get("/metrics", summary="Prometheus metrics", tags=["operations"], include_in_schema=False)
async def get_metrics(request: Request, settings: NamedDependency[Settings],
                      diagnostics: NamedDependency[DiagnosticsService]) -> Response:
    if settings.server.metrics_port is not None:
        raise DomainError("not_found", "The metrics are served on their own port.")
    if settings.security.metrics_token is None and not local_scraper(request):
        raise DomainError("not_found")
    if not scrape_allowed(settings, _authorization(request.scope)):
        raise DomainError("metrics_token_required", headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    return Response(content=await diagnostics.scrape(), media_type=metrics.CONTENT_TYPE,
                    headers={"Cache-Control": "no-store"})


_REQUEST_HEAD_LIMIT = 8192
_REQUEST_HEAD_SECONDS = 5.0


async def _answer_scrape(settings: Settings, diagnostics: DiagnosticsService, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
    """One request per connection: GET /metrics, nothing else; the head is capped in size and time."""
    try:
        async with asyncio.timeout(_REQUEST_HEAD_SECONDS):
            head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.LimitOverrunError, asyncio.IncompleteReadError, TimeoutError, ConnectionError):
        writer.close()
        return
    request_line, *header_lines = head.split(b"\r\n")
    method, _, rest = request_line.partition(b" ")
    path = rest.partition(b" ")[0].partition(b"?")[0]
    authorization = next((line.partition(b":")[2].strip() for line in header_lines
                          if line.partition(b":")[0].strip().lower() == b"authorization"), None)
    extra = b""
    if path != b"/metrics" or method not in (b"GET", b"HEAD"):
        status, body = problem_bytes("not_found")
        content_type = PROBLEM_JSON.encode()
    elif not scrape_allowed(settings, authorization):
        status, body = problem_bytes("metrics_token_required")
        content_type, extra = PROBLEM_JSON.encode(), b'WWW-Authenticate: Bearer realm="metrics"\r\n'
    else:
        try:
            status, body, content_type = 200, await diagnostics.scrape(), metrics.CONTENT_TYPE.encode()
        except Exception:  # the listener's own task: nothing above it would answer or close
            log.exception("metrics scrape failed")
            status, body = problem_bytes("internal_error")
            content_type = PROBLEM_JSON.encode()
    writer.write(b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nCache-Control: no-store\r\n"
                 b"X-Content-Type-Options: nosniff\r\n%sConnection: close\r\n\r\n"
                 % (status, HTTPStatus(status).phrase.encode(), content_type, len(body), extra))
    if method != b"HEAD":
        writer.write(body)
    with contextlib.suppress(ConnectionError):
        await writer.drain()
    writer.close()


@asynccontextmanager
async def metrics_listener(app: Litestar) -> AsyncIterator[None]:
    """Serves /metrics on ``COMMENTS_METRICS_PORT`` when it is set. Every API process binds the port
    (SO_REUSEPORT); any one of them answers a scrape for the whole machine when
    PROMETHEUS_MULTIPROC_DIR is set, as on the public port."""
    services: ApiServices = app.state.services
    config = services.settings.server
    if config.metrics_port is None:
        yield
        return
    server = await asyncio.start_server(partial(_answer_scrape, services.settings, services.diagnostics),
                                        config.metrics_host, config.metrics_port, reuse_port=True,
                                        limit=_REQUEST_HEAD_LIMIT)
    try:
        yield
    finally:
        server.close()
        await server.wait_closed()


DIAGNOSTICS_ROUTES: list[ControllerRouterHandler] = [DiagnosticsController, get_metrics]
