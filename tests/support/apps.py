"""The app in the test's own process: behind AsyncTestClient (``other_app``, ``scoring_app``), or
served over TCP by uvicorn inside the test's event loop (``live_app``, the ``serve`` fixture). For
the service as a process of its own, see servers.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import uvicorn
from litestar import Litestar
from litestar.testing import AsyncTestClient

from comments_service.app import create_app
from comments_service.server import uvicorn_options
from comments_service.settings import Settings
from tests.support.storage import TestStorage

BASE_URL = "http://testserver.local"


@asynccontextmanager
async def other_app(storage: TestStorage, **env: str) -> AsyncIterator[AsyncTestClient]:
    """A second app, configured like the test app with ``env`` over it, behind its own test client."""
    app = create_app(Settings.from_env(storage.env(**env)))
    async with AsyncTestClient(app=app, base_url=BASE_URL) as client:
        yield client


def scoring_app(storage: TestStorage, **env: str):
    """The real app with the scoring pipeline on (the shared test app publishes directly)."""
    return other_app(storage, COMMENTS_SCORING="on", **env)


class LiveApp:
    """The real app served over TCP by uvicorn inside the test's own event loop: requests really run
    concurrently (AsyncTestClient serialises them), come from 127.0.0.1 (per-IP limits apply), and the
    test may reach the app's services in the same loop."""

    def __init__(self, app: Litestar, url: str) -> None:
        self.app = app
        self.url = url

    @property
    def services(self):
        return self.app.state.services

    def http(self, **kwargs) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=30, **kwargs)


@asynccontextmanager
async def live_app(storage: TestStorage, *, asgi_only: bool = False, **env: str) -> AsyncIterator[LiveApp]:
    """An app configured like the test app, with ``env`` over it, behind uvicorn with the options
    `comments-service serve` gives it (server.py), on a free port of 127.0.0.1. ``asgi_only``:
    behind uvicorn's own HTTP protocol instead, as under any ASGI server."""
    settings = Settings.from_env(storage.env(**env))
    app = create_app(settings)
    options = {"http": "httptools", "log_config": None} if asgi_only else uvicorn_options(settings.server)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on", **options))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the test server stopped while starting")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield LiveApp(app, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        await task
