"""The console's surge banner in headless Chromium against a real service process: while an article
of the site is in a surge of new accounts, every view shows a banner naming it, whose link opens
that article's held comments in the queue; once the surge has ended the banner is gone. An admin
sets the rule in the settings view."""

from __future__ import annotations

import secrets

import httpx
import pytest

from tests.support.browser import expect
from tests.support.console import assert_accessible, cli_token, in_db, signed_in_console, wait_queue
from tests.support.seeding import seed_comment

pytestmark = pytest.mark.browser

SITE = "demo"


def test_a_banner_on_every_view_links_to_the_surging_articles_queue(live_server, context, artifacts):
    server = live_server
    article = "console-surge-" + secrets.token_hex(3)

    async def arrange(conn):
        held = await seed_comment(None, conn, SITE, article=article, status="held", reason="surge_premoderation",
                                  body="Fresh account, strong views")
        await seed_comment(None, conn, SITE, article="console-surge-calm-" + secrets.token_hex(3), status="held",
                           body="Held elsewhere, for another reason")
        await conn.execute("UPDATE articles SET surge_started_at = now(), surge_until = now() + interval '20 minutes' "
                           "WHERE site_id = $1 AND external_id = $2", SITE, article)
        return held

    async def end(conn):
        await conn.execute("UPDATE articles SET surge_started_at = NULL, surge_until = NULL "
                           "WHERE site_id = $1 AND external_id = $2", SITE, article)

    held = in_db(server, arrange)
    try:
        console = signed_in_console(context, server, cli_token(server, SITE), SITE, view="articles")
        banner = console.locator("#surge-banner")
        expect(banner.locator("a", has_text=article))
        assert "Surge of new accounts" in banner.inner_text() and "1 held" in banner.inner_text()
        console.screenshot(path=str(artifacts / "console-surge-banner.png"), full_page=True)
        assert_accessible(console, "console, surge banner")

        # the link opens the queue of that article's held comments; the banner stays
        banner.locator("a", has_text=article).click()
        wait_queue(console)
        console.wait_for_function("() => location.hash.startsWith('#/queue/held/')")
        assert console.locator("#queue-article").input_value() == article
        items = console.locator("#view .queue li.item")
        expect(items.first)
        assert items.count() == 1 and "Fresh account" in items.first.inner_text()
        assert banner.is_visible()
        console.screenshot(path=str(artifacts / "console-surge-queue.png"), full_page=True)

        # the surge ends: a reload shows no banner
        in_db(server, end)
        console.reload()
        console.wait_for_function("() => document.querySelector('#view.view-queue')")
        console.wait_for_function("() => { const b = document.getElementById('surge-banner'); return b && b.hidden; }")
        assert not console.console_errors, console.console_errors
        assert held.id
    finally:
        in_db(server, end)


def test_an_admin_sets_the_surge_rule_in_the_settings_view(live_server, context, artifacts):
    server = live_server
    site_id = server.create_site("http://surge.test")
    token = cli_token(server, site_id, role="admin", name="Surge Admin")
    page = signed_in_console(context, server, token, site_id, view="settings")
    page.locator("#view form.settings-form").wait_for()
    page.get_by_label("New accounts that start a surge").fill("1")  # below the least: refused by its field
    page.keyboard.press("Control+s")
    page.locator("[data-key='moderation.surge.new_accounts']:not([hidden])").wait_for()
    page.get_by_label("New accounts that start a surge").fill("25")
    page.get_by_label("The surge ends after (quiet minutes)").fill("60")
    page.keyboard.press("Control+s")
    page.wait_for_function("t => document.getElementById('status').textContent.includes(t)", arg="Settings saved.")
    page.locator("#view section", has_text="Surges of new accounts").screenshot(
        path=str(artifacts / "console-settings-surge.png"))
    assert_accessible(page, "the settings view's surge rule")
    site = httpx.get(f"{server.url}/api/v1/moderation/sites/{site_id}", params={"site": site_id},
                     headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
    assert site["settings"]["moderation"]["surge"] == {"new_accounts": 25, "cooldown_minutes": 60}
    page.reload()
    page.locator("#view form.settings-form").wait_for()
    assert page.get_by_label("New accounts that start a surge").input_value() == "25"
    assert page.console_errors == []
