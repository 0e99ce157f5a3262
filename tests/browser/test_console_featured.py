"""Featured and pinned comments in headless Chromium against a real service process: a moderator
approves a held comment on the demo article in the queue, features it by keyboard in the article's
thread in the console (#/articles/<id>), pins it, and a reader who has the demo page open sees it
under "Featured", the pinned one first, without reloading."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.support.browser import expect, note_stream_ready, wait_stream_ready, watch_console
from tests.support.console import assert_accessible, cli_token, in_db, signed_in_console
from tests.support.seeding import seed_comment

pytestmark = pytest.mark.browser

SITE = "demo"
ARTICLE = "afghan-tajik-border-troops"  # the demo page's article (comments_service/demo/article.html)
API = "/api/v1/moderation"


def thread(server) -> list[dict]:
    response = httpx.get(f"{server.url}/api/v1/articles/{ARTICLE}/comments", params={"site": SITE}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["comments"]


def wait_published(server, comment_id: int) -> None:
    deadline = time.monotonic() + 10
    while comment_id not in [c["id"] for c in thread(server)]:
        assert time.monotonic() < deadline, "the approved comment never reached the thread"
        time.sleep(0.1)


def wait_status(page, text: str) -> None:
    page.wait_for_function("t => document.getElementById('status').textContent.includes(t)", arg=text)


def test_a_pick_and_a_pin_from_the_console_reach_the_demo_page(live_server, context, artifacts):
    server = live_server
    held = in_db(server, lambda conn: seed_comment(None, conn, SITE, article=ARTICLE,
                                                   body="An editor's pick, from the border"))
    staff = {"Authorization": f"Bearer {cli_token(server, SITE)}"}
    other = None
    reader = context.new_page()
    errors = watch_console(reader)
    note_stream_ready(reader)
    reader.goto(server.url + "/demo")
    expect(reader.get_by_text("Good reporting."))
    wait_stream_ready(reader)
    featured = reader.locator("#comments .feat")
    assert featured.is_hidden()
    try:
        console = signed_in_console(context, server, cli_token(server, SITE), SITE)
        item = console.locator("#view .queue li.item", has_text="An editor's pick")
        expect(item)
        assert item.locator(".feature-controls").count() == 0  # held: nothing to feature yet
        item.get_by_role("button", name="Approve").click()
        wait_published(server, held.id)
        # the article's thread in the console, as readers see it, with the controls inline
        console.evaluate("a => { location.hash = '#/articles/' + a; }", ARTICLE)
        item = console.locator("#view .thread li.item", has_text="An editor's pick")
        expect(item)
        controls = item.locator(".feature-controls")
        expect(controls.get_by_role("button", name="Feature"))
        console.wait_for_function("() => !document.querySelector('.feature-controls button.feature').disabled")
        item.locator(".body").click()  # the moderator is on this comment
        console.keyboard.press("f")
        wait_status(console, "Featured")
        controls.locator("button.feature[aria-pressed=true]").wait_for()

        # the reader's page shows the pick at once, under Featured, without a reload
        pick = featured.locator("li.pick", has_text="An editor's pick")
        expect(pick)
        assert featured.get_by_role("heading", name="Featured").count() == 1

        # another moderator features an older demo comment: the newest pick comes first...
        other = next(c for c in thread(server) if "Good reporting." in c["body_html"])
        r = httpx.post(f"{server.url}{API}/comments/{other['id']}/feature", params={"site": SITE}, headers=staff,
                       json={})
        assert r.status_code == 200, r.text
        reader.wait_for_function("() => document.querySelector('#comments').shadowRoot"
                                 ".querySelector('.feat li.pick').textContent.includes('Good reporting.')")
        # ...until the console pins the editor's pick: the pin shows first, labelled
        item.locator(".body").click()
        console.keyboard.press("Shift+P")
        wait_status(console, "Pinned")
        controls.locator("button.pin[aria-pressed=true]").wait_for()
        first = featured.locator("li.pick").first
        reader.wait_for_function("() => { const p = document.querySelector('#comments').shadowRoot"
                                 ".querySelector('.feat li.pick'); return p && p.textContent.includes('Pinned') "
                                 "&& p.textContent.includes(\"An editor's pick\"); }")
        assert featured.locator("li.pick").count() == 2  # the pinned pick is shown once
        assert "Good reporting." in featured.locator("li.pick").nth(1).inner_text()
        assert first.locator(".badge.pin").inner_text() == "Pinned"
        reader.screenshot(path=str(artifacts / "featured-demo.png"), full_page=True)
        console.screenshot(path=str(artifacts / "featured-console.png"), full_page=True)
        assert_accessible(console, "console, an article's thread with feature controls")

        # a reload reads the same from the cache
        reader.reload()
        expect(reader.locator("#comments .feat li.pick .badge.pin"))
        assert "An editor's pick" in reader.locator("#comments .feat li.pick").first.inner_text()
        assert errors == [] and console.console_errors == []
    finally:
        # the demo article is shared by every browser test of the session: leave it as it was
        httpx.post(f"{server.url}{API}/comments/{held.id}/decision", params={"site": SITE}, headers=staff,
                   json={"action": "reject", "reason": "other", "override": True})
        if other is not None:
            httpx.delete(f"{server.url}{API}/comments/{other['id']}/feature", params={"site": SITE}, headers=staff)
