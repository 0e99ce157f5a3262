"""The email alerts and webhooks views of the moderator console in headless Chromium, against a real
service process, a real notifier process and a real HTTP receiver on 127.0.0.1 (the test storage's
settings allow http:// loopback endpoints): an admin adds an endpoint through the form (a refused URL
is shown by its field), sees its signing secret once, sends a test event that the notifier delivers
signed with that secret and finds the attempt in the delivery log; rotates the secret (the next test
is signed with the new one), sees a failing receiver in the log, disables and deletes the endpoint,
and sees an endpoint the service disabled marked as such. A moderator sets their email alerts (a bad
value refused by its field), reloads and finds them kept, turns them off, and has no Webhooks view."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.support.console import assert_accessible, cli_token, signed_in_console
from tests.support.servers import ServiceProcess

pytestmark = pytest.mark.browser

NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth"


class Receiver:
    """A real HTTP server on 127.0.0.1, in a thread: records each POST and answers ``status``."""

    def __init__(self) -> None:
        self.status = 200
        self.requests: list[dict] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                owner.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                       "body": body})
                self.send_response(owner.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/comments"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 20.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            if time.monotonic() > deadline:
                pytest.fail(f"the receiver got {len(self.requests)} request(s), not {count}")
            time.sleep(0.1)
        return self.requests


def wait_status(page, text: str, toast: str = "status") -> None:
    """The console's toast (#status, role=status; #alert, role=alert, for errors) says ``text``."""
    page.wait_for_function("([id, t]) => document.getElementById(id).textContent.includes(t)", arg=[toast, text],
                           timeout=20_000)


def confirm(page) -> None:
    ask = page.locator("#ask[open]")
    ask.wait_for()
    ask.locator("button[type=submit]").click()
    ask.wait_for(state="detached")


def shown_once(page, screenshot=None) -> str:
    """The secret in the shown-once dialog; Done closes it and it is gone from the page."""
    once = page.locator("#webhook-once[open]")
    once.wait_for()
    secret = once.get_by_label("Signing secret").input_value()
    assert secret.startswith("whsec_")
    if screenshot is not None:
        assert_accessible(page, "the shown-once secret")
        page.screenshot(path=str(screenshot))
    once.get_by_role("button", name="Done").click()
    once.wait_for(state="hidden")
    assert secret not in page.content()
    return secret


def verified(secret: str, request: dict) -> dict:
    return Webhook(secret).verify(request["body"], request["headers"])


def log_rows(card):
    return card.locator("table.webhook-attempts tbody tr")


