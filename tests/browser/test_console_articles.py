"""The console's articles view in headless Chromium against a real service process: the list shows
each article's counts; a moderator opens an article by keyboard, approves a held comment in the
thread and sees it published there (and readers get it); closing the demo article's comments from
the console makes the widget on the demo page say so. axe-core scans both views."""

from __future__ import annotations

import secrets

import httpx
import pytest

from tests.support.browser import expect, watch_console
from tests.support.console import assert_accessible, cli_token, in_db, signed_in_console
from tests.support.seeding import seed_comment

pytestmark = pytest.mark.browser

SITE = "demo"
DEMO_ARTICLE = "afghan-tajik-border-troops"  # the demo page's article (comments_service/demo/article.html)
API = "/api/v1/moderation"


def wait_status(page, text: str) -> None:
    page.wait_for_function("t => document.getElementById('status').textContent.includes(t)", arg=text)


def test_the_list_and_a_held_comment_approved_in_its_thread(live_server, context, artifacts):
    server = live_server
    article = "console-articles-" + secrets.token_hex(3)

    async def arrange(conn):
        root = await seed_comment(None, conn, SITE, article=article, status="published", body="A calm first comment")
        held = await seed_comment(None, conn, SITE, article=article, status="held", parent_id=root.id,
                                  body="A sharp reply, held for a moderator")
        await seed_comment(None, conn, SITE, article=article, status="held", body="Another held one")
        return root, held

    root, held = in_db(server, arrange)
    console = signed_in_console(context, server, cli_token(server, SITE), SITE, view="articles")
    expect(console.locator("#view.view-articles table.articles"))

    # the list, searched by the article's id: its counts
    console.fill("#articles-search", article)
    console.press("#articles-search", "Enter")
    row = console.locator("tr.article-row", has_text=article)
    expect(row)
    console.wait_for_function("() => document.querySelectorAll('tr.article-row').length === 1")
    cells = row.locator("td")
    assert cells.nth(1).inner_text().startswith("Open")
    assert [cells.nth(i).inner_text() for i in (2, 3, 4)] == ["1", "2", "0"]
    console.screenshot(path=str(artifacts / "console-articles-list.png"), full_page=True)
    assert_accessible(console, "console, articles list")

    # by keyboard: onto the row, Enter opens the thread as readers see it, held comments in place
    row.focus()
    console.keyboard.press("Enter")
    thread = console.locator("#view ol.thread")
    expect(thread.locator("li.tc").first)
    ids = [int(x) for x in thread.locator("li.tc").evaluate_all("els => els.map(e => e.dataset.id)")]
    assert ids[:2] == [root.id, held.id]
    item = thread.locator(f"li.tc[data-id='{held.id}']")
    assert item.get_attribute("data-status") == "held"
    assert "A sharp reply" in item.inner_text()
    console.screenshot(path=str(artifacts / "console-articles-thread.png"), full_page=True)
    assert_accessible(console, "console, article thread")
    console.set_viewport_size({"width": 768, "height": 900})  # a tablet: nothing wider than the screen
    assert console.evaluate("() => document.documentElement.scrollWidth") <= 768
    console.screenshot(path=str(artifacts / "console-articles-thread-tablet.png"), full_page=True)

    # approve it in context: j moves onto it, a approves; it reads published in the thread
    console.keyboard.press("j")
    expect(thread.locator(f"li.tc.current[data-id='{held.id}']"))
    console.keyboard.press("a")
    wait_status(console, f"Approved #{held.id}")
    thread.locator(f"li.tc[data-id='{held.id}'][data-status='published']").wait_for()
    assert "1 held" in console.locator(".article-facts").inner_text()
    public = httpx.get(f"{server.url}/api/v1/articles/{article}/comments", params={"site": SITE}, timeout=10).json()
    replies = public["comments"][0]["replies"]
    assert [r["id"] for r in replies] == [held.id]

    # a comment held in this thread while it is open is offered, not pushed under the keys: n loads it
    late = in_db(server, lambda conn: seed_comment(None, conn, SITE, article=article, status="held",
                                                  body="Held while the thread was open"))
    bar = console.locator("#view button.new-bar")
    expect(bar)
    assert "1 new to moderate in this thread" in bar.inner_text()
    assert thread.locator(f"li.tc[data-id='{late.id}']").count() == 0
    console.locator(".article-head h3").click()  # on the page, not in a field
    console.keyboard.press("n")
    thread.locator(f"li.tc[data-id='{late.id}'][data-status='held']").wait_for()
    assert bar.is_hidden()
    assert console.console_errors == []


def test_closing_comments_from_the_console_closes_the_demo_widget(live_server, context, artifacts):
    server = live_server
    staff = {"Authorization": f"Bearer {cli_token(server, SITE)}"}
    try:
        console = signed_in_console(context, server, cli_token(server, SITE), SITE, view="articles/" + DEMO_ARTICLE)
        expect(console.locator(".article-head h3"))
        assert "Open" in console.locator(".article-facts").inner_text()
        console.locator(".article-head h3").click()  # on the page, not in a field
        console.keyboard.press("c")
        dialog = console.locator("dialog#ask[open]")
        expect(dialog)
        dialog.get_by_role("button", name="Close comments").click()
        wait_status(console, "Comments closed")
        assert "Closed" in console.locator(".article-facts").inner_text()
        expect(console.get_by_role("button", name="Reopen comments"))

        reader = context.new_page()
        errors = watch_console(reader)
        reader.goto(server.url + "/demo")
        expect(reader.get_by_text("Comments on this article are closed."))
        reader.screenshot(path=str(artifacts / "console-articles-demo-closed.png"), full_page=True)
        assert errors == [] and console.console_errors == []

        # reopened by the same key, without a confirmation (nothing is lost by opening)
        console.keyboard.press("c")
        wait_status(console, "Comments reopened")
        reader.reload()
        expect(reader.locator("#comments textarea").first)
        assert reader.get_by_text("Comments on this article are closed.").count() == 0
    finally:
        # the demo article is shared by every browser test of the session: leave it open
        httpx.patch(f"{server.url}{API}/articles/{DEMO_ARTICLE}", params={"site": SITE}, headers=staff,
                    json={"comments_open": True}, timeout=10)
