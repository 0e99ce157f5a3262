"""The widget in headless Chromium: an SSO sign-in that expires and is refreshed by the page without a
reload, a ban or a closed article shown before the reader writes, times in the reader's language, and
the auto theme taking the page's colours."""

from __future__ import annotations

import base64
import json
import re
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import jwt
import pytest

from comments_service.errors import CATALOGUE
from tests.browser.test_widget import api_post
from tests.support.browser import NEWS, expect, host_page, post_as_guest, watch_console, widget_comments

pytestmark = pytest.mark.browser

SECRET = "browser-sso-refresh-secret-0123456789"
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
# the host page's refresh hook, as README.md documents it; the test plays the page's server
LISTENER = ("<script>window.asked = [];"
            "document.addEventListener('comments-service:token-expired', (e) => window.asked.push(e.detail.reason));"
            "</script>")


def sso(sub: str, name: str, expires_in: int) -> str:
    return jwt.encode({"sub": sub, "name": name, "exp": int(time.time()) + expires_in}, SECRET, algorithm="HS256")


def guest_id(page, site: str) -> str:
    token = page.evaluate(f"localStorage.getItem('cs-guest:{site}')")
    return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))["sub"]


def main_form(page):
    return page.locator("#comments .main-form")


# ------------------------------------------------------------------ SSO: expiry and the refresh hook

def test_an_expired_sign_in_still_reads_says_so_kindly_and_is_refreshed_without_a_reload(live_server, context):
    site = live_server.create_site(NEWS, guests=False, sso_secret=SECRET)
    api_post(live_server, site, "sso-expired", "Written before", token=sso("other", "Other Reader", 600))
    page = context.new_page()
    errors = watch_console(page)
    host_page(page, live_server, site, "sso-expired", extra_head=LISTENER,
              attrs=f'data-sso-token="{sso("late", "Late Reader", -300)}"')
    # the thread is readable with an expired token, and the reader is told in the catalogue's words
    expect(page.get_by_text("Written before"))
    notice = expect(main_form(page).locator(".notice"))
    assert notice.inner_text() == CATALOGUE["token_expired"].help
    assert "expired" in page.evaluate("window.asked")

    box = main_form(page).get_by_label("Your comment")
    box.fill("A draft kept across the refresh")
    page.evaluate("(t) => window.commentsService.setToken(t)", sso("late", "Late Reader", 3600))
    expect(main_form(page).get_by_text("Commenting as Late Reader"))
    assert main_form(page).locator(".notice").count() == 0
    assert box.input_value() == "A draft kept across the refresh"
    main_form(page).get_by_role("button", name="Post comment").click()
    expect(page.get_by_text("Your comment is published."))
    mine = expect(widget_comments(page).filter(has_text="A draft kept across the refresh"))
    assert mine.locator(".author").inner_text() == "Late Reader"
    assert not [e for e in errors if "401" not in e]  # the refused /me is the only console noise


def test_a_post_with_an_expired_token_is_refused_in_plain_words_and_asks_the_page_again(live_server, context):
    site = live_server.create_site(NEWS, guests=False, sso_secret=SECRET)
    page = context.new_page()
    host_page(page, live_server, site, "sso-post-expired", extra_head=LISTENER,
              attrs=f'data-sso-token="{sso("r1", "Reader One", 3600)}"')
    expect(main_form(page).get_by_text("Commenting as Reader One"))  # known by name before any comment
    # the page handed over a token that has run out by the time the reader posts
    page.evaluate("(t) => window.commentsService.setToken(t)", sso("r1", "Reader One", -300))
    main_form(page).get_by_label("Your comment").fill("Will this go through?")
    main_form(page).get_by_role("button", name="Post comment").click()
    status = expect(main_form(page).locator(".status.error"))
    assert status.inner_text().startswith(CATALOGUE["token_expired"].help)
    assert "Reference:" in status.inner_text()
    page.wait_for_function("() => window.asked.includes('expired')")
    assert main_form(page).get_by_label("Your comment").input_value() == "Will this go through?"

    page.evaluate("(t) => window.commentsService.setToken(t)", sso("r1", "Reader One", 3600))
    main_form(page).get_by_role("button", name="Post comment").click()
    expect(page.get_by_text("Your comment is published."))