def test_an_admin_adds_tests_rotates_disables_and_deletes_a_webhook_in_the_console(live_server, context,
                                                                                    artifacts):
    server = live_server
    site_id = server.create_site("http://webhooks-view.test")
    token = cli_token(server, site_id, role="admin", name="Hook Admin")
    notifier = ServiceProcess({**server.env, "COMMENTS_NOTIFY_POLL_SECONDS": "0.3"}, "notifier", ready=None,
                              log_path=server.log_path).start()
    try:
        with Receiver() as receiver:
            page = signed_in_console(context, server, token, site_id, view="webhooks")
            add = page.locator("#view form.webhook-add")
            add.wait_for()
            assert page.locator("#nav a[data-view=webhooks]").get_attribute("aria-current") == "page"
            page.locator("#view .webhooks-none").wait_for()
            boxes = add.locator("input[name=event_types]")
            assert [boxes.nth(i).get_attribute("value") for i in range(boxes.count())] == [
                "comment.published", "comment.held", "comment.rejected", "report.created", "problem_report.created",
                "moderation.decision"]
            assert_accessible(page, "the webhooks view")

            # refused by the server, shown by its field: no event type, then a URL it will not send to
            page.keyboard.press("n")
            assert page.evaluate("() => document.activeElement.name") == "url"
            add.get_by_label("URL").fill(receiver.url)
            add.get_by_role("button", name="Add endpoint").click()
            types_error = add.locator(".field-error[data-key=event_types]:not([hidden])")
            types_error.wait_for()
            assert "Choose at least one event" in types_error.inner_text()
            add.get_by_label("comment.held").check()
            add.get_by_label("report.created A reader reported").check()
            add.get_by_label("URL").fill("http://example.com/hooks")
            add.get_by_role("button", name="Add endpoint").click()
            url_error = add.locator(".field-error[data-key=url]:not([hidden])")
            url_error.wait_for()
            assert add.get_by_label("URL").get_attribute("aria-invalid") == "true"
            assert types_error.is_hidden()
            page.screenshot(path=str(artifacts / "console-webhooks-error.png"), full_page=True)

            # added: the secret is shown once
            add.get_by_label("URL").fill(receiver.url)
            add.get_by_label("Description").fill("Newsroom <b>bot</b>")
            add.get_by_role("button", name="Add endpoint").click()
            secret = shown_once(page, artifacts / "console-webhooks-secret.png")
            card = page.locator("#view article.webhook")
            card.wait_for()
            assert card.get_attribute("data-state") == "enabled"
            assert "Newsroom <b>bot</b>" in card.locator(".webhook-description").inner_text()  # text, not markup
            assert card.locator(".webhook-types").inner_text().split() == ["comment.held", "report.created"]

            # a test event: the notifier delivers it, signed with the secret shown; the log shows it
            card.get_by_role("button", name="Send test event").click()
            wait_status(page, "The test event was delivered")
            [first] = receiver.wait_for(1)
            event = verified(secret, first)
            assert event["type"] == "webhook.test" and event["site"] == site_id
            assert first["path"] == "/hooks/comments"
            # the card is drawn again with the endpoint's health: a last success now
            page.wait_for_function(
                "() => !document.querySelector('#view .webhook-facts').textContent.includes('never')")
            rows = log_rows(card)
            rows.first.wait_for()
            assert rows.count() == 1
            headers = card.locator("table.webhook-attempts thead th").all_inner_texts()
            assert headers == ["Time", "Event", "Attempt", "Status", "Latency (ms)", "Error"]
            cells = rows.first.locator("td").all_inner_texts()
            assert cells[1:4] == ["webhook.test", "1", "200"] and cells[5] == "–"
            assert int(cells[4]) >= 0
            assert_accessible(page, "the webhooks view with its delivery log")
            page.screenshot(path=str(artifacts / "console-webhooks.png"), full_page=True)

            # a rotated secret signs the next delivery; the old one no longer does
            card.get_by_role("button", name="Rotate secret").click()
            confirm(page)
            rotated = shown_once(page)
            assert rotated != secret
            card = page.locator("#view article.webhook")
            card.get_by_role("button", name="Send test event").click()
            wait_status(page, "The test event was delivered")
            second = receiver.wait_for(2)[1]
            assert verified(rotated, second)["type"] == "webhook.test"
            with pytest.raises(WebhookVerificationError):
                verified(secret, second)
            card = page.locator("#view article.webhook")
            log_rows(card).nth(1).wait_for()

            # a receiver that fails: the attempt's status and error in the log, the endpoint failing
            receiver.status = 500
            card.get_by_role("button", name="Send test event").click()
            wait_status(page, "could not be delivered", "alert")
            card = page.locator("#view article.webhook[data-state=failing]")
            card.wait_for()
            log_rows(card).first.wait_for()
            failed = log_rows(card).first.locator("td").all_inner_texts()
            assert failed[1] == "webhook.test" and failed[3] == "500" and failed[5] not in ("", "–")
            assert "failing since" in card.locator(".webhook-note").inner_text()
            page.screenshot(path=str(artifacts / "console-webhooks-failing.png"), full_page=True)

            # disabled, after a confirmation: no test event can be sent to it
            card.get_by_role("button", name="Disable").click()
            confirm(page)
            wait_status(page, "Endpoint disabled.")
            card = page.locator("#view article.webhook[data-state=disabled]")
            card.wait_for()
            assert card.get_by_role("button", name="Send test event").is_disabled()
            assert card.get_by_role("button", name="Enable").is_visible()

            # one the service disabled for failing a day is marked as such (arranged in the database:
            # a day of failures is not waited for here)
            made = httpx.post(f"{server.url}/api/v1/moderation/webhooks", params={"site": site_id},
                              headers={"Authorization": f"Bearer {token}"}, timeout=10,
                              json={"url": receiver.url + "/other", "event_types": ["comment.published"]})
            assert made.status_code == 201, made.text
            other = made.json()["endpoint"]["id"]
            server.sql("UPDATE webhook_endpoints SET enabled = false, failing_since = $2, disabled_at = now(), "
                       "disabled_reason = 'failing for a day' WHERE id = $1", other,
                       datetime.now(UTC) - timedelta(hours=25))
            page.reload()
            auto = page.locator(f"#view article.webhook[data-id='{other}']")
            auto.wait_for()
            assert auto.get_attribute("data-state") == "auto-disabled"
            assert "Disabled by the service" in auto.locator(".webhook-state").inner_text()
            note = auto.locator(".webhook-note").inner_text()
            assert "Disabled automatically" in note and "failing for a day" in note and "failing since" in note
            assert_accessible(page, "the webhooks view with disabled endpoints")
            page.screenshot(path=str(artifacts / "console-webhooks-disabled.png"), full_page=True)
            page.set_viewport_size({"width": 768, "height": 1000})
            page.wait_for_function(NO_SIDEWAYS_SCROLL)
            page.screenshot(path=str(artifacts / "console-webhooks-tablet.png"), full_page=True)

            # deleted after a confirmation; Cancel keeps it
            auto.get_by_role("button", name="Delete").click()
            page.locator("#ask[open]").get_by_role("button", name="Cancel").click()
            page.locator("#ask[open]").wait_for(state="detached")
            assert auto.is_visible()
            for remaining in (2, 1):
                cards = page.locator("#view article.webhook")
                assert cards.count() == remaining
                cards.first.get_by_role("button", name="Delete").click()
                confirm(page)
                wait_status(page, "Endpoint deleted.")
                page.wait_for_function("n => document.querySelectorAll('#view article.webhook').length === n",
                                       arg=remaining - 1)
            page.locator("#view .webhooks-none").wait_for()
            listed = httpx.get(f"{server.url}/api/v1/moderation/webhooks", params={"site": site_id},
                               headers={"Authorization": f"Bearer {token}"}, timeout=10)
            assert listed.json() == []
            assert page.console_errors == []
    finally:
        notifier.stop()

    audit = httpx.get(f"{server.url}/api/v1/moderation/audit", params={"site": site_id},
                      headers={"Authorization": f"Bearer {token}"}, timeout=10).json()["entries"]
    actions = [e["action"] for e in audit]
    for action in ("webhook_created", "webhook_secret_rotated", "webhook_updated", "webhook_deleted"):
        assert action in actions
    assert secret not in json.dumps(audit) and rotated not in json.dumps(audit)


