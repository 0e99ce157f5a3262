"""What the browser tests drive: headless Chromium (the Debian build, through Playwright) and the
service as real processes with the demo site seeded (``DemoServer``)."""

from __future__ import annotations

import asyncio
import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Self

import httpx

from comments_service.db.pool import connect
from comments_service.identity import Keyring
from comments_service.services.sites import SiteDirectory
from tests.support.servers import ServiceProcess, free_port, process_env, run_cli
from tests.support.storage import TestStorage
from tests.support.tokens import bearer, staff_token

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 # host pages come from Playwright's router, the service from 127.0.0.1: without this,
                 # Chromium's local-network-access prompt (no one to answer it) blocks the embed
                 "--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests"]


class DemoServer:
    """`comments-service serve` (and, with ``worker``, a scoring worker) on a free port, after
    `comments-service demo` seeded the demo site for that address; both processes log to one file."""

    def __init__(self, storage: TestStorage, worker: bool = False, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = process_env(storage.env(COMMENTS_PUBLIC_URL=self.url, **env))
        self.secret_key = self.env["COMMENTS_SECRET_KEY"]
        self.database_url = self.env["COMMENTS_DATABASE_URL"]
        self.server = ServiceProcess(self.env, "serve", port=self.port, ready="/embed.js")
        self.log_path = self.server.log_path
        self.worker = ServiceProcess(self.env, "worker", ready=None, log_path=self.log_path) if worker else None
        self._staff_token = ""

    def start(self, timeout: float = 60.0) -> Self:
        run_cli(self.env, "demo", timeout=timeout)
        if self.worker is not None:
            self.worker.start()
        try:
            self.server.start(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def logs(self) -> str:
        return self.server.logs()

    def stop(self) -> None:
        for process in (self.server, self.worker):
            if process is not None:
                process.stop(15)

    # setup helpers that act directly on the run's database (arranging, never the thing under test);
    # sync Playwright keeps an event loop in this thread, so they run theirs in another one
    @staticmethod
    def _run(make) -> None:
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(lambda: asyncio.run(make())).result()

    def sql(self, query: str, *args) -> None:
        async def run() -> None:
            conn = await connect(self.database_url)
            try:
                await conn.execute(query, *args)
            finally:
                await conn.close()
        self._run(run)

    def moderate_article(self, site: str, article: str, **changes: bool) -> None:
        """Close an article or premoderate it the way a moderator does (the cache follows)."""
        self.as_staff("PATCH", f"/api/v1/moderation/articles/{article}", site, changes)

    def as_staff(self, method: str, path: str, site: str, body: dict) -> dict:
        """A moderation API call with an admin token made for this server."""
        if not self._staff_token:
            async def run() -> None:
                conn = await connect(self.database_url)
                try:
                    self._staff_token = await staff_token(conn, "admin", None, "browser-tests")
                finally:
                    await conn.close()
            self._run(run)
        response = httpx.request(method, self.url + path, params={"site": site}, json=body,
                                 headers=bearer(self._staff_token), timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def create_site(self, origin: str, *, guests: bool = True, sso_secret: str | None = None,
                    settings: dict | None = None) -> str:
        site_id = "b" + secrets.token_hex(5)

        async def run() -> None:
            conn = await connect(self.database_url)
            try:
                await SiteDirectory(None, Keyring(self.secret_key)).save(  # type: ignore[arg-type]
                    conn, site_id=site_id, name=f"Browser {site_id}", origins=[origin], sso_secret=sso_secret,
                    guests=guests, settings=settings)
            finally:
                await conn.close()
        self._run(run)
        return site_id
