"""Liveness and readiness probes (application/health+json, IETF health check draft)."""

from __future__ import annotations

import msgspec
from litestar import Response, get
from litestar.di import NamedDependency

from ..services.health import HealthMonitor

HEALTH_JSON = "application/health+json"
_LIVE = msgspec.json.encode({"status": "pass"})


@get("/health/live", summary="The process answers (no dependency checks)", tags=["operations"])
async def live() -> Response:
    return Response(content=_LIVE, media_type=HEALTH_JSON, headers={"Cache-Control": "no-store"})


@get("/health/ready", summary="Ready to serve: PostgreSQL, Redis, the scoring workers, their model and the queue",
     description="pass or warn: 200; fail (PostgreSQL unreachable): 503. Each condition the service works "
                 "around warns in a check of its own (README: Logs, probes and metrics).",
     tags=["operations"])
async def ready(health: NamedDependency[HealthMonitor]) -> Response:
    result = await health.readiness()
    # warn still serves (Redis down: reads come from PostgreSQL; no worker: comments wait; the model
    # on its fallback): only fail is 503
    return Response(content=msgspec.json.encode(result), media_type=HEALTH_JSON,
                    status_code=503 if result.status == "fail" else 200, headers={"Cache-Control": "no-store"})


HEALTH_ROUTES = [live, ready]
