"""The moderator console's queue in headless Chromium against a real service process: sign in with
a CLI-created token through the console's form, clear a queue of seeded comments by keyboard, then
check the database and the public thread."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.support.console import cli_token, in_db, signed_in_console
from tests.support.seeding import seed_comment, seed_reader

pytestmark = pytest.mark.browser


def signed_in_page(context, server, token: str, site_id: str):
    """The moderator console after signing in through its form, and the list its script errors are collected in."""
    page = signed_in_console(context, server, token, site_id)
    return page, page.console_errors


def test_moderator_clears_the_queue_by_keyboard(live_server, context):
    server = live_server
    site_id = server.create_site("http://news.test")
    base = datetime.now(UTC) - timedelta(hours=1)

    async def seed(conn):
        author = await seed_reader(conn, site_id, name="Commenter")
        shown = await seed_comment(None, conn, site_id, article="art-mod", status="published", reason=None,
                                   body="Already published", created_at=base)
        held = [await seed_comment(None, conn, site_id, article="art-mod", author_id=author, body=f"Held {i}",
                                   scores={"toxicity": 0.6 + i / 100}, created_at=base + timedelta(minutes=1 + i))
                for i in range(4)]
        return shown.id, [h.id for h in held]

    shown, (c1, c2, c3, c4) = in_db(server, seed)
    token = cli_token(server, site_id)

    page, errors = signed_in_page(context, server, token, site_id)
    items = page.locator("#view .queue li.item")
    assert items.count() == 4
    page.wait_for_function("() => document.querySelector('[data-count=held]').textContent.trim() === '4'")
    first = items.first
    assert "Held 0" in first.inner_text() and "Model score above the hold threshold" in first.inner_text()

    # the session survives a reload of the tab (its cookie; the page asks for its CSRF token again)
    page.reload()
    page.wait_for_selector("#view .queue li.item")
    assert page.locator("#signin").is_hidden()

    def wait_status(text: str) -> None:
        page.wait_for_function("t => document.getElementById('status').textContent.includes(t)", arg=text)

    page.keyboard.press("a")                      # approve c1
    wait_status(f"Approved #{c1}")
    page.keyboard.press("r")                      # reject c2 ...
    wait_status(f"Rejected #{c2}")
    page.wait_for_selector("#view .undo:not([hidden])")
    page.keyboard.press("u")                      # ... and take it back
    wait_status(f"Undone #{c2}")
    assert items.count() == 3
    for key in ("j", "x", "k", "x"):              # select c3 and c2
        page.keyboard.press(key)
    assert page.locator("#view .queue li.item.selected").count() == 2
    page.keyboard.press("Shift+R")                # reject the selection: it asks first (no undo for bulk)
    page.locator("#ask[open]").wait_for()
    page.keyboard.press("Enter")
    wait_status("2 rejected")
    page.keyboard.press("a")                      # approve c4
    wait_status(f"Approved #{c4}")
    page.wait_for_selector("#view > .empty:not([hidden])")
    page.wait_for_function("() => document.querySelector('[data-count=held]').textContent.trim() === '0'")
    page.wait_for_function("() => document.title.startsWith('(0·')")
    assert errors == []

    async def outcome(conn):
        rows = await conn.fetch("SELECT id, status FROM comments WHERE id = ANY($1::bigint[])", [c1, c2, c3, c4])
        audit = await conn.fetch("SELECT action FROM moderation_actions WHERE comment_id = $1 ORDER BY id", c2)
        return {r["id"]: r["status"] for r in rows}, [a["action"] for a in audit]

    statuses, c2_audit = in_db(server, outcome)
    assert statuses == {c1: "published", c2: "rejected", c3: "rejected", c4: "published"}
    assert c2_audit == ["reject", "undo", "reject"]
    thread = httpx.get(f"{server.url}/api/v1/articles/art-mod/comments", params={"site": site_id}, timeout=10)
    assert [c["id"] for c in thread.json()["comments"]] == [shown, c1, c4]
    assert thread.json()["article"]["comment_count"] == 3


def test_moderator_reads_and_closes_a_readers_problem_report(live_server, context):
    server = live_server
    site_id = server.create_site("http://reports.test")
    filed = httpx.post(f"{server.url}/api/v1/troubleshoot/reports", params={"site": site_id},
                       json={"description": "My comment vanished after I pressed Post", "article_id": "art-x"},
                       headers={"User-Agent": "TestBrowser/1.0"}, timeout=10)
    assert filed.status_code == 201, filed.text
    reference = filed.json()["reference"]
    token = cli_token(server, site_id)

    page, errors = signed_in_page(context, server, token, site_id)
    page.click("#view button[data-state=problems]")
    item = page.locator("#view li.problem", has_text=reference)
    item.wait_for()
    assert "My comment vanished" in item.inner_text()
    item.locator("summary").click()
    assert "TestBrowser/1.0" in item.inner_text() and "article" in item.inner_text().lower()
    page.keyboard.press("a")  # queue shortcuts are off while reading reports: nothing is approved
    item.get_by_label(f"Resolution for {reference}").fill("Explained premoderation to the reader")
    item.get_by_role("button", name="Close").click()
    page.wait_for_function("t => document.getElementById('status').textContent.includes(t)", arg=f"Closed {reference}")
    assert page.locator("#view li.problem", has_text=reference).count() == 0
    assert errors == []

    async def stored(conn):
        return await conn.fetchrow("SELECT status, resolution FROM problem_reports WHERE reference = $1", reference)

    row = in_db(server, stored)
    assert row["status"] == "closed" and row["resolution"] == "Explained premoderation to the reader"
