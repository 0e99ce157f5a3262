"""A reader's first view of a busy article on a slow network: the demo article with 500 imported
comments, loaded under the throttling bench/first_view.py measures with (150 ms latency, 1.6 Mbit/s
down, 750 kbit/s up, no cache), shows its first comment, a first page of 20 top-level comments and
the control that loads more. How fast is the benchmark's to say, not this test's.

The demo runs on a database of its own: the shared one's demo article has the five seeded comments
other tests count."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from comments_service.demo.seed import ARTICLE_ID, ARTICLE_TITLE, SITE_ID
from tests.support.browser import DemoServer, expect, watch_console
from tests.support.imports import Post, Thread, disqus_xml
from tests.support.servers import run_cli

pytestmark = pytest.mark.browser

COMMENTS = 500
PAGE_SIZE = 20  # top-level comments on the widget's first page
SLOW_NETWORK = {"offline": False, "latency": 150, "downloadThroughput": 1_600_000 / 8,
                "uploadThroughput": 750_000 / 8}
WORDS = ("river road market border bridge village trucks week season crossing valley posts family trade "
         "winter supply night quiet open again").split()


def _in_thread(make) -> str:
    # sync Playwright keeps an event loop in this thread
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def busy_export(server: DemoServer) -> str:
    """The demo article with COMMENTS comments, one a minute, every third a reply to an earlier one."""
    thread = "9100"
    posts = []
    for i in range(COMMENTS):
        text = " ".join(WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(40))
        parent = str(10_000 + max(0, i - 1 - i % 5)) if i % 3 == 2 else None
        posts.append(Post(id=str(10_000 + i), thread=thread, parent=parent, name=f"Reader {i % 60}",
                          message=f"<p>Comment {i}: {text}</p>",
                          created=f"2026-01-05T{9 + i // 60:02d}:{i % 60:02d}:00Z"))
    return disqus_xml([Thread(id=thread, ident=ARTICLE_ID, link=f"{server.url}/demo", title=ARTICLE_TITLE,
                              posts=posts)])


@pytest.fixture(scope="module")
def busy_demo(storage, database: str, tmp_path_factory) -> Iterator[DemoServer]:
    name = storage.database + "_first_view"
    url = _in_thread(lambda: storage.create_database(name))
    server = DemoServer(storage, COMMENTS_DATABASE_URL=url, COMMENTS_REDIS_PREFIX=storage.redis_prefix + "firstview:")
    try:
        server.start()
        export = Path(tmp_path_factory.mktemp("first-view")) / "busy.xml"
        export.write_text(busy_export(server), encoding="utf-8")
        report = run_cli(server.env, "import", "--site", SITE_ID, "--format", "disqus", str(export)).stdout
        assert f"{COMMENTS} imported" in report, report
        yield server
    finally:
        server.stop()
        _in_thread(lambda: storage.drop_database(name))


def test_a_busy_article_shows_its_first_page_on_a_slow_network(busy_demo, browser):
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    try:
        page = context.new_page()
        errors = watch_console(page)
        cdp = context.new_cdp_session(page)
        seen: list[tuple[str, int, str]] = []  # (path, status, content-encoding) as the network saw them
        cdp.on("Network.responseReceived", lambda e: seen.append((
            e["response"]["url"].removeprefix(busy_demo.url).partition("?")[0], e["response"]["status"],
            {k.lower(): v for k, v in e["response"]["headers"].items()}.get("content-encoding", ""))))
        # what came over the wire (a revalidated answer is a 304 there, though the page gets the 200 it held)
        wire: list[tuple[int, str]] = []
        cdp.on("Network.responseReceivedExtraInfo", lambda e: wire.append(
            (e["statusCode"], {k.lower(): v for k, v in e["headers"].items()}.get("etag", ""))))
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        cdp.send("Network.emulateNetworkConditions", SLOW_NETWORK)
        page.goto(f"{busy_demo.url}/demo", wait_until="commit")

        first = expect(page.locator("#comments .list > article.c").first, 20_000)
        # oldest first: the export's first comment opens the thread
        assert first.locator(":scope > .body").inner_text().startswith("Comment 0: ")
        assert page.locator("#comments .list > article.c").count() == PAGE_SIZE
        expect(page.locator("#comments").get_by_role("button", name="Load more comments", exact=True))
        assert page.locator("#comments h2").inner_text() == f"{COMMENTS + 5} comments"  # and the demo's own five
        # the thread and the widget's own files came compressed (brotli: Chromium takes it)
        thread = f"/api/v1/articles/{ARTICLE_ID}/comments"
        assert (thread, 200, "br") in seen and ("/embed.js", 200, "br") in seen, seen
        # with its cache on, the widget re-reading the thread revalidates the copy it holds: 304
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
        cdp.send("Network.emulateNetworkConditions", {**SLOW_NETWORK, "latency": 0})
        page.reload(wait_until="commit")
        expect(page.locator("#comments .list > article.c").first, 20_000)
        wire.clear()
        page.locator("#comments select").first.select_option("newest")  # a page it does not hold
        page.locator("#comments select").first.select_option("oldest")  # the page it holds
        for _ in range(100):
            answers = {status for status, etag in wire if etag}  # the thread's (the live stream has no tag)
            if answers == {200, 304}:
                break
            page.wait_for_timeout(100)
        # (in either order: the widget may also re-read the page it holds when its live stream opens)
        assert answers == {200, 304}, wire
        assert errors == []
    finally:
        context.close()