def test_a_moderator_sets_email_alerts_that_a_reload_keeps_and_has_no_webhooks_view(live_server, context,
                                                                                     artifacts):
    server = live_server
    site_id = server.create_site("http://alerts-view.test")
    token = cli_token(server, site_id, role="moderator", name="Alert Mod")
    page = signed_in_console(context, server, token, site_id, view="alerts")
    form = page.locator("#view form.alerts-form")
    form.wait_for()
    views = page.evaluate("() => [...document.querySelectorAll('#nav a')].map(a => a.dataset.view)")
    assert "alerts" in views and "webhooks" not in views and "settings" not in views
    assert "You get no email alerts" in form.locator(".alerts-state").inner_text()
    assert_accessible(page, "the email alerts view")

    # a value the server refuses is shown by its field, and nothing is saved
    form.get_by_label("Send them to").fill("alert.mod@example.org")
    form.get_by_label("An email for each problem report a reader sends").check()
    threshold = form.get_by_label("Email me when a comment's open reports reach")
    threshold.fill("0")
    form.get_by_label("Send a digest of the held queue every (minutes)").fill("30")
    form.get_by_role("button", name="Turn alerts on").click()
    error = form.locator(".field-error[data-key=report_threshold]:not([hidden])")
    error.wait_for()
    assert "whole number from 1 to 1000" in error.inner_text()
    assert threshold.get_attribute("aria-invalid") == "true"
    assert page.evaluate("() => document.activeElement.name") == "report_threshold"
    page.screenshot(path=str(artifacts / "console-alerts-error.png"), full_page=True)
    alerts_api = f"{server.url}/api/v1/moderation/alerts"
    auth = {"Authorization": f"Bearer {token}"}
    assert httpx.get(alerts_api, params={"site": site_id}, headers=auth, timeout=10).json() is None

    # an address the server cannot send to: by its field too
    threshold.fill("3")
    form.get_by_label("Send them to").fill("not an address")
    form.get_by_role("button", name="Turn alerts on").click()
    form.locator(".field-error[data-key=email]:not([hidden])").wait_for()
    assert error.is_hidden()
    form.get_by_label("Send them to").fill("Alert.Mod@Example.org")
    form.get_by_role("button", name="Turn alerts on").click()
    wait_status(page, "Email alerts saved.")

    # a reload shows what was saved
    page.reload()
    form = page.locator("#view form.alerts-form")
    form.locator(".alerts-state", has_text="Alerts on this site go to").wait_for()
    assert form.get_by_label("Send them to").input_value().lower() == "alert.mod@example.org"
    assert form.get_by_label("An email for each problem report a reader sends").is_checked()
    assert form.get_by_label("Email me when a comment's open reports reach").input_value() == "3"
    assert form.get_by_label("Send a digest of the held queue every (minutes)").input_value() == "30"
    stored = httpx.get(alerts_api, params={"site": site_id}, headers=auth, timeout=10).json()
    assert (stored["problem_reports"], stored["report_threshold"], stored["held_digest_minutes"]) == (True, 3, 30)
    page.screenshot(path=str(artifacts / "console-alerts.png"), full_page=True)

    # the webhooks view is not theirs: its address falls back to the first view, its API to 403
    page.goto(f"{server.url}/moderation?site={site_id}#/webhooks")
    page.locator("#view.view-queue").wait_for()
    assert httpx.get(f"{server.url}/api/v1/moderation/webhooks", params={"site": site_id}, headers=auth,
                     timeout=10).status_code == 403

    # turned off, after a confirmation
    page.keyboard.press("g")
    page.keyboard.press("e")
    form = page.locator("#view form.alerts-form")
    form.get_by_role("button", name="Turn alerts off").click()
    confirm(page)
    wait_status(page, "Email alerts turned off.")
    assert "You get no email alerts" in form.locator(".alerts-state").inner_text()
    assert httpx.get(alerts_api, params={"site": site_id}, headers=auth, timeout=10).json() is None
    assert page.console_errors == []
