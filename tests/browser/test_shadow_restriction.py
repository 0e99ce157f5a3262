"""Shadow restriction in headless Chromium against a real service process: a moderator restricts a
reader from the author drawer (offered only where the site turned it on), and the restricted
reader's held comment shows in their own widget in place, without the "Awaiting moderation" badge
but with its statement of reasons under Why?."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest

from tests.support.browser import NEWS, expect, host_page, watch_console
from tests.support.console import assert_accessible, cli_token, in_db, signed_in_console
from tests.support.seeding import seed_comment
from tests.support.tokens import bearer

pytestmark = pytest.mark.browser

SECRET = "browser-shadow-secret-0123456789abcdef"
RULE = "Rule 7: accounts that spam may be restricted."


def sso(sub: str, name: str) -> str:
    return jwt.encode({"sub": sub, "name": name, "exp": int(time.time()) + 900}, SECRET, algorithm="HS256")


def post(server, site: str, article: str, body: str, token: str) -> dict:
    r = httpx.post(f"{server.url}/api/v1/articles/{article}/comments", params={"site": site}, headers=bearer(token),
                   json={"body": body, "article_url": f"{NEWS}/{article}", "article_title": f"Article {article}"},
                   timeout=10)
    assert r.status_code == 201, r.text
    return r.json()


def wait_status(page, text: str) -> None:
    page.wait_for_function("t => document.getElementById('status').textContent.includes(t)", arg=text)


def open_drawer_of_first_item(page):
    page.keyboard.press("j")
    page.keyboard.press("k")
    page.keyboard.press("o")
    drawer = page.locator("#people-drawer")
    drawer.wait_for(state="visible")
    drawer.locator("p[data-standing]").wait_for()
    return drawer


def test_a_moderator_restricts_and_the_reader_sees_their_comment_in_place_with_why(live_server, context, artifacts):
    server = live_server
    site = server.create_site(NEWS, guests=False, sso_secret=SECRET, settings={
        "moderation": {"shadow_restriction": True}, "dsa": {"rules": {"shadow_restricted": RULE}}})
    article = "shadow-art"
    reader = sso("shadow-r", "Sam Spammer")
    first = post(server, site, article, "An ordinary first comment.", reader)
    user_id = first["user"]["id"]

    async def seed_held(conn):
        return (await seed_comment(None, conn, site, article=article, author_id=user_id, body="Held for its words",
                                   scores={"toxicity": 0.7})).id
    in_db(server, seed_held)

    page = signed_in_console(context, server, cli_token(server, site), site)
    drawer = open_drawer_of_first_item(page)
    toggle = drawer.get_by_role("button", name="Shadow restriction")
    assert toggle.get_attribute("aria-pressed") == "false"
    assert "show only to them" in drawer.inner_text()
    page.keyboard.press("Shift+R")
    wait_status(page, "new comments now show to them alone")
    drawer.locator(".flag", has_text="Shadow-restricted").wait_for()
    assert drawer.get_by_role("button", name="Shadow restriction").get_attribute("aria-pressed") == "true"
    assert_accessible(page, "the author drawer with shadow restriction")
    page.screenshot(path=str(artifacts / "console-shadow-restriction.png"))
    assert in_db(server, lambda c: c.fetchval("SELECT shadow_restricted FROM users WHERE id = $1", user_id)) is True

    # what the worker would hold for the restricted reader (this server runs no scoring worker)
    async def seed_restricted(conn):
        return (await seed_comment(None, conn, site, article=article, author_id=user_id, reason="shadow_restricted",
                                   body="Buy cheap watches at my shop")).id
    restricted = in_db(server, seed_restricted)

    widget = context.new_page()
    errors = watch_console(widget)
    host_page(widget, server, site, article, attrs=f'data-sso-token="{reader}"')
    shown = expect(widget.locator(f"#comments #comment-{restricted}"))
    assert "Buy cheap watches" in shown.inner_text()
    # in place, unmarked: no "Awaiting moderation" badge and not dimmed as waiting
    assert shown.locator(":scope > header .badge").count() == 0
    assert "held" not in (shown.get_attribute("class") or "")
    # and the truth one click away: the statement of reasons under Why?
    shown.locator(":scope > details.why > summary").click()
    text = shown.locator(":scope > details.why").inner_text()
    assert "held for review" in text and RULE in text
    # a hold for what a comment says keeps its badge
    other = widget.locator("#comments article.c.held", has_text="Held for its words")
    assert other.locator(":scope > header .badge").inner_text() == "Awaiting moderation"
    widget.screenshot(path=str(artifacts / "widget-shadow-restricted-author.png"))
    assert errors == []

    # another reader sees neither
    stranger = context.new_page()
    host_page(stranger, server, site, article, attrs=f'data-sso-token="{sso("shadow-o", "Olga Other")}"')
    expect(stranger.locator(f"#comments #comment-{first['comment']['id']}"))
    assert stranger.locator(f"#comments #comment-{restricted}").count() == 0


def test_the_drawer_offers_no_restriction_where_the_site_does_not(live_server, context):
    server = live_server
    site = server.create_site(NEWS, guests=False, sso_secret=SECRET)
    first = post(server, site, "plain-art", "An ordinary comment.", sso("plain-r", "Pat Plain"))

    async def seed_held(conn):
        await seed_comment(None, conn, site, article="plain-art", author_id=first["user"]["id"], body="Held")
    in_db(server, seed_held)
    page = signed_in_console(context, server, cli_token(server, site), site)
    drawer = open_drawer_of_first_item(page)
    assert drawer.get_by_role("button", name="Shadow restriction").count() == 0
    assert "Shadow restriction" not in drawer.inner_text()
