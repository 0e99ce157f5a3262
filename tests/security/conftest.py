"""Fixtures for the security tests: a real server process on this run's storage, and a site with data."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest

from comments_service.db.pool import connect
from tests.support.servers import ServiceProcess
from tests.support.sites import SeededSite, article_body, make_site
from tests.support.tokens import staff_token


@pytest.fixture(scope="session")
def live_server(storage, database) -> Iterator[ServiceProcess]:
    """The API as `comments-service serve` in a subprocess (INFO logs, JSON, on stderr -> server.logs())."""
    with ServiceProcess(storage.env(COMMENTS_LOG_LEVEL="INFO", COMMENTS_LOG_JSON="true")) as server:
        yield server


@pytest.fixture(scope="session")
async def world(services, database, live_server) -> SeededSite:
    conn = await connect(database)
    try:
        site = await make_site(services, conn, guests=True, sso=True)
        w = SeededSite(site)
        w.admin_token = await staff_token(conn, "admin", None)
        w.moderator_token = await staff_token(conn, "moderator", site.id)
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