def test_signing_out_takes_the_readers_own_markdown_off_this_browser(live_server, context):
    """A shared computer: after the page signs the reader out, the markdown of their comments that
    the widget kept for editing is gone from the host page's storage."""
    site = live_server.create_site(NEWS, guests=False, sso_secret=SECRET)
    page = context.new_page()
    host_page(page, live_server, site, "sso-sign-out", attrs=f'data-sso-token="{sso("pc", "Shared PC", 3600)}"')
    box = main_form(page).get_by_label("Your comment")
    box.fill("My **private** draft words")
    main_form(page).get_by_role("button", name="Post comment").click()
    expect(page.get_by_text("Your comment is published."))
    stored = f"localStorage.getItem('cs-md:{site}')"
    assert "My **private** draft words" in (page.evaluate(stored) or "")
    page.evaluate("() => window.commentsService.setToken(null)")
    page.wait_for_function(f"() => !({stored} || '').includes('private')")
    assert "private" not in (page.evaluate(stored) or "")


def test_the_page_is_asked_for_a_new_token_a_minute_before_it_expires(live_server, context):
    site = live_server.create_site(NEWS, guests=False, sso_secret=SECRET)
    page = context.new_page()
    host_page(page, live_server, site, "sso-expiring", extra_head=LISTENER,
              attrs=f'data-sso-token="{sso("soon", "Soon Reader", 62)}"')
    expect(main_form(page).get_by_text("Commenting as Soon Reader"))
    page.wait_for_function("() => window.asked.includes('expiring')", timeout=15_000)
    assert "expired" not in page.evaluate("window.asked")  # nothing was refused: the page is early


def test_a_page_whose_new_tokens_come_expired_is_not_asked_in_a_loop(live_server, context):
    site = live_server.create_site(NEWS, guests=False, sso_secret=SECRET)
    expired = sso("looping", "Looping Reader", -300)  # what a host with a slow clock keeps signing
    # window.settled counts the page's new tokens the widget has finished with (its /me answered and
    # acted on): a loop would have asked again before the first one settles
    eager = ("<script>window.asked = []; window.settled = 0;"
             "document.addEventListener('comments-service:token-expired', (e) => {"
             f"window.asked.push(e.detail.reason); window.commentsService.setToken('{expired}')"
             ".then(() => { window.settled += 1; }); });</script>")
    page = context.new_page()
    me_calls: list[str] = []
    page.on("request", lambda r: me_calls.append(r.url) if "/api/v1/me" in r.url else None)
    host_page(page, live_server, site, "sso-loop", extra_head=eager, attrs=f'data-sso-token="{expired}"')
    expect(main_form(page).locator(".notice"))
    page.wait_for_function("() => window.settled >= 1")
    assert page.evaluate("window.asked") == ["expired"]
    assert page.evaluate("window.settled") == 1
    # a loop keeps asking; a settled page asks nothing more (how many calls settling took varies
    # with the machine's pace by one or two, never by a loop's dozens)
    settled = len(me_calls)
    page.wait_for_timeout(1500)
    assert len(me_calls) == settled <= 6, me_calls
    assert page.evaluate("window.asked") == ["expired"]


# ------------------------------------------------------------------ states shown before writing

