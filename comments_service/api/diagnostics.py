"""Operator diagnostics (admin only, scoped to the admin's site) and the Prometheus scrape endpoint.

/metrics is the service's own state (routes, error codes, queue depth), so it is not for the
public: ``COMMENTS_METRICS_TOKEN`` makes it answer only that bearer token, and
``COMMENTS_METRICS_PORT`` moves it to a listener of its own (bound to ``COMMENTS_METRICS_HOST``),
leaving the public port answering 404 for it. With neither, it answers this machine only: a
loopback peer whose request no proxy forwarded; everyone else gets the 404 of an unknown route.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from litestar import Controller, Litestar, Request, Response, get
from litestar.di import NamedDependency
from litestar.types import ControllerRouterHandler, Scope

from .. import metrics, shutdown
from ..errors import DomainError
from ..raw_http import HEAD_LIMIT, PROBLEM_JSON, ConnectionGate, RawRequest, Reply, problem_bytes, serve_one
from ..services.diagnostics import Diagnostics, DiagnosticsService, SiteDiagnostics
from ..settings import Settings
from ..wiring import ApiServices
from .auth import requires_admin, staff_of
from .deps import client_ip
from .middleware import PRIVATE


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


def _authorization(scope: Scope) -> bytes | None:
    return next((v for k, v in scope["headers"] if k == b"authorization"), None)


@get("/metrics", summary="Prometheus metrics", tags=["operations"], include_in_schema=False)
async def get_metrics(request: Request, settings: NamedDependency[Settings],
                      diagnostics: NamedDependency[DiagnosticsService]) -> Response:
    if settings.server.metrics_port is not None:
        raise DomainError("not_found", "The metrics are served on their own port.")
    refusal = metrics.scrape_refusal(settings.security.metrics_token, _authorization(request.scope),
                                     client_ip(request), (name for name, _ in request.scope["headers"]))
    if refusal == "metrics_token_required":
        raise DomainError("metrics_token_required", headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    if refusal is not None:
        raise DomainError("not_found")
    return Response(content=await diagnostics.scrape(), media_type=metrics.CONTENT_TYPE,
                    headers={"Cache-Control": "no-store"})


async def _answer_scrape(settings: Settings, diagnostics: DiagnosticsService, request: RawRequest) -> Reply:
    """GET or HEAD /metrics, nothing else. This port is the operator's private one: without a token
    it answers whoever reaches it (``COMMENTS_METRICS_HOST`` decides who can)."""
    if request.path != b"/metrics" or request.method not in (b"GET", b"HEAD"):
        return Reply(*problem_bytes("not_found"), PROBLEM_JSON)
    if not metrics.bearer_allowed(settings.security.metrics_token, request.header(b"authorization")):
        return Reply(*problem_bytes("metrics_token_required"), PROBLEM_JSON,
                     (("WWW-Authenticate", 'Bearer realm="metrics"'),))
    return Reply(200, await diagnostics.scrape(), metrics.CONTENT_TYPE)


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
    handler = partial(_answer_scrape, services.settings, services.diagnostics)
    gate = ConnectionGate()
    server = await asyncio.start_server(lambda reader, writer: serve_one(reader, writer, handler, gate),
                                        config.metrics_host, config.metrics_port, reuse_port=True,
                                        limit=HEAD_LIMIT)
    try:
        yield
    finally:
        server.close()
        # a connection ends within the request head's deadline, but a scrape in hand waits for the
        # database: bounded, and named in the log when it overran
        await shutdown.step("metrics listener", server.wait_closed(), shutdown.CLOSE_S)


DIAGNOSTICS_ROUTES: list[ControllerRouterHandler] = [DiagnosticsController, get_metrics]
