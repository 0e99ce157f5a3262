"""The settings and admin views in headless Chromium against a real service process: an admin
changes a threshold in the settings form and sees the "try a text" result change before saving,
sees a bad value refused by its field, saves with Ctrl+S and finds the change in the audit log; and
in the admin view creates a token (shown once), sees it work, revokes it, and rotates a site's SSO
secret. axe-core finds no serious or critical violation in either view."""

from __future__ import annotations

import httpx
import pytest

from tests.support.console import assert_accessible, cli_token, signed_in_console

pytestmark = pytest.mark.browser

CALM = "Thanks for the careful reporting on the harbour project."
NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth"


def on_a_tablet(page, artifacts, name: str) -> None:
    """At 768 px the view fits the width (a wide table may scroll inside its own box)."""
    page.set_viewport_size({"width": 768, "height": 1000})
    page.wait_for_function(NO_SIDEWAYS_SCROLL)
    page.screenshot(path=str(artifacts / name), full_page=True)


def outcome(page, expected: str, reason: str) -> None:
    page.wait_for_function(
        "([o, r]) => { const p = document.querySelector('#view .try-outcome');"
        " return p && p.dataset.outcome === o && p.textContent.includes(r); }", arg=[expected, reason], timeout=15_000)


def wait_status(page, text: str) -> None:
    page.wait_for_function("t => document.getElementById('status').textContent.includes(t)", arg=text)


def test_a_threshold_changed_in_the_form_changes_the_try_result_and_saving_is_audited(live_server, context,
                                                                                    artifacts):
    server = live_server
    site_id = server.create_site("http://settings.test")
    token = cli_token(server, site_id, role="admin", name="Settings Admin")
    page = signed_in_console(context, server, token, site_id, view="settings")
    form = page.locator("#view form.settings-form")
    form.wait_for()
    assert_accessible(page, "the settings view")

    # "t" focuses the try box; the stored policy fails closed, and no worker runs here: held
    page.keyboard.press("t")
    assert page.evaluate("() => document.activeElement.closest('form.try') !== null")
    page.keyboard.type(CALM)
    page.keyboard.press("Control+Enter")
    outcome(page, "held", "model_unavailable")
    assert "offline fallback" in page.locator("#view .try-result").inner_text()

    # unsaved changes are tried again at once: fail open publishes it, a hold threshold of 0 holds it
    page.get_by_label("Fail closed: hold every comment the model cannot score").uncheck()
    outcome(page, "published", "ok")
    fallback_hold = page.locator("#view table.thresholds").nth(1).get_by_label("toxicity hold threshold")
    fallback_hold.fill("0")
    outcome(page, "held", "toxicity_hold")
    assert "with unsaved changes" in page.locator("#view .try-outcome").inner_text()
    assert "toxicity" in page.locator("#view .try-result .over-hold").inner_text()

    # a word added as a chip; a bad threshold is refused by its field, nothing saved
    page.get_by_role("textbox", name="Banned (rejects the comment)").fill("grapefruit*")
    page.keyboard.press("Enter")
    assert page.locator("#view .chip", has_text="grapefruit*").count() == 1
    model_hold = page.locator("#view table.thresholds").first.get_by_label("insult hold threshold")
    model_hold.fill("0.95")
    model_hold.press("Control+s")
    error = page.locator("#view .field-error:not([hidden])")
    error.wait_for()
    assert "hold must not exceed reject" in error.inner_text() and "insult" in error.inner_text()
    assert model_hold.get_attribute("aria-invalid") == "true"
    page.screenshot(path=str(artifacts / "console-settings-error.png"), full_page=True)
    model_hold.fill("0.6")
    model_hold.press("Control+s")  # Ctrl+S saves from inside a field
    wait_status(page, "Settings saved.")

    # the saved policy is the one the try box now uses, without unsaved changes
    page.keyboard.press("t")
    page.keyboard.press("Control+Enter")
    outcome(page, "held", "toxicity_hold")
    assert "unsaved" not in page.locator("#view .try-outcome").inner_text()
    page.screenshot(path=str(artifacts / "console-settings.png"), full_page=True)
    on_a_tablet(page, artifacts, "console-settings-tablet.png")

    audit = httpx.get(f"{server.url}/api/v1/moderation/audit", params={"site": site_id, "action": "site_updated"},
                      headers={"Authorization": f"Bearer {token}"}, timeout=10).json()["entries"]
    assert len(audit) == 1 and audit[0]["actor_name"] == "Settings Admin"
    before, after = audit[0]["details"]["settings"]
    assert "moderation" not in before
    assert after["moderation"] == {"fail_closed": False, "banned_words": ["grapefruit*"],
                                   "fallback_thresholds": {"toxicity": {"hold": 0, "reject": 0.98}}}
    assert page.console_errors == []


