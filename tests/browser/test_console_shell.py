"""The moderator console's shell in headless Chromium against a real service process: signing in
through the form (an HttpOnly session cookie, nothing token-like in the page's storage), the tab
title with the waiting counts, the `?` overlay, the queue's reactions to what other moderators do,
accessibility (axe-core) and the layout at 1280 px and on a tablet, and signing out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.support.console import assert_accessible, cli_token, in_db, signed_in_console, wait_queue
from tests.support.seeding import seed_comment, seed_reader

pytestmark = pytest.mark.browser


def seed_queue(server, site_id: str, held: int = 3, article: str = "art-shell") -> list[int]:
    base = datetime.now(UTC) - timedelta(hours=2)

    async def seed(conn):
        author = await seed_reader(conn, site_id, name="Pat Commenter")
        rows = [await seed_comment(None, conn, site_id, article=article, author_id=author,
                                   body=f"Held comment {i} with a few words", scores={"toxicity": 0.7, "insult": 0.4},
                                   created_at=base + timedelta(minutes=i)) for i in range(held)]
        return [r.id for r in rows]

    return in_db(server, seed)


def no_horizontal_overflow(page) -> None:
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the window"


def test_sign_in_keeps_the_token_out_of_the_page_and_sign_out_ends_it(live_server, context):
    server = live_server
    site_id = server.create_site("http://shell.test")
    seed_queue(server, site_id, held=2)
    token = cli_token(server, site_id)

    page = signed_in_console(context, server, token, site_id)
    assert page.locator("#view .queue li.item").count() == 2
    assert "browser-test" in page.locator("#who").inner_text()
    # the session is a cookie scripts cannot read, sent to this origin only
    [cookie] = [c for c in context.cookies() if c["name"] == "cs_staff"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert token not in cookie["value"]
    stored = page.evaluate("() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])")
    assert json.loads(stored) == [[], []]
    assert "csm_" not in page.evaluate("() => document.cookie")
    assert page.locator("#signin-token").input_value() == ""
    # the tab title shows what waits: held · reported
    page.wait_for_function("() => document.title === '(2·0) Moderation'")

    # a reload resumes the session from the cookie (the page asks for its CSRF token again)
    page.reload()
    wait_queue(page)
    assert page.locator("#signin").is_hidden()
    page.keyboard.press("a")
    page.wait_for_function("() => document.title === '(1·0) Moderation'")

    page.click("#sign-out")
    page.locator("#signin").wait_for(state="visible")
    assert page.locator("#top").is_hidden() and page.locator("#view").inner_text() == ""
    assert page.title() == "Moderation"
    assert not [c for c in context.cookies() if c["name"] == "cs_staff"]
    page.reload()
    page.locator("#signin").wait_for(state="visible")
    # the old cookie value no longer opens anything
    gone = httpx.get(f"{server.url}/api/v1/moderation/session", cookies={"cs_staff": cookie["value"]}, timeout=10)
    assert gone.status_code == 401
    # a wrong token stays on the form with a message
    page.fill("#signin-token", "csm_not-a-token")
    page.click("#signin button[type=submit]")
    page.wait_for_function("() => document.getElementById('signin-error').textContent.length > 0")
    assert page.locator("#top").is_hidden()
    assert page.console_errors == []


def test_shortcuts_overlay_lists_every_view_and_the_queue_reacts_to_other_moderators(live_server, context, artifacts):
    server = live_server
    site_id = server.create_site("http://shell-live.test")
    c1, c2, c3 = seed_queue(server, site_id, held=3)
    token = cli_token(server, site_id)
    other = cli_token(server, site_id, name="Other Mod")

    # no live stream here: the test plays the live events itself, and the "already decided" answer
    # must come from the decision, not from an event that removed the item first
    context.route("**/api/v1/moderation/events**", lambda route: route.abort())
    page = signed_in_console(context, server, token, site_id)

    page.keyboard.press("?")
    overlay = page.locator("#help[open]")
    overlay.wait_for()
    groups = page.evaluate("() => [...document.querySelectorAll('#help .help-group')].map(g => g.dataset.scope)")
    titles = page.evaluate("() => [...document.querySelectorAll('#nav a')].map(a => a.firstChild.textContent)")
    assert groups[0] == "global" and "queue" in groups and "Queue" in titles
    text = overlay.inner_text()
    for title in titles:
        assert f"Go to {title}" in text
    for description in ("Next comment", "Approve the comment", "Reject the selected comments",
                        "Open the author of the comment", "Show these shortcuts"):
        assert description in text
    assert_accessible(page, "the shortcuts overlay")
    page.screenshot(path=str(artifacts / "console-shortcuts.png"))
    page.keyboard.press("Escape")
    overlay.wait_for(state="detached")
    # shortcuts do not fire while typing
    page.focus("#queue-article")
    page.keyboard.press("a")
    assert page.locator("#view .queue li.item").count() == 3
    page.locator("#queue-article").fill("")
    page.locator("#view .queue li.item").first.focus()

    # another moderator approves c1 while it is on screen: the live event replaces it with a note
    page.evaluate("""id => Console.emit('queue:decided', {comment_id: id, outcome: 'approved', status: 'published',
                                                           decided_by: 'Other Mod', decided_by_id: 'token:x'})""", c1)
    note = page.locator(f"#view li.gone[data-id='{c1}']")
    assert "approved by Other Mod" in note.inner_text()
    note.wait_for(state="detached", timeout=10_000)
    # presence: another moderator looks at c2
    page.evaluate("id => Console.emit('presence', {comment_id: id, viewers: ['Other Mod']})", c2)
    assert "Other Mod is looking" in page.locator(f"#view li.item[data-id='{c2}']").inner_text()
    # a new held comment announced while the list has items: a bar, loaded with n
    [c4] = seed_queue(server, site_id, held=1, article="art-shell-2")
    page.evaluate("id => Console.emit('queue:new', {comment_id: id, state: 'held'})", c4)
    page.locator("#view .new-bar", has_text="1 new").wait_for()
    page.keyboard.press("n")
    page.locator(f"#view li.item[data-id='{c4}']").wait_for()
    page.locator("#view .new-bar").wait_for(state="hidden")

    # two moderators, one comment: the other one decides c2 first, then this one presses "a" on it
    decided = httpx.post(f"{server.url}/api/v1/moderation/comments/{c2}/decision",
                         headers={"Authorization": f"Bearer {other}"}, json={"action": "approve"}, timeout=10)
    assert decided.status_code == 200, decided.text
    assert page.evaluate("() => document.querySelector('#view li.item.current').dataset.id") == str(c2)
    page.keyboard.press("a")
    page.wait_for_function("t => document.getElementById('alert').textContent.includes(t)",
                           arg="already decided by Other Mod")
    assert page.console_errors == []


def test_queue_is_accessible_and_fits_a_laptop_and_a_tablet(live_server, browser, artifacts):
    server = live_server
    site_id = server.create_site("http://shell-layout.test")
    seed_queue(server, site_id, held=4)
    token = cli_token(server, site_id)
    for width, height, name in ((1280, 800, "laptop"), (768, 1024, "tablet")):
        context = browser.new_context(viewport={"width": width, "height": height})
        try:
            page = context.new_page()
            page.goto(f"{server.url}/moderation")
            page.locator("#signin").wait_for()
            assert_accessible(page, f"the sign-in form at {width}px")
            page.screenshot(path=str(artifacts / f"console-signin-{name}.png"))
            page.close()
            page = signed_in_console(context, server, token, site_id)
            page.keyboard.press("j")
            no_horizontal_overflow(page)
            assert_accessible(page, f"the queue at {width}px")
            page.screenshot(path=str(artifacts / f"console-queue-{name}.png"))
            page.click("#view button[data-state=problems]")
            page.locator("#view .empty:not([hidden]), #view li.problem").first.wait_for()
            assert_accessible(page, f"the problem reports at {width}px")
            assert page.console_errors == []
        finally:
            context.close()


def test_an_admin_of_every_site_picks_the_site_and_dialogs_answer(live_server, context, artifacts):
    server = live_server
    first = server.create_site("http://shell-admin-a.test")
    second = server.create_site("http://shell-admin-b.test")
    [held] = seed_queue(server, second, held=1)
    token = cli_token(server, None, role="admin", name="Chief Admin")

    page = signed_in_console(context, server, token, first)
    assert page.evaluate("() => Console.site()") == first
    assert page.locator("#view > .empty").is_visible()
    page.select_option("#site-picker", second)
    page.locator(f"#view li.item[data-id='{held}']").wait_for()
    assert f"site={second}" in page.url
    # the pick is in the address: a reload keeps it without any storage
    page.reload()
    page.locator(f"#view li.item[data-id='{held}']").wait_for()
    assert page.locator("#site-picker").input_value() == second

    # the shared dialogs every view uses: a prompt returns typed values, Escape cancels
    page.evaluate("""() => { window.answer = Console.prompt('Ban the author', [
        {name: 'days', label: 'Days', type: 'number', value: 7},
        {name: 'reason', label: 'Reason', type: 'select', options: [{value: 'spam', label: 'Spam'}, 'abuse']},
        {name: 'note', label: 'Note', type: 'textarea'},
        {name: 'reject_all', label: 'Reject their comments', type: 'checkbox'},
        {name: 'until', label: 'Until', type: 'datetime-local'}], {submitLabel: 'Ban', danger: true}); }""")
    dialog = page.locator("#ask[open]")
    dialog.wait_for()
    assert page.evaluate("() => document.activeElement.name") == "days"
    dialog.get_by_label("Reason").select_option("abuse")
    dialog.get_by_label("Note").fill("  repeated insults ")
    dialog.get_by_label("Reject their comments").check()
    dialog.get_by_label("Until").fill("2030-01-02T03:04")
    assert_accessible(page, "a prompt dialog")
    page.screenshot(path=str(artifacts / "console-prompt.png"))
    dialog.get_by_role("button", name="Ban").click()
    values = page.evaluate("() => window.answer")
    assert values["days"] == 7 and values["reason"] == "abuse" and values["note"] == "repeated insults"
    assert values["reject_all"] is True and values["until"].startswith("2030-01-0")
    page.evaluate("() => { window.cancelled = Console.confirm('Delete everything?', {danger: true}); }")
    page.locator("#ask[open]").wait_for()
    page.keyboard.press("Escape")
    assert page.evaluate("() => window.cancelled") is False
    page.evaluate("() => { window.confirmed = Console.confirm('Approve?', {confirmLabel: 'Approve'}); }")
    page.locator("#ask[open]").wait_for()
    page.keyboard.press("Enter")
    assert page.evaluate("() => window.confirmed") is True
    assert page.console_errors == []

    # the accessibility check itself finds a real violation (axe runs under the page's strict CSP)
    page.evaluate("() => document.getElementById('view').append(document.createElement('button'))")
    with pytest.raises(pytest.fail.Exception, match="button-name"):
        assert_accessible(page, "a page with an unnamed button")


def test_two_moderators_see_each_other_live(live_server, browser):
    server = live_server
    site_id = server.create_site("http://shell-two.test")
    c1, c2 = seed_queue(server, site_id, held=2)
    contexts = [browser.new_context(viewport={"width": 1280, "height": 800}) for _ in range(2)]
    try:
        ana = signed_in_console(contexts[0], server, cli_token(server, site_id, name="Ana Mod"), site_id)
        ben = signed_in_console(contexts[1], server, cli_token(server, site_id, name="Ben Mod"), site_id)
        for page in (ana, ben):
            page.wait_for_function("() => window.Console && document.title.startsWith('(2·')")
        # both look at c1 (the first item): each sees the other there
        ana.locator(f"#view li.item[data-id='{c1}'] .presence", has_text="Ben Mod is looking").wait_for(timeout=15_000)
        # Ben approves it: it leaves Ana's list with who did it, and her title counts down
        ben.keyboard.press("a")
        note = ana.locator(f"#view li.gone[data-id='{c1}']")
        note.wait_for(timeout=15_000)
        assert "approved by Ben Mod" in note.inner_text()
        ana.wait_for_function("() => document.title.startsWith('(1·')", timeout=15_000)
        # Ana's keys act on the next comment, not on the one Ben took
        ana.keyboard.press("r")
        ana.wait_for_function("t => document.getElementById('status').textContent.includes(t)", arg=f"Rejected #{c2}")
        assert ana.console_errors == [] and ben.console_errors == []
    finally:
        for ctx in contexts:
            ctx.close()
