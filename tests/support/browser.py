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
        self.env = process_env(storage.env(COMMENTS_PUBLIC_URL=self.url, COMMENTS_DEMO="true", **env))
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


# ----------------------------------------------------------------- the widget on a host page
# NEWS is the host page's origin (served by Playwright's router); *.localhost is a secure context, so
# Chromium lets it load the service on 127.0.0.1 (private network access).
NEWS = "http://news.localhost"


def expect(locator, timeout: float = 10_000):
    """Wait until ``locator`` is visible; return it."""
    locator.wait_for(state="visible", timeout=timeout)
    return locator


def watch_console(page) -> list[str]:
    """The page's console errors and uncaught exceptions, as they happen."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def host_page(page, server, site: str, article: str, *, attrs: str = "", extra_head: str = "",
              extra_body: str = "", html_attrs: str = "", lang: str = "en") -> None:
    """Open an article of NEWS with the documented embed snippet under it."""
    from html import escape

    snippet = (f'<div id="comments"></div>\n<script src="{server.url}/embed.js" async data-site="{site}" '
               f'data-article-id="{escape(article)}" data-article-url="{NEWS}/{article}" '
               f'data-article-title="Article {escape(article)}" {attrs}></script>')
    doc = (f"<!doctype html><html lang='{lang}' {html_attrs}><head><meta charset='utf-8'>{extra_head}</head><body>"
           f"<h1>News</h1>{extra_body}{snippet}</body></html>")
    page.route(f"{NEWS}/**", lambda route: route.fulfill(status=200, content_type="text/html", body=doc))
    page.goto(f"{NEWS}/{article}")


# Notes in the page when the widget's live stream has said "ready" (sent once the server's
# subscription is in place): after that, no change is missed, however slow the machine.
NOTE_READY = """(() => {
  const Native = window.EventSource;
  window.EventSource = function (url, options) {
    const stream = new Native(url, options);
    stream.addEventListener('ready', () => { window.csStreamReady = true; });
    return stream;
  };
  window.EventSource.prototype = Native.prototype;
})();"""


def note_stream_ready(page) -> None:
    """Before the page opens: let ``wait_stream_ready`` see the widget's live stream say "ready"."""
    page.add_init_script(NOTE_READY)


def wait_stream_ready(page, timeout: float = 20_000) -> None:
    page.wait_for_function("() => window.csStreamReady === true", timeout=timeout)


def widget_comments(page):
    return page.locator("#comments article.c")


def post_as_guest(page, text: str, name: str = "Ana", *, through_nudge: bool = False,
                  timeout: float = 20_000) -> dict:
    """Write in the main form and press its button (a signed-in reader has no name field).

    The form is waited for first: the widget draws it only once it has loaded, and a name field
    looked for before then reads as absent (the post is then refused for want of a name). Returns
    the widget's /toxicity/check answer (empty when that check failed: the widget then posts);
    when that answer nudges, ``through_nudge`` presses "Submit for review", else the nudge stays."""
    form = page.locator("#comments .main-form form")
    box = expect(form.get_by_label("Your comment"), timeout)
    name_field = form.get_by_label("Your name")
    if name_field.count():
        name_field.fill(name)
    box.fill(text)
    with page.expect_response(lambda r: r.request.method == "POST" and "/toxicity/check" in r.url,
                              timeout=timeout) as checked:
        form.get_by_role("button", name="Post comment").click()
    answer: dict = checked.value.json() if checked.value.ok else {}
    if through_nudge and answer.get("likely_held") and not answer.get("likely_rejected"):
        form.get_by_role("button", name="Submit for review").click()
    return answer
