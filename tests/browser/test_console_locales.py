"""The moderator console in other languages, in headless Chromium against a real service process:
Russian chosen by the address (?lang=ru), Arabic by the browser's own language (and mirrored, right
to left), the language picker switching it, and English when the translations do not come.

What the console should say is read from its locale files, so the test checks that the page shows
the translation of each English text, whoever wrote it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.support.console import assert_accessible, cli_token, in_db, sign_in, wait_queue
from tests.support.paths import REPO
from tests.support.seeding import seed_comment, seed_reader

pytestmark = pytest.mark.browser
CONSOLE_LOCALES = REPO / "comments_service" / "widget" / "console" / "locales"


def locale(code: str) -> dict:
    return json.loads((CONSOLE_LOCALES / f"{code}.json").read_text(encoding="utf-8"))


def seed_held(server, site_id: str, body: str, language: str, confidence: float) -> int:
    """A held comment whose language the scoring worker detected (as it records it)."""
    async def seed(conn):
        author = await seed_reader(conn, site_id, name="Olga Reader")
        row = await seed_comment(None, conn, site_id, article="art-locale", author_id=author, body=body,
                                 scores={"toxicity": 0.7}, created_at=datetime.now(UTC) - timedelta(hours=1))
        await conn.execute(
            "UPDATE comments SET decision_detail = coalesce(decision_detail, '{}'::jsonb) || "
            "jsonb_build_object('language', $2::text, 'language_confidence', $3::float8) WHERE id = $1",
            row.id, language, confidence)
        return row.id

    return in_db(server, seed)


def open_console(context, server, query: str = ""):
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.console_errors = errors  # type: ignore[attr-defined]
    page.goto(f"{server.url}/moderation{query}#/queue")
    page.locator("#signin").wait_for(state="visible")
    return page


def box(page, selector: str) -> dict:
    found = page.locator(selector).first.bounding_box()
    assert found, f"{selector} is not on screen"
    return found


def test_the_console_in_russian_by_its_address_then_arabic_by_its_picker(live_server, context, artifacts):
    server = live_server
    site_id = server.create_site("http://locale-ru.test")
    cid = seed_held(server, site_id, "Это очень плохой комментарий, уберите его.", "ru", 0.97)
    token = cli_token(server, site_id)
    ru = locale("ru")
    sent_languages: list[str] = []
    context.on("request", lambda req: sent_languages.append(req.headers.get("accept-language", ""))
               if "/api/v1/moderation/queue" in req.url else None)

    page = open_console(context, server, "?lang=ru")
    # the sign-in form is already in Russian: the translations load before anything shows
    assert page.evaluate("() => [document.documentElement.lang, document.documentElement.dir]") == ["ru", "ltr"]
    assert page.locator("#signin h1").inner_text() == ru["Moderation"]
    assert page.locator("#signin button[type=submit]").inner_text() == ru["Sign in"]
    assert page.locator("#signin-token").get_attribute("placeholder") == ru["csm_… API token or SSO token"]
    assert page.locator("#signin-lang").input_value() == "ru"
    # a wrong token: the console's words and the server's reason, both in Russian
    page.fill("#signin-token", "csm_not-a-token")
    page.click("#signin button[type=submit]")
    page.wait_for_function("() => document.getElementById('signin-error').textContent.length > 0")
    refusal = page.locator("#signin-error").inner_text()
    prefix = ru["That token may not sign in here: {reason}"].split("{reason}")[0]
    assert refusal.startswith(prefix), refusal
    assert re.search("[а-яА-Я]", refusal[len(prefix):]), refusal
    sign_in(page, token, site_id)
    wait_queue(page)

    assert page.title() == ru["Moderation"] or page.title().endswith(" " + ru["Moderation"])
    assert page.locator("#nav a[data-view=queue]").evaluate("a => a.firstChild.textContent") == ru["Queue"]
    assert page.locator("#sign-out").inner_text() == ru["Sign out"]
    assert page.locator("#view button[data-state=held]").evaluate("b => b.firstChild.textContent") == ru["Held"]
    item = page.locator(f"#view .queue li.item[data-id='{cid}']")
    assert item.locator("button.approve").evaluate("b => b.firstChild.textContent") == ru["Approve"]
    assert item.locator("button.reject").evaluate("b => b.firstChild.textContent") == ru["Reject"]
    assert ru["Model score above the hold threshold"] in item.locator(".meta .reason").inner_text()
    # the comment's language, named in Russian, with the detector's confidence
    badge = item.locator(".lang-badge")
    assert badge.inner_text() == "русский"
    assert badge.get_attribute("data-language") == "ru"
    assert "97" in badge.get_attribute("title")
    assert ru["Detected language, confidence {confidence}"].split("{")[0].strip() in badge.get_attribute("title")
    # the server is asked for its problem messages in Russian
    assert sent_languages and all(lang == "ru" for lang in sent_languages)
    page.screenshot(path=str(artifacts / "console-ru.png"), full_page=True)

    page.keyboard.press("?")
    page.locator("#help[open]").wait_for()
    assert page.locator("#help-title").inner_text() == ru["Keyboard shortcuts"]
    assert ru["Approve the comment"] in page.locator("#help").inner_text()
    page.keyboard.press("Escape")
    page.locator("#help[open]").wait_for(state="detached")

    # the picker: Arabic, kept for the next visit, and the session goes on
    page.select_option("#lang-picker", "ar")
    page.wait_for_function("() => document.documentElement.lang === 'ar'")
    wait_queue(page)
    ar = locale("ar")
    assert "lang=" not in page.url
    assert page.evaluate("() => localStorage.getItem('console-lang')") == "ar"
    assert page.evaluate("() => document.documentElement.dir") == "rtl"
    assert page.locator("#sign-out").inner_text() == ar["Sign out"]
    assert page.locator("#lang-picker").input_value() == "ar"
    assert page.console_errors == []


def test_the_console_in_arabic_by_the_browsers_language_is_mirrored(live_server, browser, artifacts):
    server = live_server
    site_id = server.create_site("http://locale-ar.test")
    cid = seed_held(server, site_id, "هذا تعليق سيئ جدًا ويجب حذفه.", "ar", 0.88)
    token = cli_token(server, site_id)
    ar = locale("ar")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ar-EG")
    try:
        page = open_console(context, server)
        assert page.evaluate("() => [document.documentElement.lang, document.documentElement.dir]") == ["ar", "rtl"]
        assert page.locator("#signin h1").inner_text() == ar["Moderation"]
        sign_in(page, token, site_id)
        wait_queue(page)

        assert page.locator("#nav a[data-view=queue]").evaluate("a => a.firstChild.textContent") == ar["Queue"]
        item = page.locator(f"#view .queue li.item[data-id='{cid}']")
        assert item.locator("button.approve").evaluate("b => b.firstChild.textContent") == ar["Approve"]
        assert item.locator(".lang-badge").inner_text() == page.evaluate(
            "() => new Intl.DisplayNames(['ar'], {type: 'language'}).of('ar')")

        # mirrored: the brand at the right edge, the nav to its left, the tools (on the header's
        # second line when the nav is long) at the left edge; the tabs and each comment's buttons
        # run from right to left, the current comment's accent bar on its right
        width = page.viewport_size["width"]
        brand, nav, tools = box(page, "#top .brand"), box(page, "#top nav"), box(page, "#top .top-tools")
        assert brand["x"] + brand["width"] > width - 40
        assert nav["x"] + nav["width"] <= brand["x"] + 1
        assert tools["x"] < 40 and tools["x"] < nav["x"]
        sign_out = box(page, "#sign-out")
        assert sign_out["x"] < box(page, "#help-button")["x"]
        held, reported = box(page, "#view button[data-state=held]"), box(page, "#view button[data-state=reported]")
        assert held["x"] > reported["x"]
        approve, reject = box(page, f"#view li.item[data-id='{cid}'] button.approve"), \
            box(page, f"#view li.item[data-id='{cid}'] button.reject")
        assert approve["x"] > reject["x"]
        page.keyboard.press("j")
        widths = item.evaluate("li => { const s = getComputedStyle(li); "
                               "return [s.borderRightWidth, s.borderLeftWidth]; }")
        assert widths[0] == "4px" and widths[1] != "4px"
        assert item.locator(".body").evaluate("b => getComputedStyle(b).direction") == "rtl"
        assert_accessible(page, "the queue in Arabic")
        page.screenshot(path=str(artifacts / "console-ar.png"), full_page=True)

        # a decision's toast speaks Arabic too
        page.keyboard.press("a")
        expected = ar["Approved #{id}"].replace("{id}", str(cid))
        page.wait_for_function("t => document.getElementById('status').textContent.includes(t)", arg=expected)
        assert page.console_errors == []
    finally:
        context.close()


def test_the_console_draws_in_english_when_its_translations_do_not_come(live_server, browser):
    server = live_server
    context = browser.new_context(locale="ru-RU")
    try:
        context.route("**/console/locales/**", lambda route: route.abort())
        page = open_console(context, server)
        assert page.evaluate("() => [document.documentElement.lang, document.documentElement.dir]") == ["en", "ltr"]
        assert page.locator("#signin button[type=submit]").inner_text() == "Sign in"
        assert page.console_errors == []
    finally:
        context.close()


def test_the_console_locale_files_are_served_by_name_only(live_server):
    server = live_server
    ok = httpx.get(f"{server.url}/console/locales/fa.json", timeout=10)
    assert ok.status_code == 200 and ok.headers["content-type"].startswith("application/json")
    assert ok.json()["Sign in"] == locale("fa")["Sign in"]
    for name in ("en.json", "xx.json", "ru.js", "..%2Fcore.js", "ru.json.bak"):
        assert httpx.get(f"{server.url}/console/locales/{name}", timeout=10).status_code == 404, name
