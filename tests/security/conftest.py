"""Fixtures for the security tests: a real server process on this run's storage, and a site with data."""

from __future__ import annotations

import secrets
from typing import Iterator

import httpx
import pytest

from comments_service.db import tokens as token_repo
from comments_service.identity import new_api_token
from tests.conftest import SiteHandle, article_body, make_site
from tests.security.servers import ServerProcess


@pytest.fixture(scope="session")
def live_server(storage, database) -> Iterator[ServerProcess]:
    """The API as `comments-service serve` in a subprocess (INFO logs, JSON, on stderr -> server.logs())."""
    server = ServerProcess(storage.env(COMMENTS_LOG_LEVEL="INFO")).start()
    yield server
    server.stop()


async def create_api_token(db, role: str = "admin", site_id: str | None = None) -> str:
    token, digest = new_api_token()
    await token_repo.create(db, f"security-test-{role}", role, site_id, digest)
    return token


class World:
    """A site with a small thread, its readers' tokens and staff tokens, for fuzzing and access tests."""

    def __init__(self, site: SiteHandle) -> None:
        self.site = site
        self.article = "fuzz-article"
        self.comment_ids: list[int] = []
        self.reader_token = site.sso_token(sub="fuzz-reader", name="Fuzz Reader")
        self.guest_token = ""
        self.admin_token = ""
        self.moderator_token = ""


@pytest.fixture(scope="session")
async def world(services, database, live_server) -> World:
    from comments_service.db.pool import connect

    conn = await connect(database)
    try:
        site = await make_site(services, conn, guests=True, sso=True)
        w = World(site)
        w.admin_token = await create_api_token(conn, "admin", None)
        w.moderator_token = await create_api_token(conn, "moderator", site.id)
    finally:
        await conn.close()
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        other = site.auth(site.sso_token(sub="fuzz-author", name="Fuzz Author"))
        parent = None
        for i in range(4):
            r = await http.post(f"/api/v1/articles/{w.article}/comments", params=site.q(),
                                json=article_body(f"seed comment {i} " + secrets.token_hex(3),
                                                  parent_id=parent), headers=other)
            assert r.status_code == 201, r.text
            w.comment_ids.append(r.json()["comment"]["id"])
            parent = w.comment_ids[-1] if i % 2 == 0 else None
        r = await http.post(f"/api/v1/articles/{w.article}/comments", params=site.q(),
                            json=article_body("a guest's comment", author_name="Guesty"))
        assert r.status_code == 201, r.text
        w.guest_token = r.json()["guest_token"]
        w.comment_ids.append(r.json()["comment"]["id"])
    return w
