"""Operator diagnostics (admin only) and the Prometheus scrape endpoint."""

from __future__ import annotations

from litestar import Request, Response, get
from litestar.di import Provide

from .. import metrics
from ..db import observability as obs
from ..db.health import is_database_unavailable
from ..services.diagnostics import Diagnostics, diagnostics
from .auth import Staff, provide_admin
from .deps import services_of


@get("/api/v1/diagnostics", summary="Version, dependencies, queue, model, limits and recent errors",
     tags=["operations"], dependencies={"staff": Provide(provide_admin)})
async def get_diagnostics(request: Request, staff: Staff) -> Diagnostics:
    services = services_of(request)
    return await diagnostics(services, services.health)


@get("/metrics", summary="Prometheus metrics", tags=["operations"], include_in_schema=False)
async def get_metrics(request: Request) -> Response:
    services = services_of(request)
    try:
        async with services.pool.acquire() as conn:
            depths = await obs.queue_depths(conn)
        metrics.set_queue({s: d.depth for s, d in depths.items()}, depths["pending_scoring"].oldest_seconds)
    except Exception as exc:
        # a scrape must still answer when PostgreSQL is away: the request metrics matter most then
        if not is_database_unavailable(exc):
            raise
    metrics.COUNTER_SYNC.sync(services.cache.stats, services.limiter.rejections, force=True)
    return Response(content=metrics.render(), media_type=metrics.CONTENT_TYPE, headers={"Cache-Control": "no-store"})


DIAGNOSTICS_ROUTES = [get_diagnostics, get_metrics]