def test_a_banned_reader_sees_the_ban_and_its_end_in_their_locale_before_writing(live_server, browser, artifacts):
    # a British reader in Berlin on an English page: British dates, Berlin's clock
    ctx = browser.new_context(locale="en-GB", timezone_id="Europe/Berlin", viewport={"width": 1000, "height": 900})
    try:
        site = live_server.create_site(NEWS)
        api_post(live_server, site, "banned-before", "Someone else's words")
        page = ctx.new_page()
        host_page(page, live_server, site, "banned-before")
        expect(page.get_by_text("Someone else's words"))
        post_as_guest(page, "Before the ban", name="Troll")
        expect(page.get_by_text("Your comment is published."))
        ban = live_server.as_staff("POST", f"/api/v1/moderation/users/{guest_id(page, site)}/ban", site,
                                   {"duration_days": 3})
        until = datetime.fromisoformat(ban["standing"]["banned_until"]).astimezone(ZoneInfo("Europe/Berlin"))
        british = f"{until.day} {MONTHS[until.month - 1]} {until.year}"  # day first, unlike en-US

        page.reload()
        notice = expect(main_form(page).locator(".notice"))
        text = notice.inner_text()
        assert "banned" in text and not ISO_TIME.search(text)
        assert british in text and f"{until:%H:%M}" in text, text
        # nothing to write in, and nothing offered that would be refused; deleting stays
        assert main_form(page).locator("textarea").count() == 0
        theirs = widget_comments(page).filter(has_text="Someone else's words")
        assert theirs.get_by_role("button", name="Reply").count() == 0
        assert theirs.get_by_role("button", name="Upvote").is_disabled()
        mine = widget_comments(page).filter(has_text="Before the ban")
        assert mine.get_by_role("button", name="Edit").count() == 0
        assert mine.get_by_role("button", name="Delete").count() == 1
        page.screenshot(path=str(artifacts / "widget-banned.png"), full_page=True)

        # the troubleshooter says the same, in the same words for times, with its status words coloured
        page.get_by_role("button", name="Having issues with commenting?").click()
        panel = expect(page.get_by_role("region", name="Commenting check"))
        account = expect(panel.locator("li.check", has_text="Your account"))
        assert not ISO_TIME.search(panel.inner_text())
        assert british in account.inner_text()
        word = account.locator(".st")
        assert word.inner_text() == "Problem"
        assert word.evaluate("e => getComputedStyle(e).color") == "rgb(179, 38, 30)"  # the theme's --bad
        page.screenshot(path=str(artifacts / "widget-banned-troubleshooter.png"), full_page=True)
    finally:
        ctx.close()


def test_a_closed_article_offers_no_edit_reply_or_vote(live_server, context, artifacts):
    site = live_server.create_site(NEWS)
    api_post(live_server, site, "closed-before", "Someone else's words")
    page = context.new_page()
    host_page(page, live_server, site, "closed-before")
    post_as_guest(page, "Mine, before the close")
    expect(page.get_by_text("Your comment is published."))
    live_server.moderate_article(site, "closed-before", comments_open=False)
    page.reload()
    expect(main_form(page).get_by_text("Comments on this article are closed."))
    mine = expect(widget_comments(page).filter(has_text="Mine, before the close"))
    assert mine.get_by_role("button", name="Edit").count() == 0
    assert mine.get_by_role("button", name="Delete").count() == 1
    theirs = widget_comments(page).filter(has_text="Someone else's words")
    assert theirs.get_by_role("button", name="Reply").count() == 0
    assert theirs.get_by_role("button", name="Upvote").is_disabled()
    page.screenshot(path=str(artifacts / "widget-closed.png"), full_page=True)


def test_a_close_or_a_ban_made_while_the_page_is_open_shows_when_the_reader_starts_writing(live_server, context):
    site = live_server.create_site(NEWS)
    api_post(live_server, site, "closing-live", "Opening words")
    page = context.new_page()
    host_page(page, live_server, site, "closing-live")
    expect(page.get_by_text("Opening words"))
    live_server.moderate_article(site, "closing-live", comments_open=False)
    main_form(page).get_by_label("Your comment").focus()
    expect(main_form(page).get_by_text("Comments on this article are closed."))
    assert main_form(page).locator("textarea").count() == 0

    other = context.new_page()
    host_page(other, live_server, site, "banned-live")
    post_as_guest(other, "Fine so far", name="Soon Banned")
    expect(other.get_by_text("Your comment is published."))
    other.reload()
    expect(main_form(other).get_by_text("Commenting as Soon Banned"))
    live_server.as_staff("POST", f"/api/v1/moderation/users/{guest_id(other, site)}/ban", site, {})
    main_form(other).get_by_label("Your comment").focus()
    expect(main_form(other).get_by_text("You are banned from commenting on this site."))


# ------------------------------------------------------------------ the theme follows the page

def colours(page) -> dict:
    return page.locator("#comments .cs").evaluate(
        "e => ({theme: e.getRootNode().host.getAttribute('data-theme'), bg: getComputedStyle(e).backgroundColor,"
        " fg: getComputedStyle(e).color, pad: parseFloat(getComputedStyle(e).paddingLeft)})")


