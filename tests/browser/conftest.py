"""Browser tests: a real service process and headless Chromium (the Debian build, driven by Playwright).

``live_server`` is one ``python -m comments_service.cli serve --port N`` subprocess for the session,
with the run's storage (``TestStorage.env()``) and the demo site seeded for its address. Scoring is
off there (comments publish at once); ``scoring_server`` adds the scoring pipeline and a worker for
the tests of held comments. ``news_site`` makes a fresh site whose origin is a page the browser
fetches from Playwright's router, so each test gets its own articles and settings.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from comments_service.db.pool import connect
from comments_service.identity import Keyring
from comments_service.services.sites import SiteDirectory
from tests.storage import TestStorage

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 # host pages come from Playwright's router, the service from 127.0.0.1: without this,
                 # Chromium's local-network-access prompt (no one to answer it) blocks the embed
                 "--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """The service (and optionally a scoring worker) as real processes on a free port."""

    def __init__(self, storage: TestStorage, worker: bool = False, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **storage.env(COMMENTS_PUBLIC_URL=self.url, **env)}
        self.secret_key = self.env["COMMENTS_SECRET_KEY"]
        self.database_url = self.env["COMMENTS_DATABASE_URL"]
        self.log_path = Path(tempfile.mkstemp(prefix="cs-browser-", suffix=".log")[1])
        self.worker = worker
        self.procs: list[subprocess.Popen] = []

    def _spawn(self, *args: str) -> subprocess.Popen:
        with self.log_path.open("ab") as log:
            proc = subprocess.Popen([sys.executable, "-m", "comments_service.cli", *args], cwd=REPO, env=self.env,
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        self.procs.append(proc)
        return proc

    def start(self, timeout: float = 60.0) -> "LiveServer":
        subprocess.run([sys.executable, "-m", "comments_service.cli", "demo"], cwd=REPO, env=self.env,
                       check=True, capture_output=True, timeout=timeout)
        server = self._spawn("serve", "--host", "127.0.0.1", "--port", str(self.port))
        if self.worker:
            self._spawn("worker")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError(f"server exited with {server.returncode}:\n{self.logs()[-3000:]}")
            try:
                if httpx.get(self.url + "/embed.js", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server did not start in {timeout}s:\n{self.logs()[-3000:]}")

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

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
        if not getattr(self, "_staff_token", None):
            from comments_service.db import tokens
            from comments_service.identity import new_api_token

            token, digest = new_api_token()

            async def run() -> None:
                conn = await connect(self.database_url)
                try:
                    await tokens.create(conn, "browser-tests", "admin", None, digest)
                finally:
                    await conn.close()
            self._run(run)
            self._staff_token = token
        response = httpx.request(method, self.url + path, params={"site": site}, json=body,
                                 headers={"Authorization": f"Bearer {self._staff_token}"}, timeout=10)
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


@pytest.fixture(scope="session")
def live_server(storage: TestStorage, database: str) -> Iterator[LiveServer]:
    server = LiveServer(storage).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def scoring_server(storage: TestStorage, database: str) -> Iterator[LiveServer]:
    # no model files in tests: the worker scores with the offline fallback, and fail-open lets
    # civil comments publish so that only the policy under test (premoderation) holds them
    server = LiveServer(storage, worker=True, COMMENTS_SCORING="on", COMMENTS_TOXICITY_FAIL_CLOSED="false",
                        COMMENTS_TOXICITY_CHECKPOINT=str(REPO / "no-such-checkpoint.ckpt")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    playwright_sync = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with playwright_sync.sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport={"width": 1000, "height": 900})
    yield ctx
    ctx.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
