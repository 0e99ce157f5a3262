"""A reply email end to end, as readers meet it: reader A asks for replies in the widget, B replies,
the notifier (its own process) emails A once through a real SMTP server, the email's link opens the
article on the reply in Chromium, A unsubscribes from the email's link, C replies, and A gets
nothing more."""

from __future__ import annotations

import time

import jwt
import pytest

from tests.browser.test_widget import api_post
from tests.support.browser import NEWS, expect, host_page, post_as_guest, widget_comments
from tests.support.database import SyncDb
from tests.support.servers import ServiceProcess
from tests.support.smtp_server import SmtpSink

pytestmark = pytest.mark.browser

SECRET = "browser-e2e-mail-secret-0123456789abcdef"


def sso(sub: str, name: str, email: str) -> str:
    return jwt.encode({"sub": sub, "name": name, "email": email, "exp": int(time.time()) + 3600}, SECRET,
                      algorithm="HS256")


def wait_for(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def fanned_out(db: SyncDb, comment_id: int) -> bool:
    return bool(db.fetchval("SELECT fanned_out_at IS NOT NULL FROM outbox WHERE subject_id = $1 "
                            "AND kind = 'comment.published'", comment_id))


def test_a_reply_email_opens_the_reply_and_its_unsubscribe_link_stops_the_next(live_server, context, artifacts):
    site = live_server.create_site(NEWS, guests=False, sso_secret=SECRET)
    sink = SmtpSink().start()
    notifier = ServiceProcess({**live_server.env, "COMMENTS_SMTP_URL": sink.url, "COMMENTS_NOTIFY_POLL_SECONDS": "0.3",
                               "COMMENTS_MAIL_FROM": "comments@news.example"},
                              "notifier", ready=None, log_path=live_server.log_path).start()
    try:
        article = "e2e-reply-email"
        ann = sso("e2e-ann", "Ann", "ann.e2e@example.org")
        page = context.new_page()
        host_page(page, live_server, site, article, attrs=f'data-sso-token="{ann}"')
        post_as_guest(page, "Are the troops back for good?")
        mine = expect(widget_comments(page).filter(has_text="Are the troops back for good?"))
        expect(page.get_by_text("Your comment is published."))
        comment_id = int(mine.get_attribute("id").removeprefix("comment-"))
        mine.get_by_role("button", name="Email me replies").click()
        expect(mine.get_by_text("Replies will be emailed"))

        reply = api_post(live_server, site, article, "Until the spring, the ministry says.",
                         token=sso("e2e-bea", "Bea", "bea.e2e@example.org"), parent_id=comment_id)["comment"]
        [mail] = sink.wait_for(1, timeout=30)
        assert mail["To"] == "ann.e2e@example.org"
        text = mail.get_body(("plain",)).get_content()
        link = next(word for word in text.split() if f"#comment-{reply['id']}" in word)
        assert link == f"{NEWS}/{article}#comment-{reply['id']}"

        # the email's link opens the article on the reply, marked (a fresh load, as from a mail client)
        page.goto("about:blank")
        page.goto(link)
        shown = page.locator(f"#comments #comment-{reply['id']}")
        expect(shown.get_by_text("Until the spring"))
        wait_for(lambda: "target" in (shown.get_attribute("class") or ""), 10, "the reply to be marked")
        assert shown.is_visible()
        page.screenshot(path=str(artifacts / "reply-email-link.png"))

        # unsubscribing from the email's link: a page, then its button
        unsubscribe = mail["List-Unsubscribe"].strip("<>")
        page.goto(unsubscribe)
        with page.expect_navigation():
            page.get_by_role("button", name="Unsubscribe").click()
        assert "No more emails to ann.e2e@example.org" in page.content(), page.content()[:2000]
        page.screenshot(path=str(artifacts / "reply-email-unsubscribed.png"))

        later = api_post(live_server, site, article, "One more answer.",
                         token=sso("e2e-cy", "Cy", "cy.e2e@example.org"), parent_id=comment_id)["comment"]
        db = SyncDb(live_server.database_url)
        try:
            wait_for(lambda: fanned_out(db, later["id"]), 30, "the notifier to handle the next reply")
        finally:
            db.close()
        time.sleep(1.0)  # and any delivery it made to be sent
        assert [m["To"] for m in sink.messages] == ["ann.e2e@example.org"]
    finally:
        notifier.stop()
        sink.stop()