def test_auto_theme_takes_the_page_background_not_only_the_system_preference(live_server, browser, artifacts):
    site = live_server.create_site(NEWS)
    api_post(live_server, site, "themed", "Readable on any page")
    light_os = browser.new_context(color_scheme="light", viewport={"width": 900, "height": 700})
    dark_os = browser.new_context(color_scheme="dark", viewport={"width": 900, "height": 700})
    try:
        # a dark page on a light system: the widget is dark, on the page's own background
        page = light_os.new_page()
        host_page(page, live_server, site, "themed", extra_head="<style>body{background:#101418;color:#eee}</style>")
        expect(page.get_by_text("Readable on any page"))
        seen = colours(page)
        assert seen["theme"] == "dark" and seen["bg"] == "rgba(0, 0, 0, 0)" and seen["fg"] == "rgb(231, 232, 234)"
        page.screenshot(path=str(artifacts / "widget-auto-dark-page.png"), full_page=True)
        # the page's own switch to light
        page.evaluate("document.body.style.background = '#fdfdf8'")
        page.wait_for_function("() => document.querySelector('#comments').getAttribute('data-theme') === 'light'")

        # a page that declares no dark scheme is drawn light on a dark system: so is the widget
        page = dark_os.new_page()
        host_page(page, live_server, site, "themed")
        expect(page.get_by_text("Readable on any page"))
        assert colours(page)["theme"] == "light"
        # one that declares "light dark" is drawn dark there: so is the widget
        page = dark_os.new_page()
        host_page(page, live_server, site, "themed", extra_head="<meta name='color-scheme' content='light dark'>")
        expect(page.get_by_text("Readable on any page"))
        assert colours(page)["theme"] == "dark"
    finally:
        light_os.close()
        dark_os.close()


def test_the_dark_theme_on_a_light_page_is_a_padded_box(live_server, context, artifacts):
    site = live_server.create_site(NEWS)
    api_post(live_server, site, "dark-box", "Text that needs room")
    page = context.new_page()
    host_page(page, live_server, site, "dark-box", attrs='data-theme="dark"')
    expect(page.get_by_text("Text that needs room"))
    seen = colours(page)
    assert seen["theme"] == "dark" and seen["bg"] == "rgb(24, 25, 28)"
    assert seen["pad"] >= 12, "dark text must not touch the edge of its box"
    # the comment's text starts inside the box, not on its edge
    box = page.locator("#comments .cs").bounding_box()
    body = widget_comments(page).first.locator(".body").bounding_box()
    assert body["x"] - box["x"] >= 12
    page.screenshot(path=str(artifacts / "widget-dark-on-light.png"), full_page=True)


# ------------------------------------------------------------------ status words for moderators too

def test_the_moderators_problem_reports_show_status_words_in_their_colours(live_server, context):
    from tests.browser.test_moderation_page import cli_token, signed_in_page

    site = live_server.create_site(NEWS)
    # a suspended guest reports a problem: the troubleshooter's findings name when the ban ends
    guest = api_post(live_server, site, "art-words", "Before the ban", name="Reporter")
    live_server.as_staff("POST", f"/api/v1/moderation/users/{guest['user']['id']}/ban", site, {"duration_days": 1})
    filed = httpx.post(f"{live_server.url}/api/v1/troubleshoot/reports", params={"site": site},
                       json={"description": "Nothing happens when I post", "article_id": "art-words"},
                       headers={"Authorization": f"Bearer {guest['guest_token']}"}, timeout=10)
    assert filed.status_code == 201, filed.text
    page, errors = signed_in_page(context, live_server, cli_token(live_server, site), site)
    page.click("#view button[data-state=problems]")
    item = page.locator("#view li.problem", has_text=filed.json()["reference"])
    item.wait_for()
    item.locator("summary").click()
    words = item.locator(".check .st")
    assert words.count() >= 3
    assert set(words.all_inner_texts()) <= {"OK", "Warning", "Problem", "Info"}
    assert not re.search(r"^(ok|warn|problem|info)\b", item.inner_text(), re.M)  # no raw status codes
    ok = item.locator(".check .st", has_text="OK").first
    assert ok.evaluate("e => getComputedStyle(e).color") == "rgb(22, 115, 58)"
    account = item.locator(".check", has_text="Your account")
    assert account.locator(".st").inner_text() == "Problem" and "suspended" in account.inner_text()
    assert not ISO_TIME.search(item.inner_text())
    assert errors == []
