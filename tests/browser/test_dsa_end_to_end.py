"""Notice and action under the EU Digital Services Act, end to end as the people in it meet it:
reader A posts in the widget; reader B reports the comment as illegal hate speech from the widget; a
moderator removes it from the console's Notices view; A reads the statement of reasons in the
widget and appeals there; another moderator reinstates it from the Appeals view; the notifier (its
own process, through a real SMTP server) tells B the decision on the notice, A the statement, and
both the outcome of the appeal; the admin's transparency report counts each step."""

from __future__ import annotations

import re
import time

import httpx
import jwt
import pytest

from tests.browser.test_console_dsa import confirm, wait_toast
from tests.support.browser import NEWS, expect, host_page, post_as_guest, widget_comments
from tests.support.console import cli_token, signed_in_console
from tests.support.servers import ServiceProcess
from tests.support.smtp_server import SmtpSink

pytestmark = pytest.mark.browser

SECRET = "browser-dsa-e2e-secret-0123456789abcdef"
ARTICLE = "dsa-e2e"
RULE = "Rule 1: nothing that is illegal where our readers live, such as incitement to hatred."
REFERENCE = re.compile(r"Keep this reference: (N-[0-9A-Z]{4}-[0-9A-Z]{4})")


def sso(sub: str, name: str, email: str) -> str:
    return jwt.encode({"sub": sub, "name": name, "email": email, "exp": int(time.time()) + 3600}, SECRET,
                      algorithm="HS256")


def thread_ids(server, site: str) -> list[int]:
    r = httpx.get(f"{server.url}/api/v1/articles/{ARTICLE}/comments", params={"site": site}, timeout=10)
    assert r.status_code == 200, r.text
    return [c["id"] for c in r.json()["comments"]]


def mails_to(sink: SmtpSink, address: str, count: int) -> list[str]:
    """The first ``count`` emails to ``address`` (subject and text), once they have come. (The sink may
    also take what other tests left queued for their own mail servers, long stopped.)"""
    deadline = time.monotonic() + 30
    while True:
        mails = [m["Subject"] + "\n" + m.get_body(("plain",)).get_content() for m in sink.messages
                 if m["To"] == address]
        if len(mails) >= count:
            assert len(mails) == count, mails
            return mails
        if time.monotonic() > deadline:
            pytest.fail(f"{len(mails)} of {count} emails to {address} in 30 s")
        time.sleep(0.2)


