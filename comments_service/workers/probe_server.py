"""The scoring worker's own small HTTP listener (``COMMENTS_WORKER_PORT``): ``/health/live``,
``/health/ready`` and ``/metrics``, so that an orchestrator can probe the worker and a scraper can
read it as it does an API process.

A worker serves no reader, so this is not the API's app: one request per connection, GET or HEAD,
the request's head capped in size and time, a bounded number of connections open at once, and only
the standard library's asyncio server (nothing the worker image does not already have).

* ``/health/live``: the worker's event loop answers (the model loads and scores on threads of its
  own, so a slow model never makes a live worker look dead).
* ``/health/ready``: HealthMonitor.worker_readiness: PostgreSQL (fail), Redis (warn) and the
  worker's own model: still loading (fail), on its fallback (warn).
* ``/metrics``: the Prometheus exposition (metrics.render), on the API's public port's terms
  (metrics.scrape_refusal): only ``COMMENTS_METRICS_TOKEN``'s bearer when it is set; without it,
  this machine only (the image binds this port to every address), others get a 404.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import msgspec

from .. import metrics, shutdown
from ..raw_http import HEAD_LIMIT, PROBLEM_JSON, ConnectionGate, RawRequest, Reply, problem_bytes, serve_one
from ..services.health import HealthMonitor, WorkerModel
from ..settings import Settings

log = logging.getLogger("comments_service.worker.probes")

HEALTH_JSON = "application/health+json"
_LIVE = msgspec.json.encode({"status": "pass"})


def own_model(worker: Any) -> WorkerModel:
    """What the worker knows of its model now (``worker.scorer`` is None until the first load ends)."""
    scorer = worker.scorer
    if scorer is None:
        return WorkerModel(loaded=False)
    return WorkerModel(loaded=True, model_id=scorer.model_id, is_fallback=bool(scorer.is_fallback))


class ProbeServer:
    """Started before the model loads (so the liveness probe answers during a long first load) and
    closed when the worker stops."""

    def __init__(self, settings: Settings, health: HealthMonitor, worker: Any) -> None:
        self.settings = settings
        self.health = health
        self.worker = worker
        self._server: asyncio.Server | None = None
        self._gate = ConnectionGate()

    @property
    def port(self) -> int | None:
        if self._server is None or not self._server.sockets:
            return None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        config = self.settings.server
        self._server = await asyncio.start_server(self._answer, config.worker_host, config.worker_port,
                                                  limit=HEAD_LIMIT)
        log.info("worker probes listening", extra={"host": config.worker_host, "port": self.port})

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        # each connection ends within the request head's deadline, but a readiness check in hand
        # waits for PostgreSQL and Redis: bounded, and named in the log when it overran
        await shutdown.step("worker probe listener", server.wait_closed(), shutdown.CLOSE_S)
        if metrics.multiprocess_dir():
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(os.getpid())

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await serve_one(reader, writer, self._reply, self._gate)

    async def _reply(self, request: RawRequest) -> Reply:
        if request.method not in (b"GET", b"HEAD"):
            return Reply(*problem_bytes("method_not_allowed"), PROBLEM_JSON, (("Allow", "GET, HEAD"),))
        if request.path == b"/health/live":
            return Reply(200, _LIVE, HEALTH_JSON)
        if request.path == b"/health/ready":
            ready = await self.health.worker_readiness(own_model(self.worker))
            return Reply(503 if ready.status == "fail" else 200, msgspec.json.encode(ready), HEALTH_JSON)
        if request.path == b"/metrics":
            refusal = metrics.scrape_refusal(self.settings.security.metrics_token, request.header(b"authorization"),
                                             request.peer, (name for name, _ in request.headers))
            if refusal == "metrics_token_required":
                return Reply(*problem_bytes("metrics_token_required"), PROBLEM_JSON,
                             (("WWW-Authenticate", 'Bearer realm="metrics"'),))
            if refusal is None:
                scorer = self.worker.scorer
                if scorer is not None:
                    metrics.WORKER_MODEL_FALLBACK.set(1 if scorer.is_fallback else 0)
                return Reply(200, metrics.render(), metrics.CONTENT_TYPE)
        return Reply(*problem_bytes("not_found"), PROBLEM_JSON)
