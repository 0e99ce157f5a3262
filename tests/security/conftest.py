"""Fixtures for the security tests: a real server process on this run's storage, and a site with data."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.servers import ServiceProcess
from tests.support.sites import SeededSite, seed_world


@pytest.fixture(scope="session")
def live_server(storage, database) -> Iterator[ServiceProcess]:
    """The API as `comments-service serve` in a subprocess (INFO logs, JSON, on stderr -> server.logs())."""
    with ServiceProcess(storage.env(COMMENTS_LOG_LEVEL="INFO", COMMENTS_LOG_JSON="true")) as server:
        yield server


@pytest.fixture(scope="session")
async def world(services, database, live_server) -> SeededSite:
    return await seed_world(services, database, live_server)
