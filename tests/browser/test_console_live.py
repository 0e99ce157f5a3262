"""The console, live, in headless Chromium against a real service process: two moderators in two
browser contexts on the same held queue see each other's decisions without reloading, one of two
simultaneous decisions wins and the other is told who made it, each sees what the other is looking
at, and the tab title follows the waiting counts."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.console import assert_accessible, cli_token, in_db, signed_in_console
from tests.support.seeding import seed_comment

pytestmark = pytest.mark.browser


def item(page, comment_id: int):
    return page.locator(f'#view .queue li.item[data-id="{comment_id}"]')


def wait_title(page, text: str) -> None:
    page.wait_for_function("t => document.title.includes(t)", arg=text, timeout=10_000)


def test_two_moderators_see_each_other_live(live_server, browser, context, artifacts):
    server = live_server
    site_id = server.create_site("http://live-console.test")
    base = datetime.now(UTC) - timedelta(hours=1)

    async def seed(conn):
        rows = [await seed_comment(None, conn, site_id, article="art-live", body=f"Held number {i}",
                                   created_at=base + timedelta(minutes=i)) for i in range(3)]
        return [r.id for r in rows]

    x, y, z = in_db(server, seed)
    ana = signed_in_console(context, server, cli_token(server, site_id, name="Ana"), site_id)
    other = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        bea = signed_in_console(other, server, cli_token(server, site_id, name="Bea"), site_id)
        for page in (ana, bea):
            assert page.locator("#view .queue li.item").count() == 3
            wait_title(page, "(3·0)")  # held · reported, from the stream's first counts

        # presence: Ana has X in view; Bea sees it on X
        ana.keyboard.press("j")
        ana.keyboard.press("k")
        assert "Held number 0" in ana.locator("#view .queue li.item.current").inner_text()
        item(bea, x).locator(".presence", has_text="Ana is looking").wait_for(timeout=10_000)
        # Bea's queue has its first item, X, in view too: Ana sees her there, and never herself
        item(ana, x).locator(".presence", has_text="Bea is looking").wait_for(timeout=10_000)
        assert "Ana" not in item(ana, x).locator(".presence").inner_text()
        assert_accessible(bea, "the live queue with presence")
        bea.screenshot(path=str(artifacts / "console-live-presence.png"))

        # Ana approves X: it leaves Bea's queue, saying who decided it, without a reload
        ana.keyboard.press("a")
        item(bea, x).locator(".decided-note", has_text="approved by Ana").wait_for(timeout=10_000)
        bea.screenshot(path=str(artifacts / "console-live-decided-elsewhere.png"))
        wait_title(bea, "(2·0)")
        item(bea, x).wait_for(state="detached", timeout=10_000)

        # both decide Y at the same moment: both requests are held back until both were sent
        held_back = []
        for page in (ana, bea):
            page.route(f"**/api/v1/moderation/comments/{y}/decision", lambda route: held_back.append(route))
        for page in (ana, bea):
            page.keyboard.press("k")  # the first item, Y, in both
            assert "Held number 1" in page.locator("#view .queue li.item.current").inner_text()
        ana.keyboard.press("a")
        bea.keyboard.press("r")
        deadline = time.monotonic() + 10
        while len(held_back) < 2 and time.monotonic() < deadline:
            ana.wait_for_timeout(50)
        assert len(held_back) == 2
        for route in held_back:
            route.continue_()
        # one of them is told the other decided first; exactly one decision was written, theirs
        told = "() => document.getElementById('alert').textContent.includes('decided by ')"
        deadline = time.monotonic() + 10
        while not (ana.evaluate(told) or bea.evaluate(told)) and time.monotonic() < deadline:
            ana.wait_for_timeout(50)
        decided = in_db(server, lambda conn: conn.fetch(
            "SELECT actor_name, action FROM moderation_actions WHERE comment_id = $1", y))
        assert len(decided) == 1, decided
        winner = decided[0]["actor_name"]
        loser = bea if winner == "Ana" else ana
        assert f"decided by {winner}" in loser.locator("#alert").inner_text()
        assert "decided by" not in (ana if loser is bea else bea).locator("#alert").inner_text()
        loser.screenshot(path=str(artifacts / "console-live-already-decided.png"))

        # a new held comment: both tab titles follow
        wait_title(ana, "(1·0)")
        in_db(server, lambda conn: seed_comment(None, conn, site_id, article="art-live", body="Late arrival"))
        wait_title(ana, "(2·0)")
        wait_title(bea, "(2·0)")
        assert not ana.console_errors and not bea.console_errors, (ana.console_errors, bea.console_errors)
        assert z  # the third one still waits for both
    finally:
        other.close()
