"""A newcomer's first minute with the demo in Chromium, on a machine where no toxicity model can be
loaded: `/` leads to the demo article, a civil first comment is published and a rude one held, and
the page says that the offline fallback decided and why. The API console works with the browser
cut off from every other origin (no CDN).

The demo runs on a database of its own: the shared one's demo article has the five seeded comments
other tests count."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest

from tests.support.browser import DemoServer, expect, post_as_guest

pytestmark = pytest.mark.browser


def _in_thread(make) -> str:
    # sync Playwright keeps an event loop in this thread
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


@pytest.fixture(scope="module")
def no_model_demo(storage, database: str, tmp_path_factory) -> Iterator[DemoServer]:
    name = storage.database + "_demo"
    url = _in_thread(lambda: storage.create_database(name))
    missing = tmp_path_factory.mktemp("no-model") / "detoxify.ckpt"
    server = DemoServer(storage, worker=True, COMMENTS_DATABASE_URL=url,
                        COMMENTS_REDIS_PREFIX=storage.redis_prefix + "demo:", COMMENTS_SCORING="on",
                        COMMENTS_DECISION_WAIT_MS="20000", COMMENTS_SCORING_POLL_SECONDS="0.2",
                        COMMENTS_TOXICITY_CHECKPOINT=str(missing), COMMENTS_TOXICITY_MISSING_MODEL="fallback",
                        HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    try:
        server.start()
        yield server
    finally:
        server.stop()
        _in_thread(lambda: storage.drop_database(name))


def test_a_newcomer_sees_which_scorer_judged_their_first_comments(no_model_demo, context, artifacts):
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(no_model_demo.url + "/")
    assert urlsplit(page.url).path == "/demo"  # demo mode: the root leads to the article
    expect(page.get_by_text("Good reporting."), 20_000)

    # the scorer may nudge before a post it would hold: the reader then submits it for review
    post_as_guest(page, "Thanks for this. I hope the Ishkashim market reopens on schedule.", "Newcomer",
                  through_nudge=True)
    published = expect(page.get_by_text("Your comment is published.", exact=False), 20_000)
    said = published.locator("xpath=..").inner_text()
    assert "offline fallback" in said and "no toxicity model could be loaded" in said, said
    expect(page.locator("#comments article.c", has_text="Ishkashim market reopens on schedule"))

    post_as_guest(page, "Shut up, you have no idea.", "Newcomer", through_nudge=True)
    held = expect(page.get_by_text("moderator will look", exact=False), 20_000)
    said = held.locator("xpath=..").inner_text()
    assert "offline fallback" in said, said
    page.screenshot(path=str(artifacts / "demo-scorer.png"), full_page=True)
    assert errors == []


def test_the_api_console_works_with_no_other_origin_reachable(live_server, context, artifacts):
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    elsewhere: list[str] = []
    origin = live_server.url

    def only_this_origin(route) -> None:
        if route.request.url.startswith(origin + "/"):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_origin)
    page.goto(origin + "/schema/swagger")
    expect(page.locator(".swagger-ui .info .title", has_text="comments_service"), 20_000)
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/articles/{article_id}/comments").first, 20_000)
    page.screenshot(path=str(artifacts / "swagger.png"))
    assert elsewhere == [] and errors == [], (elsewhere, errors)
