"""The author drawer in headless Chromium against a real service process: a moderator opens a
reader from a held queue item, bans them with reject-all, sees their comments leave the queue and
the public thread, finds the ban in the audit log; and finds a reader by name in the people view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.support.console import assert_accessible, cli_token, in_db, signed_in_console
from tests.support.seeding import seed_comment, seed_reader

pytestmark = pytest.mark.browser


def wait_status(page, text: str) -> None:
    page.wait_for_function("t => document.getElementById('status').textContent.includes(t)", arg=text)


def test_ban_with_reject_all_from_the_author_drawer(live_server, context, artifacts):
    server = live_server
    site_id = server.create_site("http://people.test")
    base = datetime.now(UTC) - timedelta(hours=1)

    async def seed(conn):
        troll = await seed_reader(conn, site_id, sub="troll-sub", name="Troll Tollerson")
        other = await seed_reader(conn, site_id, name="Calm Reader")
        shown = await seed_comment(None, conn, site_id, article="art-ppl", status="published", reason=None,
                                   author_id=troll, body="Troll published", created_at=base)
        held = [await seed_comment(None, conn, site_id, article="art-ppl", author_id=troll, body=f"Troll held {i}",
                                   scores={"toxicity": 0.7 + i / 100}, created_at=base + timedelta(minutes=1 + i))
                for i in range(2)]
        calm = await seed_comment(None, conn, site_id, article="art-ppl", author_id=other, body="Calm held",
                                  scores={"toxicity": 0.5}, created_at=base + timedelta(minutes=5))
        return troll, shown.id, [h.id for h in held], calm.id

    troll, shown, held, calm = in_db(server, seed)
    token = cli_token(server, site_id)
    page = signed_in_console(context, server, token, site_id)
    items = page.locator("#view .queue li.item")
    assert items.count() == 3

    # from a held item: its author's drawer, by keyboard ("o" on the focused item)
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert "Troll held 0" in page.locator("#view .queue li.item.current").inner_text()
    page.keyboard.press("o")
    drawer = page.locator("#people-drawer")
    drawer.wait_for(state="visible")
    page.wait_for_function("() => document.getElementById('people-drawer-title')?.textContent === 'Troll Tollerson'")
    drawer.locator("section[aria-labelledby=people-comments-title] li.person-comment").first.wait_for()
    text = drawer.inner_text()
    assert "1 published · 2 held · 0 rejected" in text and "troll-sub" in text and "In good standing" in text
    assert drawer.locator("li.person-comment").count() == 3
    assert_accessible(page, "the author drawer")
    page.screenshot(path=str(artifacts / "console-people-drawer.png"))

    # a private note (n), then the ban (b): how long, why, and reject all their comments; it confirms
    page.keyboard.press("n")
    page.locator("#ask[open] textarea[name=text]").fill("Third warning this week.")
    page.locator("#ask[open] button[type=submit]").click()
    wait_status(page, "Note added on Troll Tollerson")
    drawer.locator(".person-notes", has_text="Third warning this week.").wait_for()

    page.keyboard.press("b")
    dialog = page.locator("#ask[open]")
    dialog.wait_for()
    dialog.locator("select[name=duration]").select_option("")
    dialog.locator("input[name=reason]").fill("Repeated abuse")
    dialog.locator("input[name=reject_existing]").check()
    assert_accessible(page, "the ban form")
    dialog.locator("button[type=submit]").click()
    confirm = page.locator("#ask[open]")
    confirm.wait_for()
    assert "All their pending and published comments (3) will be rejected" in confirm.inner_text()
    page.keyboard.press("Enter")
    wait_status(page, "Banned Troll Tollerson; 3 comments rejected")

    # their comments leave the queue; the other reader's stays
    page.wait_for_function("() => document.querySelectorAll('#view .queue li.item').length === 1")
    assert "Calm held" in items.first.inner_text()
    drawer.locator(".standing", has_text="Banned until lifted").wait_for()
    drawer.locator(".audit-lines li[data-action=ban]").wait_for()
    page.screenshot(path=str(artifacts / "console-people-banned.png"))
    page.keyboard.press("Escape")
    drawer.wait_for(state="hidden")
    assert page.locator("#view .queue li.item.current").count() == 1  # focus went back to the queue

    # and the public thread
    thread = httpx.get(f"{server.url}/api/v1/articles/art-ppl/comments", params={"site": site_id}, timeout=10)
    assert thread.json()["comments"] == [] and thread.json()["article"]["comment_count"] == 0

    async def stored(conn):
        rows = await conn.fetch("SELECT id, status, status_reason FROM comments WHERE author_id = $1", troll)
        ban = await conn.fetchrow("SELECT until, reason FROM bans WHERE user_id = $1", troll)
        return {r["id"]: (r["status"], r["status_reason"]) for r in rows}, ban

    statuses, ban = in_db(server, stored)
    assert statuses == dict.fromkeys([shown, *held], ("rejected", "banned_user"))
    assert ban["until"] is None and ban["reason"] == "Repeated abuse"

    # the ban in the audit view, filtered to the reader; its entry opens the drawer again
    page.keyboard.press("g")
    page.keyboard.press("l")
    page.locator("#view.view-audit").wait_for()
    page.fill("#audit-user_id", str(troll))
    page.select_option("#audit-action", "ban")
    page.locator("#view .audit-filters button[type=submit]").click()
    entry = page.locator("#view .audit-table tbody tr")
    page.wait_for_function("() => document.querySelectorAll('#view .audit-table tbody tr').length === 1 && "
                           "document.querySelector('#view .audit-table tbody tr').textContent.includes('Banned')")
    text = entry.inner_text()
    assert "Banned a reader" in text and "Troll Tollerson" in text and "Repeated abuse" in text, text
    entry.locator("[data-kind=user]").click()
    drawer.wait_for(state="visible")
    drawer.locator(".standing", has_text="Banned until lifted").wait_for()
    page.screenshot(path=str(artifacts / "console-people-audit.png"))

    async def audited(conn):
        return await conn.fetch("SELECT action, reason, details FROM moderation_actions WHERE user_id = $1 "
                                "ORDER BY id", troll)

    rows = in_db(server, audited)
    assert [r["action"] for r in rows] == ["note", "ban", "reject", "reject", "reject"]
    assert rows[1]["reason"] == "Repeated abuse" and rows[1]["details"]["reject_existing"] is True
    assert page.console_errors == []


def test_find_a_reader_by_name_and_act_by_keyboard(live_server, context, artifacts):
    server = live_server
    site_id = server.create_site("http://people-find.test")

    async def seed(conn):
        await seed_reader(conn, site_id, name="Marguerite Duras")
        return await seed_reader(conn, site_id, sub="sso-mary", name="Mary Shelley")

    mary = in_db(server, seed)
    page = signed_in_console(context, server, cli_token(server, site_id), site_id)
    page.keyboard.press("g")
    page.keyboard.press("p")
    page.locator("#view.view-people #people-q").wait_for()
    page.evaluate("() => document.activeElement.blur()")
    page.keyboard.press("/")
    assert page.evaluate("() => document.activeElement.id") == "people-q"
    page.keyboard.type("MAR")
    page.wait_for_function("() => document.querySelectorAll('#view .people-results button.person').length === 2")
    names = page.locator("#view .people-results .person-name").all_inner_texts()
    assert names == ["Marguerite Duras", "Mary Shelley"]
    page.fill("#people-q", "sso-mary")
    page.keyboard.press("Enter")                   # opens the first match
    page.wait_for_function("() => document.getElementById('people-drawer-title')?.textContent === 'Mary Shelley'")
    page.locator("#people-drawer .drawer-actions").wait_for()
    assert_accessible(page, "the people view with the drawer open")
    # on a tablet the drawer takes the width, nothing overflows
    page.set_viewport_size({"width": 768, "height": 1000})
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 768
    assert page.locator("#people-drawer").bounding_box()["width"] <= 768
    page.screenshot(path=str(artifacts / "console-people-tablet.png"))
    page.set_viewport_size({"width": 1280, "height": 900})

    page.keyboard.press("t")                       # trust: no confirmation
    wait_status(page, "Trusted Mary Shelley")
    page.locator("#people-drawer .standing", has_text="Trusted").wait_for()
    page.keyboard.press("p")                       # premoderation
    wait_status(page, "Mary Shelley’s comments now wait for a moderator")
    page.keyboard.press("s")                       # suspend for 12 hours
    page.locator("#ask[open] input[name=hours]").fill("12")
    page.locator("#ask[open] button[type=submit]").click()
    wait_status(page, "Suspended Mary Shelley until")
    page.locator("#people-drawer .audit-lines li[data-action=suspend]").wait_for()
    page.keyboard.press("Shift+U")                 # lift it: asks first
    page.locator("#ask[open]").wait_for()
    page.keyboard.press("Enter")
    wait_status(page, "Lifted the ban of Mary Shelley")
    page.locator("#people-drawer .audit-lines li[data-action=unban]").wait_for()

    async def stored(conn):
        user = await conn.fetchrow("SELECT trusted, premoderate FROM users WHERE id = $1", mary)
        actions = await conn.fetch("SELECT action FROM moderation_actions WHERE user_id = $1 ORDER BY id", mary)
        return tuple(user), [a["action"] for a in actions]

    flags, actions = in_db(server, stored)
    assert flags == (True, True)
    assert actions == ["trust", "premoderate", "suspend", "unban"]
    assert page.console_errors == []
