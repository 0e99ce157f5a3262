"""Operator diagnostics (admin only, scoped to the admin's site) and the Prometheus scrape endpoint.

/metrics is the service's own state (routes, error codes, queue depth), so it is not for the
public: ``COMMENTS_METRICS_TOKEN`` makes it answer only that bearer token, and
``COMMENTS_METRICS_PORT`` moves it to a listener of its own (bound to ``COMMENTS_METRICS_HOST``),
leaving the public port answering 404 for it. With neither, it answers this machine only: a
loopback peer whose request no proxy forwarded; everyone else gets the 404 of an unknown route.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
from contextlib import asynccontextmanager
from functools import partial
from http import HTTPStatus
from typing import AsyncIterator

from litestar import Litestar, Request, Response, get
from litestar.di import Provide
from litestar.types import Scope

from .. import metrics
from ..db import observability as obs
from ..db.health import is_database_unavailable
from ..errors import DomainError
from ..services.container import Services
from ..services.diagnostics import Diagnostics, SiteDiagnostics, diagnostics, site_diagnostics
from ..settings import Settings
from .auth import Staff, provide_admin
from .deps import client_ip, services_of
from .problems import PROBLEM_JSON, problem_bytes

log = logging.getLogger("comments_service.diagnostics")


@get("/api/v1/diagnostics", summary="Version, dependencies, queue, model, limits and recent errors",
     description="An unscoped admin token gets the whole service (scope \"global\"); a site's admin gets "
                 "only that site's queue and problem reports (scope \"site\").",
     tags=["operations"], dependencies={"staff": Provide(provide_admin)})
async def get_diagnostics(request: Request, staff: Staff) -> Diagnostics | SiteDiagnostics:
    services = services_of(request)
    if staff.site_id is None:
        return await diagnostics(services, services.health)
    return await site_diagnostics(services, services.health, staff.site_id)


async def scrape(services: Services) -> bytes:
    try:
        async with services.pool.acquire() as conn:
            depths = await obs.queue_depths(conn)
        metrics.set_queue({s: d.depth for s, d in depths.items()}, depths["pending_scoring"].oldest_seconds)
    except Exception as exc:
        # a scrape must still answer when PostgreSQL is away: the request metrics matter most then
        if not is_database_unavailable(exc):
            raise
    metrics.COUNTER_SYNC.sync(services.cache.stats, services.limiter.rejections, force=True)
    return metrics.render()


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
async def get_metrics(request: Request) -> Response:
    services = services_of(request)
    if services.settings.server.metrics_port is not None:
        raise DomainError("not_found", "The metrics are served on their own port.")
    if services.settings.security.metrics_token is None and not local_scraper(request):
        raise DomainError("not_found")
    if not scrape_allowed(services.settings, _authorization(request.scope)):
        raise DomainError("metrics_token_required", headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    return Response(content=await scrape(services), media_type=metrics.CONTENT_TYPE,
                    headers={"Cache-Control": "no-store"})


_REQUEST_HEAD_LIMIT = 8192
_REQUEST_HEAD_SECONDS = 5.0


async def _answer_scrape(services: Services, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
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
    elif not scrape_allowed(services.settings, authorization):
        status, body = problem_bytes("metrics_token_required")
        content_type, extra = PROBLEM_JSON.encode(), b'WWW-Authenticate: Bearer realm="metrics"\r\n'
    else:
        try:
            status, body, content_type = 200, await scrape(services), metrics.CONTENT_TYPE.encode()
        except Exception:  # the listener's own task: nothing above it would answer or close
            log.exception("metrics scrape failed")
            status, body = problem_bytes("internal_error")
            content_type = PROBLEM_JSON.encode()
    writer.write(b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nCache-Control: no-store\r\n"
                 b"X-Content-Type-Options: nosniff\r\n%sConnection: close\r\n\r\n"
                 % (status, HTTPStatus(status).phrase.encode(), content_type, len(body), extra))
    if method != b"HEAD":
        writer.write(body)
    try:
        await writer.drain()
    except ConnectionError:
        pass
    writer.close()


@asynccontextmanager
async def metrics_listener(app: Litestar) -> AsyncIterator[None]:
    """Serves /metrics on ``COMMENTS_METRICS_PORT`` when it is set. Every API process binds the port
    (SO_REUSEPORT); any one of them answers a scrape for the whole machine when
    PROMETHEUS_MULTIPROC_DIR is set, as on the public port."""
    services: Services = app.state.services
    config = services.settings.server
    if config.metrics_port is None:
        yield
        return
    server = await asyncio.start_server(partial(_answer_scrape, services), config.metrics_host, config.metrics_port,
                                        reuse_port=True, limit=_REQUEST_HEAD_LIMIT)
    try:
        yield
    finally:
        server.close()
        await server.wait_closed()


DIAGNOSTICS_ROUTES = [get_diagnostics, get_metrics]
