"""The audit and statistics views in headless Chromium against a real service process: a moderator
approves a held comment, finds the decision in the audit log filtered by their name, follows its
links (the article's thread, the reader's drawer), downloads the filtered log as CSV; the statistics
view shows the seeded numbers. Both views pass axe-core."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from tests.support.console import assert_accessible, cli_token, in_db, signed_in_console
from tests.support.seeding import seed_comment, seed_reader

pytestmark = pytest.mark.browser


def fits_a_tablet(page, shot=None) -> None:
    """At 768 px nothing makes the page scroll sideways (wide tables scroll inside their frame)."""
    page.set_viewport_size({"width": 768, "height": 1000})
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 768
    if shot:
        page.screenshot(path=str(shot), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def noon(days_ago: int) -> datetime:
    return datetime.combine(datetime.now(UTC).date() - timedelta(days=days_ago), time(12), UTC)


def test_a_decision_in_the_audit_log_its_links_and_csv_then_the_statistics(live_server, context, artifacts):
    server = live_server
    site_id = server.create_site("http://audit.test")

    async def seed(conn):
        author = await seed_reader(conn, site_id, sub="aud-author", name="Audrey Author")
        held = await seed_comment(None, conn, site_id, article="art-aud", author_id=author, body="Wait for me",
                                  scores={"toxicity": 0.8}, created_at=datetime.now(UTC) - timedelta(hours=2))
        # two days ago: four published, two held (one of them still waiting), one rejected by the policy
        for _ in range(4):
            await seed_comment(None, conn, site_id, article="art-old", status="published", reason=None,
                               created_at=noon(2))
        await seed_comment(None, conn, site_id, article="art-old", reason="suspect_word", created_at=noon(2))
        await seed_comment(None, conn, site_id, article="art-old", status="rejected", reason="banned_word",
                           created_at=noon(2))
        return author, held.id

    author, held = in_db(server, seed)
    token = cli_token(server, site_id, name="Ada Moderator")
    page = signed_in_console(context, server, token, site_id)
    page.set_viewport_size({"width": 1280, "height": 900})

    # the decision, from the queue by keyboard
    item = page.locator("#view .queue li.item", has_text="Wait for me")
    item.wait_for()
    item.click(position={"x": 5, "y": 5})
    # the audit view reads who acted when it opens: the decision must be stored by then
    with page.expect_response(lambda r: r.request.method == "POST" and "/decision" in r.url and r.ok):
        page.keyboard.press("a")
    page.wait_for_function("() => !document.querySelector('#view .queue li.item:not(.gone)')"
                           " || ![...document.querySelectorAll('#view .queue li.item:not(.gone)')]"
                           ".some(li => li.textContent.includes('Wait for me'))")

    # the audit log, filtered by that moderator
    page.keyboard.press("g")
    page.keyboard.press("l")
    page.locator("#view.view-audit").wait_for()
    page.wait_for_function("() => [...document.querySelectorAll('#audit-moderator option')]"
                           ".some(o => o.textContent.startsWith('Ada Moderator'))")
    page.keyboard.press("/")
    assert page.evaluate("() => document.activeElement.id") == "audit-moderator"
    page.select_option("#audit-moderator", label=page.locator("#audit-moderator option", has_text="Ada Moderator")
                       .first.inner_text())
    page.click(".audit-filters button[type=submit]")
    rows = page.locator(".audit-table tbody tr")
    page.wait_for_function("() => document.querySelectorAll('.audit-table tbody tr').length === 1 && "
                           "location.hash.includes('moderator')")
    text = rows.first.inner_text()
    assert "Approved a comment" in text and f"Comment #{held}" in text and "Audrey Author" in text
    assert "Held → Published" in text
    assert_accessible(page, "the audit view")
    page.screenshot(path=str(artifacts / "console-audit.png"), full_page=True)
    fits_a_tablet(page, artifacts / "console-audit-tablet.png")

    # the CSV download has the same row
    with page.expect_download() as download:
        page.keyboard.press("x")
    body = Path(download.value.path()).read_text(encoding="utf-8")
    [row] = list(csv.DictReader(io.StringIO(body)))
    assert (row["action"], row["comment_id"], row["article_id"], row["actor_name"], row["user_name"]) == (
        "approve", str(held), "art-aud", "Ada Moderator", "Audrey Author")
    assert download.value.suggested_filename.startswith(f"audit-{site_id}-")

    # its links: the reader's drawer, and (Enter) the comment in its article's thread
    rows.first.locator("[data-kind=user]").click()
    page.wait_for_function("() => document.getElementById('people-drawer-title')?.textContent === 'Audrey Author'")
    page.keyboard.press("Escape")
    page.locator("#people-drawer").wait_for(state="hidden")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_function("() => location.hash === '#/articles/art-aud'")
    page.locator("#view.view-articles").wait_for()
    page.locator("#view", has_text="Wait for me").wait_for()

    # the statistics
    page.keyboard.press("g")
    page.keyboard.press("s")
    page.locator("#view.view-stats .stats-table").wait_for()
    totals = {k: page.locator(f".stats-totals [data-stat={k}] dd").inner_text() for k in (
        "published_auto", "held", "rejected_auto", "published_by_moderators")}
    assert totals == {"published_auto": "4", "held": "2", "rejected_auto": "1", "published_by_moderators": "1"}
    two_days_ago = (datetime.now(UTC).date() - timedelta(days=2)).isoformat()
    day = page.locator(f".stats-table tr[data-date='{two_days_ago}']")
    assert [day.locator(f"td[data-col={c}]").inner_text() for c in ("published_auto", "held", "rejected_auto")] == [
        "4", "1", "1"]
    wait = page.locator(".stats-totals [data-stat=median_hold_to_decision_s] dd").inner_text()
    assert wait in ("2 h", "2.1 h"), wait
    reasons = page.locator("#reasons-held").locator("xpath=..").inner_text()
    assert "Model score above the hold threshold" in reasons and "Contains a suspect word or phrase" in reasons
    assert page.locator(".stats-chart .bars .col").count() == 7
    assert_accessible(page, "the statistics view")
    page.screenshot(path=str(artifacts / "console-stats.png"), full_page=True)
    fits_a_tablet(page, artifacts / "console-stats-tablet.png")
    # the period
    page.keyboard.press("p")
    page.select_option("#stats-period", "30")
    page.wait_for_function("() => document.querySelectorAll('.stats-chart .bars .col').length === 30")
    assert not page.console_errors