def test_link_rules_are_set_in_the_form_and_tried_before_saving(live_server, context, artifacts):
    server = live_server
    site_id = server.create_site("http://links.test")
    token = cli_token(server, site_id, role="admin", name="Links Admin")
    page = signed_in_console(context, server, token, site_id, view="settings")
    page.locator("#view form.settings-form").wait_for()
    page.get_by_label("Fail closed: hold every comment the model cannot score").uncheck()
    page.get_by_label("Written by").select_option("new")
    page.evaluate("() => document.activeElement.blur()")  # "t" is a shortcut only outside fields
    page.keyboard.press("t")
    page.keyboard.type("Easy money at https://lucky-casino.example/spin today")
    page.keyboard.press("Control+Enter")
    outcome(page, "held", "spam_link")  # a link from a new account waits, whatever its domain

    # denied: rejected before any hold, a look-alike spelling too
    page.get_by_role("textbox", name="Denied domains (reject)").fill("lucky-casino.example")
    page.keyboard.press("Enter")
    outcome(page, "rejected", "spam_link")
    page.get_by_label("Hold every link from a new account").uncheck()
    page.get_by_label("Most links before a comment waits").fill("0")
    page.get_by_role("textbox", name="Allowed domains (never held for their links)").fill("gov.example")
    page.keyboard.press("Enter")
    assert_accessible(page, "the settings view's link rules")
    page.keyboard.press("Control+s")
    wait_status(page, "Settings saved.")
    page.screenshot(path=str(artifacts / "console-settings-links.png"), full_page=True)

    site = httpx.get(f"{server.url}/api/v1/moderation/sites/{site_id}", params={"site": site_id},
                     headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
    assert site["settings"]["moderation"]["links"] == {
        "deny_domains": ["lucky-casino.example"], "allow_domains": ["gov.example"], "max_links": 0,
        "hold_new_authors": False}
    page.reload()
    page.locator("#view form.settings-form").wait_for()
    assert page.locator("#view .chip", has_text="lucky-casino.example").count() == 1
    assert page.get_by_label("Most links before a comment waits").input_value() == "0"
    page.get_by_label("Written by").select_option("new")
    page.evaluate("() => document.activeElement.blur()")  # "t" is a shortcut only outside fields
    page.keyboard.press("t")
    page.keyboard.type("The ministry's figures: https://www.gov.example/report")
    page.keyboard.press("Control+Enter")
    outcome(page, "published", "ok")  # an allowed domain never counts
    assert page.console_errors == []


def test_tokens_are_created_once_and_revoked_and_a_secret_rotated_in_the_admin_view(live_server, context, artifacts):
    server = live_server
    site_id = server.create_site("http://admin-view.test", sso_secret="s" * 40)
    operator = cli_token(server, None, role="admin", name="Operator")
    page = signed_in_console(context, server, operator, site_id, view="admin")
    page.locator("#view table.admin-table").first.wait_for()
    page.locator(f"#view tr[data-kind=site][data-id='{site_id}']").wait_for()
    assert_accessible(page, "the admin view")

    # n: a new token, for the site, shown once
    page.keyboard.press("n")
    ask = page.locator("#ask[open]")
    ask.locator("input[name=name]").fill("Weekend moderator")
    ask.locator("select[name=site]").select_option(site_id)
    ask.locator("button[type=submit]").click()
    once = page.locator("#admin-once[open]")
    once.wait_for()
    secret = once.locator("input").input_value()
    assert secret.startswith("csm_")
    assert_accessible(page, "the shown-once dialog")
    once.get_by_role("button", name="Done").click()
    row = page.locator("#view tr[data-kind=token]", has_text="Weekend moderator")
    row.wait_for()
    assert secret not in page.content()  # shown once: gone from the page
    queue = f"{server.url}/api/v1/moderation/queue"
    assert httpx.get(queue, params={"site": site_id}, headers={"Authorization": f"Bearer {secret}"}).status_code == 200

    # x on the selected token revokes it, after a confirmation
    row.focus()
    page.keyboard.press("x")
    page.locator("#ask[open] button[type=submit]").click()
    wait_status(page, "revoked")
    page.locator("#view tr[data-kind=token]", has_text="Weekend moderator").filter(has_text="revoked").wait_for()
    assert httpx.get(queue, params={"site": site_id}, headers={"Authorization": f"Bearer {secret}"}).status_code == 401

    # r on the selected site rotates its SSO secret, shown once
    page.locator(f"#view tr[data-kind=site][data-id='{site_id}']").focus()
    page.keyboard.press("r")
    page.locator("#ask[open] button[type=submit]").click()
    once.wait_for()
    sso_secret = once.locator("input").input_value()
    assert len(sso_secret) >= 32
    page.screenshot(path=str(artifacts / "console-admin-secret.png"))
    page.keyboard.press("Escape")
    page.screenshot(path=str(artifacts / "console-admin.png"), full_page=True)

    # Shift+N: a new site, with an SSO secret generated and shown once
    new_id = site_id + "-b"
    page.keyboard.press("Shift+N")
    ask.locator("input[name=id]").fill(new_id)
    ask.locator("textarea[name=origins]").fill("https://made-in-console.example")
    ask.locator("button[type=submit]").click()
    once.wait_for()
    assert len(once.locator("input").input_value()) >= 32
    once.get_by_role("button", name="Done").click()
    page.locator(f"#view tr[data-kind=site][data-id='{new_id}']", has_text="https://made-in-console.example").wait_for()
    on_a_tablet(page, artifacts, "console-admin-tablet.png")

    audit = httpx.get(f"{server.url}/api/v1/moderation/audit", params={"site": site_id},
                      headers={"Authorization": f"Bearer {operator}"}, timeout=10).json()["entries"]
    assert [e["action"] for e in audit][:3] == ["sso_secret_rotated", "token_revoked", "token_created"]
    assert secret not in str(audit) and sso_secret not in str(audit)
    assert page.console_errors == []


def test_try_a_text_says_which_language_it_read_and_what_that_means(scoring_server, browser, artifacts):
    """With a scoring worker running (its model reads English only), a Russian text tried in the
    console's Russian settings view is named as Russian, routed by the site's language rule, and
    explained in Russian."""
    server = scoring_server
    site_id = server.create_site("http://languages.test")
    token = cli_token(server, site_id, role="admin", name="Language Admin")
    ctx = browser.new_context(viewport={"width": 1000, "height": 900}, locale="ru-RU")
    try:
        page = signed_in_console(ctx, server, token, site_id, view="settings")
        page.locator("#view form.settings-form").wait_for()
        page.keyboard.press("t")
        page.keyboard.type("Мой брат живёт в Хороге, там спокойно, и мы ждём новостей с границы каждый день.")
        page.keyboard.press("Control+Enter")
        # the worker subscribes to trials a moment after it starts: until then the API's fallback
        # answers, without a language; try again until the worker's answer names one
        for _ in range(30):
            line = page.locator("#view .try-language")
            try:
                line.wait_for(timeout=2_000)
                break
            except Exception:
                page.keyboard.press("Control+Enter")
        assert line.get_attribute("data-language") == "ru"
        text = line.inner_text()
        assert text.startswith("Язык: русский") and "Ни одна модель" in text, text
        assert page.locator("#view .try-why").inner_text().startswith("Ваш комментарий"), \
            page.locator("#view .try-why").inner_text()
        page.screenshot(path=str(artifacts / "console-try-language-ru.png"), full_page=True)
        assert page.console_errors == []
    finally:
        ctx.close()
