"""Shared fixtures: this run's storage, a migrated database, the app, sites and readers."""

from __future__ import annotations

import secrets
import time
from typing import AsyncIterator

import jwt
import pytest
import redis.asyncio as aioredis
from litestar.testing import AsyncTestClient

from comments_service.app import create_app
from comments_service.db.pool import connect
from comments_service.settings import Settings
from tests.storage import TestStorage

SSO_SECRET = "sso-secret-for-tests-0123456789abcdef"


@pytest.fixture(scope="session")
def storage() -> TestStorage:
    store = TestStorage()
    store.start()
    yield store
    store.stop()


@pytest.fixture(scope="session")
async def database(storage: TestStorage) -> AsyncIterator[str]:
    from comments_service.db.migrations import migrate

    url = await storage.create_database()
    conn = await connect(url)
    try:
        await migrate(conn, Settings().database.migrations_dir)
    finally:
        await conn.close()
    yield url
    await storage.drop_database()
    client = aioredis.Redis.from_url(storage.redis_url)
    async for key in client.scan_iter(match=storage.redis_prefix + "*", count=1000):
        await client.delete(key)
    await client.aclose()


@pytest.fixture(scope="session")
def settings(storage: TestStorage, database: str) -> Settings:
    return Settings.from_env(storage.env())


@pytest.fixture(scope="session")
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    app = create_app(settings)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as test_client:
        yield test_client


@pytest.fixture(scope="session")
def services(client: AsyncTestClient):
    return client.app.state.services


@pytest.fixture
async def db(database: str):
    conn = await connect(database)
    yield conn
    await conn.close()


class SiteHandle:
    """A freshly created site and helpers to act as its readers."""

    def __init__(self, site_id: str, origin: str) -> None:
        self.id = site_id
        self.origin = origin
        self.sso_secret = SSO_SECRET

    def sso_token(self, sub: str = "reader-1", name: str = "Reader One", role: str | None = None,
                  expires_in: int = 3600, secret: str | None = None, **claims) -> str:
        """A host-site token; a staff role comes with ``aud`` = the site, as staff rights need."""
        payload = {"sub": sub, "name": name, "exp": int(time.time()) + expires_in, **claims}
        if role:
            payload["role"] = role
            if role != "reader":
                payload.setdefault("aud", self.id)
        return jwt.encode(payload, secret or self.sso_secret, algorithm="HS256")

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def q(self, **params) -> dict:
        return {"site": self.id, **params}


# The articles of every test site live here (article_body); a site's own origin is its widget's.
NEWS_ORIGIN = "https://news.example"


async def make_site(services, db, *, guests: bool = True, sso: bool = True, images: bool = False,
                    origin: str | None = None, settings: dict | None = None) -> SiteHandle:
    """A site whose SSO moderators and admins have staff rights (``sso_staff_roles``), as most
    moderation tests need; ``settings`` replaces that."""
    site_id = "s" + secrets.token_hex(5)
    origin = origin or f"https://{site_id}.example"
    await services.sites.save(db, site_id=site_id, name=f"Site {site_id}", origins=[origin, NEWS_ORIGIN],
                              sso_secret=SSO_SECRET if sso else None, guests=guests, allow_images=images,
                              settings={"sso_staff_roles": True} if settings is None else settings)
    return SiteHandle(site_id, origin)


@pytest.fixture
async def site(services, db) -> SiteHandle:
    return await make_site(services, db)


def article_body(text: str, **extra) -> dict:
    return {"body": text, "article_url": "https://news.example/a", "article_title": "An article", **extra}


class LiveApp:
    """The real app served over TCP by uvicorn inside the test's own event loop: requests really run
    concurrently (AsyncTestClient serialises them), come from 127.0.0.1 (per-IP limits apply), and the
    test may reach the app's services in the same loop."""

    def __init__(self, app, url: str) -> None:
        self.app = app
        self.url = url

    @property
    def services(self):
        return self.app.state.services

    def http(self, **kwargs):
        import httpx

        return httpx.AsyncClient(base_url=self.url, timeout=30, **kwargs)


@pytest.fixture(scope="session")
def serve(storage: TestStorage, database: str):
    """``async with serve(COMMENTS_X="...") as live:`` runs an app configured like the test app, with
    overrides, behind uvicorn with the options `comments-service serve` gives it (server.py)."""
    import asyncio
    from contextlib import asynccontextmanager

    import uvicorn

    from comments_service.server import uvicorn_options

    @asynccontextmanager
    async def run(**env: str) -> AsyncIterator[LiveApp]:
        settings = Settings.from_env(storage.env(**env))
        app = create_app(settings)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on",
                                               **uvicorn_options(settings.server)))
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

    return run


@pytest.fixture(scope="session")
def tiny_detoxify(tmp_path_factory) -> tuple[str, str]:
    """(checkpoint, config_dir) of a tiny Detoxify-format BERT built offline in a subprocess (this
    process never imports torch); for tests that start real `comments-service worker` processes."""
    import os
    import subprocess
    import sys

    directory = tmp_path_factory.mktemp("tiny-detoxify-worker")
    script = ("import sys; from comments_service.toxicity.testing import build_tiny_checkpoint; "
              "c, d = build_tiny_checkpoint(sys.argv[1]); print(c); print(d)")
    out = subprocess.run([sys.executable, "-c", script, str(directory)], check=True, capture_output=True, text=True,
                         env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
                         timeout=600)
    checkpoint, config_dir = out.stdout.strip().splitlines()[-2:]
    return checkpoint, config_dir
