"""Email notifications from the widget, in headless Chromium: a reader asks for replies to their own
comment (signed in with an email: at once; a guest: after typing an address, confirmed from their
inbox), follows a discussion, stops; and a link to one comment (a reply email's) opens on it. What the
reader sees is checked against what the service holds (GET /api/v1/me/notifications)."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest

from comments_service.errors import CATALOGUE
from tests.browser.test_widget import api_post
from tests.support.browser import NEWS, expect, host_page, post_as_guest, watch_console, widget_comments

pytestmark = pytest.mark.browser

SECRET = "browser-notify-secret-0123456789abcdef"
SHADOW = "document.querySelector('#comments').shadowRoot"


def sso(sub: str, name: str, email: str | None = None) -> str:
    claims = {"sub": sub, "name": name, "exp": int(time.time()) + 3600}
    if email:
        claims["email"] = email
    return jwt.encode(claims, SECRET, algorithm="HS256")


def subscriptions(server, site: str, token: str) -> list[dict]:
    response = httpx.get(f"{server.url}/api/v1/me/notifications", params={"site": site},
                         headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def own_comment(page, text: str):
    mine = expect(widget_comments(page).filter(has_text=text))
    expect(page.get_by_text("Your comment is published."))
    return mine


def test_a_signed_in_reader_gets_replies_by_email_keeps_it_across_a_reload_and_stops(live_server, context,
                                                                                     artifacts):
    site = live_server.create_site(NEWS, guests=False, sso_secret=SECRET)
    token = sso("n-1", "Nell", "nell@example.org")
    page = context.new_page()
    errors = watch_console(page)
    host_page(page, live_server, site, "notify-sso", attrs=f'data-sso-token="{token}"')
    expect(page.get_by_text("No comments yet"))
    follow = page.locator("#comments .main-form + .notify")
    assert not follow.is_visible()  # nothing to follow yet
    post_as_guest(page, "Tell me when someone answers")
    mine = own_comment(page, "Tell me when someone answers")
    comment_id = int(mine.get_attribute("id").removeprefix("comment-"))

    mine.get_by_role("button", name="Email me replies").click()
    expect(mine.get_by_text("Replies will be emailed"))
    assert mine.get_by_label("Your email").count() == 0  # the sign-in's address: nothing to type
    stop = mine.get_by_role("button", name="Replies will be emailed — stop")
    assert stop.evaluate("e => e.matches(':focus')")  # the keyboard stays on the control, its name says what changed
    [held] = subscriptions(live_server, site, token)
    assert (held["scope"], held["comment_id"], held["email"], held["confirmed"]) == (
        "comment", comment_id, "nell@example.org", True)

    # following the discussion is offered now that there is one
    expect(follow).get_by_role("button", name="Follow this discussion").click()
    expect(follow.get_by_text("Following by email"))
    assert {s["scope"] for s in subscriptions(live_server, site, token)} == {"comment", "article"}
    page.screenshot(path=str(artifacts / "widget-notify-sso.png"), full_page=True)

    page.reload()
    mine = expect(widget_comments(page).filter(has_text="Tell me when someone answers"))
    expect(mine.get_by_text("Replies will be emailed"))
    expect(follow.get_by_text("Following by email"))
    mine.get_by_role("button", name="Replies will be emailed — stop").click()
    again = expect(mine.get_by_role("button", name="Email me replies"))
    assert again.evaluate("e => e.matches(':focus')")
    assert [s["scope"] for s in subscriptions(live_server, site, token)] == ["article"]
    assert errors == []


def test_a_guest_types_an_address_is_told_of_a_bad_one_and_asked_to_confirm(live_server, context, artifacts):
    site = live_server.create_site(NEWS)
    page = context.new_page()
    errors = watch_console(page)
    host_page(page, live_server, site, "notify-guest")
    post_as_guest(page, "A guest who wants answers", name="Gus")
    mine = own_comment(page, "A guest who wants answers")
    mine.get_by_role("button", name="Email me replies").click()
    field = expect(mine.get_by_label("Your email"))
    assert field.evaluate("e => e.matches(':focus')")

    field.fill("not an address")
    mine.get_by_role("button", name="Send").click()
    refused = expect(mine.locator(".notify .status.error"))
    assert refused.inner_text().startswith(CATALOGUE["invalid_email"].message)  # the service's own words
    page.screenshot(path=str(artifacts / "widget-notify-guest-invalid.png"), full_page=True)
    guest = page.evaluate(f"localStorage.getItem('cs-guest:{site}')")
    assert subscriptions(live_server, site, guest) == []

    field.fill("gus@example.org")
    field.press("Enter")  # keyboard only
    expect(mine.get_by_text("Check your inbox to confirm"))
    page.screenshot(path=str(artifacts / "widget-notify-guest-confirm.png"), full_page=True)
    [held] = subscriptions(live_server, site, guest)
    assert (held["scope"], held["email"], held["confirmed"]) == ("comment", "gus@example.org", False)

    # Cancel leaves the address field without asking for anything, back on the button
    follow = page.locator("#comments .main-form + .notify")
    follow.get_by_role("button", name="Follow this discussion").click()
    expect(follow.get_by_label("Your email"))
    follow.get_by_role("button", name="Cancel").click()
    assert expect(follow.get_by_role("button", name="Follow this discussion")).evaluate("e => e.matches(':focus')")
    assert follow.get_by_label("Your email").count() == 0
    assert len(subscriptions(live_server, site, guest)) == 1
    assert [e for e in errors if "422" not in e] == []  # the refused address is the only console noise


def test_a_sign_in_without_an_email_asks_for_one(live_server, context):
    site = live_server.create_site(NEWS, guests=False, sso_secret=SECRET)
    token = sso("n-2", "Noemail")
    page = context.new_page()
    host_page(page, live_server, site, "notify-no-email", attrs=f'data-sso-token="{token}"')
    post_as_guest(page, "Signed in, no address on file")
    mine = own_comment(page, "Signed in, no address on file")
    mine.get_by_role("button", name="Email me replies").click()
    expect(mine.get_by_label("Your email")).fill("noemail@example.org")
    mine.get_by_role("button", name="Send").click()
    expect(mine.get_by_text("Check your inbox to confirm"))
    [held] = subscriptions(live_server, site, token)
    assert (held["email"], held["confirmed"]) == ("noemail@example.org", False)


@pytest.mark.parametrize("motion", ["no-preference", "reduce"])
def test_a_link_to_a_reply_opens_the_page_on_it(live_server, browser, artifacts, motion):
    site = live_server.create_site(NEWS)
    article = f"anchored-{motion}"
    first = api_post(live_server, site, article, "The first word", name="Ada")
    for n in range(6):
        api_post(live_server, site, article, f"Filler comment number {n}", name="Filler")
    reply = api_post(live_server, site, article, "The reply the email links to", name="Bo",
                     parent_id=first["comment"]["id"])
    for n in range(6):
        api_post(live_server, site, article, f"Later comment number {n}", name="Later")
    reply_id = reply["comment"]["id"]
    ctx = browser.new_context(viewport={"width": 900, "height": 700}, reduced_motion=motion)
    try:
        page = ctx.new_page()
        errors = watch_console(page)
        # a long article above the thread: the reply is far below the fold
        host_page(page, live_server, site, article, extra_body="<div style='height:2500px'>Article text</div>")
        page.goto("about:blank")
        page.goto(f"{NEWS}/{article}#comment-{reply_id}")
        target = f"{SHADOW}.getElementById('comment-{reply_id}')"
        page.wait_for_function(f"() => {{ const e = {target}; if (!e) return false;"
                               " const r = e.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }")
        assert page.evaluate("scrollY") > 2000
        shown = page.locator(f"#comments #comment-{reply_id}")
        assert "target" in shown.get_attribute("class")
        assert shown.locator(".body").inner_text() == "The reply the email links to"
        assert page.locator("#comments .target").count() == 1
        assert "null" not in page.locator("#comments .list").inner_text()
        style = shown.locator(".body").evaluate(
            "e => ({name: getComputedStyle(e).animationName, state: getComputedStyle(e).animationPlayState,"
            " bg: getComputedStyle(e).backgroundColor})")
        assert style["name"] == "cs-hl"  # marked, then faded out
        if motion == "reduce":  # marked without a fade: held still at the highlight
            assert style["state"] == "paused" and style["bg"] == "rgb(255, 244, 214)", style
        else:
            assert style["state"] == "running", style
        page.screenshot(path=str(artifacts / f"widget-anchor-{motion}.png"))
        assert errors == []
    finally:
        ctx.close()
