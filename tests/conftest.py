"""Shared fixtures: this run's storage, a migrated database, the app, sites and readers. Helpers
that are not fixtures live in tests/support/."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aioredis
from litestar.testing import AsyncTestClient

from comments_service.app import create_app
from comments_service.db.pool import connect
from comments_service.settings import Settings
from tests.support.apps import BASE_URL, live_app
from tests.support.redis_cluster import RedisClusterProcesses, cluster_wanted, route_test_clients
from tests.support.sites import SiteHandle, make_site
from tests.support.storage import TestStorage

# fixtures shared by modules that ask for them by name: ``worker`` (a real scoring worker per module)
pytest_plugins = ["tests.support.scoring"]


@pytest.fixture(scope="session")
def storage() -> Iterator[TestStorage]:
    store = TestStorage()
    store.start()
    # COMMENTS_TEST_REDIS=cluster: every test's Redis is a real 3-master cluster of this run's own
    cluster = RedisClusterProcesses().start() if cluster_wanted() else None
    if cluster is not None:
        store.redis_url = cluster.url
        route_test_clients()
    try:
        yield store
    finally:
        store.stop()
        if cluster is not None:
            cluster.stop()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisClusterProcesses]:
    """A Redis Cluster of this session's own, for tests that kill its nodes (never the run's Redis)."""
    cluster = RedisClusterProcesses().start()
    yield cluster
    cluster.stop()


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
    async with AsyncTestClient(app=app, base_url=BASE_URL) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def services(client: AsyncTestClient):
    return client.app.state.services


@pytest.fixture
async def db(database: str):
    conn = await connect(database)
    yield conn
    await conn.close()


@pytest.fixture
async def site(services, db) -> SiteHandle:
    return await make_site(services, db)


@pytest.fixture(scope="session")
def serve(storage: TestStorage, database: str):
    """``async with serve(COMMENTS_X="...") as live:`` runs an app configured like the test app, with
    overrides, behind uvicorn in the test's loop (support.apps.live_app)."""
    return functools.partial(live_app, storage)


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