def test_a_notice_removes_a_comment_its_author_appeals_and_everyone_is_told(live_server, browser, context,
                                                                           artifacts):
    server = live_server
    site = server.create_site(NEWS, guests=False, sso_secret=SECRET,
                              settings={"dsa": {"rules": {"illegal": RULE}}})
    sink = SmtpSink().start()
    notifier = ServiceProcess({**server.env, "COMMENTS_SMTP_URL": sink.url, "COMMENTS_NOTIFY_POLL_SECONDS": "0.3",
                               "COMMENTS_MAIL_FROM": "comments@news.example"},
                              "notifier", ready=None, log_path=server.log_path).start()
    try:
        # ------------------------------------------------ A posts; B reports it as illegal
        ann = sso("dsa-e2e-ann", "Ann Author", "ann.dsa@example.org")
        a_page = context.new_page()
        host_page(a_page, server, site, ARTICLE, attrs=f'data-sso-token="{ann}"')
        post_as_guest(a_page, "People from over the border should all be driven out of our town.")
        mine = expect(widget_comments(a_page).filter(has_text="driven out of our town"))
        comment_id = int(mine.get_attribute("id").removeprefix("comment-"))
        assert comment_id in thread_ids(server, site)

        b_page = context.new_page()
        host_page(b_page, server, site, ARTICLE, attrs=f'data-sso-token="{sso("dsa-e2e-bea", "Bea", "x@example.org")}"')
        theirs = expect(b_page.locator(f"#comments #comment-{comment_id}"))
        theirs.get_by_role("button", name="Report illegal content").click()
        form = expect(theirs.get_by_role("form", name="Report illegal content"))
        form.get_by_role("radio", name="Illegal hate speech").check()
        form.get_by_label("Why is it illegal?").fill("It calls for driving out people of one origin: incitement.")
        form.get_by_label("Your name").fill("Bea Notifier")
        form.get_by_label("Your email").fill("bea.dsa@example.org")
        form.get_by_role("checkbox").check()
        form.get_by_role("button", name="Send notice").click()
        # (a loaded CI machine may take longer than the default wait; a refusal shows in an alert)
        receipt = theirs.get_by_role("status").filter(has_text="Keep this reference").or_(
            theirs.get_by_role("alert"))
        receipt.first.wait_for(timeout=30_000)
        assert "Keep this reference" in receipt.first.inner_text(), receipt.first.inner_text()
        receipt = receipt.first
        found = REFERENCE.search(receipt.inner_text())
        assert found, receipt.inner_text()
        reference = found.group(1)
        b_page.screenshot(path=str(artifacts / "dsa-e2e-notice-sent.png"))

        # ------------------------------------------------ a moderator removes it from the Notices view
        first = cli_token(server, site, name="First Mod")
        console = signed_in_console(context, server, first, site, view="notices")
        card = console.locator("#view .dsa-card.notice.open")
        card.wait_for()
        assert reference in card.inner_text() and "Illegal hate speech" in card.inner_text()
        card.get_by_label("Remove the comment").check()
        card.get_by_label("Reason for removal").select_option("illegal")
        card.get_by_label("Explanation of your decision").fill(
            "A call to expel people for their origin: incitement to hatred.")
        card.get_by_role("button", name="Decide").click()
        confirm(console, "The comment is removed for readers")
        wait_toast(console, f"Notice {reference}: comment removed.")
        assert comment_id not in thread_ids(server, site)

        # B hears the decision on the notice, A the statement of reasons
        [to_bea] = mails_to(sink, "bea.dsa@example.org", 1)
        assert reference in to_bea and "incitement to hatred" in to_bea
        [to_ann] = mails_to(sink, "ann.dsa@example.org", 1)
        assert "removed your comment" in to_ann and RULE in to_ann and "It followed a notice" in to_ann

        # ------------------------------------------------ A reads why in the widget, and appeals
        a_page.reload()
        expect(a_page.get_by_text("Commenting as Ann Author"))
        a_page.get_by_role("button", name="Your data").click()
        pane = expect(a_page.get_by_role("region", name="Your data"))
        pane.get_by_role("button", name="Decisions about your comments").click()
        item = expect(pane.locator("li").filter(has_text=f"#{comment_id}"))
        item.get_by_text("Why?").click()
        text = item.inner_text()
        assert "Your comment was removed" in text and RULE in text
        assert "decided by a person" in text
        item.get_by_role("button", name="Appeal").click()
        appeal_form = expect(item.get_by_role("form", name="Appeal"))
        appeal_form.get_by_role("textbox").fill("I was angry about the burglaries; I did not mean everyone. "
                                                "I will not say it again.")
        appeal_form.get_by_role("button", name="Send").click()
        expect(item.get_by_role("status").filter(has_text="Appeal received; a person will decide."))
        pane.screenshot(path=str(artifacts / "dsa-e2e-appealed.png"))

        # ------------------------------------------------ another moderator reinstates it
        other_context = browser.new_context(viewport={"width": 1000, "height": 900})
        try:
            second = signed_in_console(other_context, server, cli_token(server, site, name="Second Mod"), site,
                                       view="appeals")
            appeal = second.locator("#view .dsa-card.appeal.open")
            appeal.wait_for()
            assert appeal.locator(".dsa-first").inner_text() == "First decided by First Mod"
            appeal.get_by_label("Reverse: lift the restriction").check()
            appeal.get_by_label("Explanation of your decision").fill(
                "Angry, and withdrawn by its author; not a call to act: reinstated.")
            appeal.get_by_role("button", name="Decide the appeal").click()
            confirm(second, "The decision is undone now")
            wait_toast(second, "the decision is reversed")
            second.screenshot(path=str(artifacts / "dsa-e2e-reversed.png"), full_page=True)
        finally:
            other_context.close()
        assert comment_id in thread_ids(server, site)

        # both are told the outcome, with its reasons
        to_ann = mails_to(sink, "ann.dsa@example.org", 2)[1]
        assert "Decision on your appeal" in to_ann and "the restriction is lifted" in to_ann
        assert "reinstated" in to_ann
        to_bea = mails_to(sink, "bea.dsa@example.org", 2)[1]
        assert "appealed our removal" in to_bea and "visible again" in to_bea and "reinstated" in to_bea
        time.sleep(1.0)  # and nothing more comes to either
        assert len(mails_to(sink, "ann.dsa@example.org", 2)) == len(mails_to(sink, "bea.dsa@example.org", 2)) == 2

        # A sees the outcome in the widget, and the comment back in the thread
        a_page.reload()
        expect(widget_comments(a_page).filter(has_text="driven out of our town"))
        a_page.get_by_role("button", name="Your data").click()
        pane = expect(a_page.get_by_role("region", name="Your data"))
        pane.get_by_role("button", name="Decisions about your comments").click()
        item = expect(pane.locator("li").filter(has_text=f"#{comment_id}"))
        item.get_by_text("Why?").click()
        expect(item.get_by_text("Appeal upheld: decision reversed."))

        # ------------------------------------------------ the transparency report counts each step
        admin = cli_token(server, site, role="admin", name="Report Admin")
        r = httpx.get(f"{server.url}/api/v1/moderation/transparency", params={"site": site, "format": "json"},
                      headers={"Authorization": f"Bearer {admin}"}, timeout=10)
        assert r.status_code == 200, r.text
        report = r.json()
        assert report["notices_by_category"] == {"illegal_hate_speech": 1}
        assert report["notices_decided"] == {"remove": 1}
        assert report["actions_by_reason"] == {"illegal": 1}
        assert report["source"] == {"notice": 1}
        assert report["detection"] == {"human": 1} and report["decision"] == {"human": 1}
        assert report["appeals_received"] == 1 and report["appeals_by_outcome"] == {"reverse": 1}
        assert report["median_notice_to_decision_seconds"] is not None
    finally:
        notifier.stop()
        sink.stop()
