"""Readers reporting someone else's comment from the widget, in headless Chromium against the running
service: the inline form by keyboard alone, what the moderators then see, and the service's refusals."""

from __future__ import annotations

import asyncio
import re
import time
import typing
from concurrent.futures import ThreadPoolExecutor

import httpx
import jwt
import pytest

from comments_service.api.schemas import ReportCreate
from comments_service.db.pool import connect
from comments_service.domain.moderation import REPORT_REASONS
from tests.support.browser import (
    NEWS,
    DemoServer,
    expect,
    host_page,
    post_as_guest,
    watch_console,
    widget_comments,
)
from tests.support.console import assert_accessible
from tests.support.tokens import bearer, staff_token

pytestmark = pytest.mark.browser

SECRET = "browser-report-secret-0123456789abcdef"
NOTE = "Links to a shop in every line"


def sso(sub: str, name: str) -> str:
    return jwt.encode({"sub": sub, "name": name, "exp": int(time.time()) + 900}, SECRET, algorithm="HS256")


def post(server, site: str, article: str, body: str, token: str | None = None) -> int:
    payload = {"body": body, "article_url": f"{NEWS}/{article}", "article_title": f"Article {article}"}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if not token:
        payload["author_name"] = "Seeder"
    response = httpx.post(f"{server.url}/api/v1/articles/{article}/comments", params={"site": site}, json=payload,
                          headers=headers, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["comment"]["id"]


def focused(page) -> dict:
    """What has the keyboard focus inside the widget's shadow root."""
    return page.evaluate("""() => {
        const a = document.querySelector('#comments').shadowRoot.activeElement, c = a && a.closest('article.c');
        return a ? {tag: a.tagName.toLowerCase(), type: a.type || '', value: a.value || '',
                    text: a.textContent.trim(), comment: c ? +c.dataset.id : null} : {};
    }""")


def tab_to_report(page, comment_id: int) -> None:
    """Tab through the widget, the way a keyboard user does, until the comment's Report button has focus."""
    page.locator("#comments h2").click()  # start at the top of the widget
    for _ in range(60):
        page.keyboard.press("Tab")
        now = focused(page)
        if now.get("comment") == comment_id and now.get("text") == "Report":
            return
    pytest.fail(f"Report of comment {comment_id} not reached by Tab; focus ended on {focused(page)}")


def reported_queue(server, site: str) -> list[dict]:
    """The moderators' queue of reported comments, as an admin reads it."""
    async def make() -> str:
        conn = await connect(server.database_url)
        try:
            return await staff_token(conn, "admin", None, "report-tests")
        finally:
            await conn.close()
    with ThreadPoolExecutor(max_workers=1) as pool:  # sync Playwright keeps an event loop in this thread
        token = pool.submit(lambda: asyncio.run(make())).result()
    response = httpx.get(f"{server.url}/api/v1/moderation/queue", params={"site": site, "state": "reported"},
                         headers=bearer(token), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_widget_reasons_are_the_services_reader_report_reasons(live_server, context):
    # the widget carries the reasons in its string table (readers have no route to the moderators'
    # list of codes): they must stay the codes the API accepts, labelled as the moderators read them
    site = live_server.create_site(NEWS, guests=False, sso_secret=SECRET)
    post(live_server, site, "reasons", "Something to report", sso("r-x", "Reader X"))
    page = context.new_page()
    host_page(page, live_server, site, "reasons", attrs=f'data-sso-token="{sso("r-y", "Reader Y")}"')
    c = expect(widget_comments(page).first)
    c.get_by_role("button", name="Report", exact=True).click()
    expect(c.get_by_role("group", name="Why report this comment?"))
    shown = c.locator("input[type=radio]").evaluate_all(
        "(radios) => radios.map((r) => [r.value, r.closest('label').textContent.trim()])")
    assert dict(shown) == REPORT_REASONS
    assert set(typing.get_args(typing.get_type_hints(ReportCreate)["reason"])) == set(REPORT_REASONS)


def test_reader_reports_anothers_comment_by_keyboard_and_only_once(live_server, context, artifacts):
    site = live_server.create_site(NEWS, guests=False, sso_secret=SECRET)
    article = "reports-flow"
    theirs = post(live_server, site, article, "Buy cheap watches at my shop", sso("r-a", "Reader A"))
    reader_b = sso("r-b", "Reader B")
    own = post(live_server, site, article, "My own two cents", reader_b)

    page = context.new_page()
    errors = watch_console(page)
    host_page(page, live_server, site, article, attrs=f'data-sso-token="{reader_b}"')
    a = expect(page.locator(f"#comments #comment-{theirs}"))
    b = expect(page.locator(f"#comments #comment-{own}"))
    expect(page.get_by_text("Commenting as Reader B"))
    assert a.get_by_role("button", name="Report", exact=True).count() == 1
    assert b.get_by_role("button", name="Report", exact=True).count() == 0  # not on one's own comment

    # Enter opens the form with the focus on the first reason; Escape closes it and goes back
    tab_to_report(page, theirs)
    page.keyboard.press("Enter")
    form = expect(a.get_by_role("form", name="Report", exact=True))
    assert focused(page) == {"tag": "input", "type": "radio", "value": "offensive", "text": "", "comment": theirs}
    assert a.get_by_role("button", name="Report", exact=True).get_attribute("aria-expanded") == "true"
    page.keyboard.press("Escape")
    form.wait_for(state="detached")
    assert focused(page)["text"] == "Report" and focused(page)["comment"] == theirs
    assert a.get_by_role("button", name="Report", exact=True).get_attribute("aria-expanded") == "false"

    page.keyboard.press("Enter")
    expect(form)
    page.keyboard.press("ArrowDown")  # the radio group: arrows choose the reason
    assert a.get_by_role("radio", name="Spam").is_checked()
    page.keyboard.press("Tab")
    assert focused(page)["tag"] == "textarea"
    page.keyboard.type(NOTE)
    expect(form.get_by_text("Note for the moderators (optional, up to 1,000 characters)"))
    assert form.get_by_label("Note for the moderators").get_attribute("maxlength") == "1000"
    assert errors == []
    minor = assert_accessible(page, "the open report form", include="#comments")
    # and no minor one either, but the thread's own (role=listitem on each comment's <article>)
    assert [v["id"] for v in minor if v["id"] != "aria-allowed-role"] == []
    errors.clear()  # (axe's own fetch of the stylesheet, which the service does not offer cross-origin)
    a.screenshot(path=str(artifacts / "widget-report-form.png"))
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Send report"
    page.keyboard.press("Enter")

    thanks = expect(a.get_by_role("status").filter(has_text="Thanks — the moderators will look at it"))
    assert thanks.evaluate("(e) => e === e.getRootNode().activeElement")  # read out where the form was
    assert form.count() == 0
    done = a.get_by_role("button", name="Reported")
    assert done.is_disabled()
    a.screenshot(path=str(artifacts / "widget-report-sent.png"))

    [item] = reported_queue(live_server, site)
    assert item["comment"]["id"] == theirs
    assert item["reports"] == {"count": 1, "reasons": {"spam": 1}, "notes": [NOTE]}

    # the service remembers: a second report after a reload is refused and said so
    page.reload()
    a = expect(page.locator(f"#comments #comment-{theirs}"))
    a.get_by_role("button", name="Report", exact=True).click()
    a.get_by_role("radio", name="Off topic").check()
    a.get_by_role("button", name="Send report").click()
    expect(a.get_by_role("status").filter(has_text="You already reported this"))
    assert a.get_by_role("button", name="Reported").is_disabled()
    assert reported_queue(live_server, site)[0]["reports"]["count"] == 1
    # the browser logs the refused request (409); nothing else went wrong
    assert [e for e in errors if "409 (Conflict)" not in e] == []


def test_a_reader_without_an_identity_is_told_how_to_report(live_server, context):
    # the API takes reports only from readers it knows (a sign-in, or a guest's token from a first
    # comment): before that the widget says so instead of offering a form that would be refused
    site = live_server.create_site(NEWS)
    post(live_server, site, "anonymous", "Read but not yet written")
    page = context.new_page()
    host_page(page, live_server, site, "anonymous")
    c = expect(widget_comments(page).filter(has_text="Read but not yet written"))
    c.get_by_role("button", name="Report", exact=True).click()
    expect(c.get_by_role("status").filter(has_text="to report comments"))
    assert c.locator("form").count() == 0
    assert c.get_by_role("button", name="Report", exact=True).get_attribute("aria-expanded") == "true"
    c.get_by_role("button", name="Report", exact=True).click()  # pressing again closes the note
    assert c.get_by_text("to report comments").count() == 0


def test_a_new_guests_report_waits_for_standing(live_server, context):
    # a guest is known once they have commented, and (by default) reports count a while after that:
    # the form is offered, and the service's refusal says why
    site = live_server.create_site(NEWS)
    post(live_server, site, "guest-report", "Someone else wrote this")
    page = context.new_page()
    host_page(page, live_server, site, "guest-report")
    theirs = expect(widget_comments(page).filter(has_text="Someone else wrote this"))
    post_as_guest(page, "Just arrived")
    mine = expect(widget_comments(page).filter(has_text="Just arrived"))
    assert mine.get_by_role("button", name="Report", exact=True).count() == 0
    theirs.get_by_role("button", name="Report", exact=True).click()
    theirs.get_by_role("radio", name="Off topic").check()
    theirs.get_by_role("button", name="Send report").click()
    expect(theirs.get_by_role("alert").filter(has_text="a while after a comment of yours"))
    assert theirs.get_by_role("button", name="Report", exact=True).is_enabled()


def test_refusals_show_the_services_message_as_an_alert(storage, database, context):
    # the run's generous limits, but one report per reader per ten minutes
    limits = storage.env()["COMMENTS_RATE_LIMITS"]
    assert "report.user=0:1" in limits
    server = DemoServer(storage, COMMENTS_RATE_LIMITS=limits.replace("report.user=0:1", "report.user=600:1")).start()
    try:
        site = server.create_site(NEWS, guests=False, sso_secret=SECRET)
        first = post(server, site, "refusals", "First of two", sso("r-c", "Reader C"))
        second = post(server, site, "refusals", "Second of two", sso("r-c", "Reader C"))
        page = context.new_page()
        host_page(page, server, site, "refusals", attrs=f'data-sso-token="{sso("r-d", "Reader D")}"')

        a = expect(page.locator(f"#comments #comment-{first}"))
        a.get_by_role("button", name="Report", exact=True).click()
        a.get_by_role("radio", name="Spam").check()
        a.get_by_role("button", name="Send report").click()
        expect(a.get_by_text("Thanks — the moderators will look at it"))

        # the next report within ten minutes is refused, with when to try again
        b = page.locator(f"#comments #comment-{second}")
        b.get_by_role("button", name="Report", exact=True).click()
        b.get_by_role("radio", name="Something else").check()
        b.get_by_role("button", name="Send report").click()
        text = expect(b.get_by_role("alert")).inner_text()
        assert "Too many report requests" in text and re.search(r"try again in \d+ (seconds|minutes)", text)
        assert b.get_by_role("button", name="Report", exact=True).get_attribute("aria-expanded") == "true"
        assert b.get_by_role("button", name="Report", exact=True).is_enabled()  # not reported: it may be tried later
    finally:
        server.stop()
