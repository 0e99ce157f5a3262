"""The EU Digital Services Act's views of the moderator console in headless Chromium against a real
service process: a notice of illegal content sent through the public API waits in the Notices view
(its response clock, the category in words, the notifier's explanation and the comment as text); a
moderator removes the comment from there (missing fields are refused by their field); the author
appeals through the API; the moderator who removed it is refused the appeal (the server's message
is shown by the form) and another moderator reverses it from the Appeals view; the admin finds both
in the Transparency view's counts and downloads them as CSV and JSON. Each view passes axe."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import jwt
import pytest

from tests.support.console import assert_accessible, cli_token, in_db, signed_in_console
from tests.support.seeding import seed_comment, seed_reader

pytestmark = pytest.mark.browser

SECRET = "browser-dsa-console-secret-0123456789"
ARTICLE = "art-dsa"
NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth"


def reader_token(sub: str, name: str) -> str:
    return jwt.encode({"sub": sub, "name": name, "exp": int(time.time()) + 600}, SECRET, algorithm="HS256")


def wait_toast(page, text: str, toast: str = "status") -> None:
    page.wait_for_function("([id, t]) => document.getElementById(id).textContent.includes(t)", arg=[toast, text],
                           timeout=20_000)


def confirm(page, expect: str) -> None:
    ask = page.locator("#ask[open]")
    ask.wait_for()
    assert expect in ask.inner_text()
    ask.locator("button[type=submit]").click()
    ask.wait_for(state="detached")


def thread_ids(server, site_id: str) -> list[int]:
    r = httpx.get(f"{server.url}/api/v1/articles/{ARTICLE}/comments", params={"site": site_id}, timeout=10)
    assert r.status_code == 200, r.text
    return [c["id"] for c in r.json()["comments"]]


def test_a_notice_decided_appealed_reversed_and_reported_in_the_console(live_server, browser, context, artifacts):
    server = live_server
    site_id = server.create_site("http://dsa-console.test", sso_secret=SECRET)

    async def seed(conn):
        author = await seed_reader(conn, site_id, sub="dsa-author", name="Dana Author")
        row = await seed_comment(None, conn, site_id, article=ARTICLE, status="published", reason=None,
                                 author_id=author, body="The mayor <b>steals</b> from the till & lies")
        return row.id

    comment_id = in_db(server, seed)
    assert comment_id in thread_ids(server, site_id)

    # anyone may send a notice: no account, the public API
    r = httpx.post(f"{server.url}/api/v1/notices", params={"site": site_id}, timeout=10, json={
        "comment_id": comment_id, "category": "defamation", "good_faith": True, "name": "Nora Notifier",
        "email": "nora@example.org", "explanation": "<img src=x> It accuses the mayor of theft without any basis."})
    assert r.status_code == 201, r.text
    reference = r.json()["reference"]

    first = cli_token(server, site_id, name="First Mod")
    second = cli_token(server, site_id, name="Second Mod")
    admin = cli_token(server, site_id, role="admin", name="Report Admin")

    # ---------------------------------------------------------------- the Notices view
    page = signed_in_console(context, server, first, site_id, view="notices")
    card = page.locator("#view .dsa-card.notice.open")
    card.wait_for()
    assert page.locator("#nav a[data-view=notices]").get_attribute("aria-current") == "page"
    assert page.locator("#nav a[data-view=transparency]").count() == 0  # admins only
    page.wait_for_function("() => document.querySelector('#nav a[data-view=notices] .dsa-badge')"
                           "?.textContent === '1 open'")
    assert page.locator("#nav a[data-view=notices]").evaluate("a => a.firstChild.textContent") == "Notices"
    assert "1 notice waits for a decision" in page.locator("#view .dsa-summary").inner_text()
    text = card.inner_text()
    assert "Defamation" in text and reference in text and "Nora Notifier" in text and "nora@example.org" in text
    assert "Waiting under a minute" in card.locator(".dsa-clock").inner_text()
    # the notifier's explanation and the comment are text: their markup is shown, never made
    assert "<img src=x> It accuses the mayor" in text
    assert card.locator(".dsa-explanation img").count() == 0
    body = card.locator(".dsa-comment .dsa-text")
    assert body.inner_text() == "The mayor steals from the till & lies"
    assert body.locator("b").count() == 0
    assert "Dana Author" in card.locator(".dsa-comment").inner_text()
    assert card.locator(".dsa-comment a").get_attribute("href") == f"#/articles/{ARTICLE}"
    assert_accessible(page, "the Notices view")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    page.screenshot(path=str(artifacts / "console-dsa-notices.png"), full_page=True)
    page.set_viewport_size({"width": 768, "height": 1000})
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    page.set_viewport_size({"width": 1000, "height": 900})

    # by keyboard: j to the notice, e to its explanation field
    page.keyboard.press("j")
    assert page.evaluate("() => document.activeElement.closest('.dsa-card') && document.activeElement.tagName") == "H3"
    page.keyboard.press("e")
    assert page.evaluate("() => document.activeElement.name") == "explanation"
    page.locator("#view-title").focus()

    # what is missing is said by its field, before anything is sent
    card.get_by_label("Remove the comment").check()
    card.get_by_role("button", name="Decide").click()
    reason_error = card.locator(".field-error[data-key=reason_code]:not([hidden])")
    reason_error.wait_for()
    assert card.get_by_label("Reason for removal").get_attribute("aria-invalid") == "true"
    card.get_by_label("Reason for removal").select_option("illegal")
    card.get_by_role("button", name="Decide").click()
    explain_error = card.locator(".field-error[data-key=explanation]:not([hidden])")
    explain_error.wait_for()
    assert reason_error.is_hidden()
    assert page.evaluate("() => document.activeElement.name") == "explanation"
    page.screenshot(path=str(artifacts / "console-dsa-notice-error.png"), full_page=True)
    page.keyboard.type("A factual accusation of a crime with no source: defamatory.")
    card.get_by_role("button", name="Decide").click()
    confirm(page, "The comment is removed for readers")
    wait_toast(page, f"Notice {reference}: comment removed.")
    decided = page.locator("#view .dsa-card.notice.decided")
    decided.wait_for()
    line = decided.locator(".dsa-decided-line").inner_text()
    assert line.startswith("Removed by First Mod on ") and "Illegal content" in line
    assert "Decided in" in decided.locator(".dsa-clock").inner_text()
    page.wait_for_function("() => !document.querySelector('#nav a[data-view=notices] .dsa-badge')?.textContent")

    # the comment is gone for readers, and its author has a statement of reasons
    assert comment_id not in thread_ids(server, site_id)
    me = {"Authorization": "Bearer " + reader_token("dsa-author", "Dana Author")}
    r = httpx.get(f"{server.url}/api/v1/me/statements", params={"site": site_id}, headers=me, timeout=10)
    assert r.status_code == 200, r.text
    [statement] = r.json()["items"]
    assert (statement["comment_id"], statement["source"], statement["restriction"]) == (comment_id, "notice",
                                                                                        "removal")
    r = httpx.post(f"{server.url}/api/v1/me/statements/{statement['id']}/appeal", params={"site": site_id},
                   headers=me, json={"explanation": "I said what the court <i>found</i>; here is the ruling."},
                   timeout=10)
    assert r.status_code == 201, r.text

    # ---------------------------------------------------------------- the Appeals view
    # the moderator who removed it sees that another one must decide, and the server refuses them
    page.keyboard.press("g")
    page.keyboard.press("c")
    appeal = page.locator("#view .dsa-card.appeal.open")
    appeal.wait_for()
    first_line = appeal.locator(".dsa-first")
    assert first_line.inner_text().startswith("First decided by First Mod")
    assert "that is you" in first_line.inner_text()
    text = appeal.inner_text()
    assert "Appeal by the author" in text and "I said what the court <i>found</i>" in text
    assert "Comment removed" in text and "Illegal content" in text and "A notice of illegal content" in text
    appeal.get_by_label("Reverse: lift the restriction").check()
    appeal.get_by_label("Explanation of your decision").fill("I agree with the author.")
    appeal.get_by_role("button", name="Decide the appeal").click()
    confirm(page, "The decision is undone now")
    refusal = appeal.locator(".dsa-refusal:not([hidden])")
    refusal.wait_for()
    assert "someone other than the staff member who took the decision" in refusal.inner_text()
    assert page.evaluate("() => document.activeElement.classList.contains('dsa-refusal')")
    assert_accessible(page, "the Appeals view, refused")
    page.screenshot(path=str(artifacts / "console-dsa-appeal-refused.png"), full_page=True)
    assert comment_id not in thread_ids(server, site_id)

    other_context = browser.new_context(viewport={"width": 1000, "height": 900})
    try:
        other = signed_in_console(other_context, server, second, site_id, view="appeals")
        appeal = other.locator("#view .dsa-card.appeal.open")
        appeal.wait_for()
        other.wait_for_function("() => document.querySelector('#nav a[data-view=appeals] .dsa-badge')"
                                "?.textContent === '1 open'")
        first_line = appeal.locator(".dsa-first")
        assert first_line.inner_text() == "First decided by First Mod"
        assert_accessible(other, "the Appeals view")
        other.screenshot(path=str(artifacts / "console-dsa-appeals.png"), full_page=True)
        appeal.get_by_label("Reverse: lift the restriction").check()
        appeal.get_by_label("Explanation of your decision").fill(
            "The comment reports a court's finding: not defamatory.")
        appeal.get_by_role("button", name="Decide the appeal").click()
        confirm(other, "The decision is undone now")
        wait_toast(other, "the decision is reversed")
        done = other.locator("#view .dsa-card.appeal.decided")
        done.wait_for()
        assert done.locator(".dsa-decided-line").inner_text().startswith("Reversed by Second Mod on ")
        assert "not defamatory" in done.inner_text()
        assert other.console_errors == []
    finally:
        other_context.close()
    assert comment_id in thread_ids(server, site_id)
    assert page.console_errors == []

    # ---------------------------------------------------------------- the Transparency view (admins)
    admin_context = browser.new_context(viewport={"width": 1000, "height": 900})
    try:
        report = signed_in_console(admin_context, server, admin, site_id, view="transparency")
        period = report.locator("#view form.dsa-period")
        period.wait_for()
        # the last full calendar month by default
        today = datetime.now(UTC).date()
        last_month_end = today.replace(day=1).toordinal() - 1
        expected_to = datetime.fromordinal(last_month_end).date()
        assert period.get_by_label("To (last day, included)").input_value() == expected_to.isoformat()
        assert period.get_by_label("From (first day)").input_value() == expected_to.replace(day=1).isoformat()
        report.locator("#view .dsa-totals").wait_for()
        # this month, to today: the notice and the appeal
        period.get_by_label("From (first day)").fill(today.replace(day=1).isoformat())
        period.get_by_label("To (last day, included)").fill(today.isoformat())
        period.get_by_role("button", name="Show").click()
        report.wait_for_function("() => document.querySelector('#view [data-stat=notices_received] dd')"
                                 "?.textContent === '1'")
        stat = report.locator("#view .dsa-totals")
        assert stat.locator("[data-stat=appeals_received] dd").inner_text() == "1"

        def count(section: str, key: str) -> str:
            return report.locator(f"#view [data-section={section}] tr[data-key={key}] td").inner_text()

        assert count("notices_by_category", "defamation") == "1"
        assert count("notices_decided", "remove") == "1"
        assert count("appeals_by_outcome", "reverse") == "1"
        assert "Defamation" in report.locator("#view [data-section=notices_by_category]").inner_text()
        assert "Illegal content" in report.locator("#view [data-section=actions_by_reason]").inner_text()
        assert "(whole days, UTC)" in report.locator("#view .dsa-summary").inner_text()
        assert_accessible(report, "the Transparency view")
        assert report.evaluate(NO_SIDEWAYS_SCROLL)
        report.screenshot(path=str(artifacts / "console-dsa-transparency.png"), full_page=True)
        report.set_viewport_size({"width": 768, "height": 1000})  # a tablet: the tables wrap, nothing scrolls
        assert report.evaluate(NO_SIDEWAYS_SCROLL)
        report.screenshot(path=str(artifacts / "console-dsa-transparency-tablet.png"), full_page=True)

        with report.expect_download() as download:
            report.get_by_role("button", name="Download CSV").click()
        assert download.value.suggested_filename == (
            f"transparency-{site_id}-{today.replace(day=1).isoformat()}-to-{today.isoformat()}.csv")
        rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
        assert rows[0] == ["section", "key", "value"]
        assert ["notices_decided", "remove", "1"] in rows and ["appeals_by_outcome", "reverse", "1"] in rows
        assert ["notices_by_category", "defamation", "1"] in rows
        with report.expect_download() as download:
            report.get_by_role("button", name="Download JSON").click()
        data = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
        assert data["site_id"] == site_id and data["appeals_received"] == 1
        assert data["appeals_by_outcome"].get("reverse") == 1
        assert report.console_errors == []
    finally:
        admin_context.close()

    # a notice open for more than a day is marked on its clock (another notifier, from another
    # address: one address has one notice a day on a comment)
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"), timeout=10) as elsewhere:
        r = elsewhere.post(f"{server.url}/api/v1/notices", params={"site": site_id}, json={
            "comment_id": comment_id, "category": "privacy_violation", "good_faith": True, "name": "Pia",
            "email": "pia@example.org", "explanation": "It names my street."})
    assert r.status_code == 201, r.text
    server.sql("UPDATE dsa_notices SET received_at = now() - interval '25 hours 12 minutes' WHERE reference = $1",
               r.json()["reference"])
    page.keyboard.press("g")
    page.keyboard.press("n")
    late = page.locator("#view .dsa-card.notice.open")
    late.wait_for()
    assert page.locator("#view .dsa-card").first.get_attribute("class").endswith("open")  # open ones first
    clock = late.locator(".dsa-clock")
    assert clock.inner_text() == "Waiting 1 d 1 h · over 24 h"
    assert "overdue" in (clock.get_attribute("class") or "")
    assert "Privacy violation" in late.inner_text()
    page.screenshot(path=str(artifacts / "console-dsa-notices-overdue.png"), full_page=True)
