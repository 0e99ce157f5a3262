"""The EU Digital Services Act and readers' data rights in the widget, in headless Chromium against the
running service: a guest's notice of illegal content by keyboard alone, a reader reading the statement of
reasons for a moderator's rejection and appealing it, and a reader downloading and erasing their data."""

from __future__ import annotations

import asyncio
import json
import re
import time
import typing
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import jwt
import pytest

from comments_service.db.pool import connect
from comments_service.domain.dsa_models import NoticeCategory
from tests.support.browser import NEWS, expect, host_page, post_as_guest, watch_console
from tests.support.console import assert_accessible
from tests.support.tokens import bearer, staff_token

pytestmark = pytest.mark.browser

SECRET = "browser-dsa-secret-0123456789abcdef"
REFERENCE = re.compile(r"Keep this reference: (N-[0-9A-Z]{4}-[0-9A-Z]{4})")


def sso(sub: str, name: str) -> str:
    return jwt.encode({"sub": sub, "name": name, "exp": int(time.time()) + 900}, SECRET, algorithm="HS256")


def post(server, site: str, article: str, body: str, token: str | None = None, parent: int | None = None) -> int:
    payload: dict = {"body": body, "article_url": f"{NEWS}/{article}", "article_title": f"Article {article}"}
    if parent:
        payload["parent_id"] = parent
    if not token:
        payload["author_name"] = "Seeder"
    headers = bearer(token) if token else {}
    response = httpx.post(f"{server.url}/api/v1/articles/{article}/comments", params={"site": site}, json=payload,
                          headers=headers, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["comment"]["id"]


def admin(server, name: str = "dsa-widget-tests") -> dict[str, str]:
    async def make() -> str:
        conn = await connect(server.database_url)
        try:
            return await staff_token(conn, "admin", None, name)
        finally:
            await conn.close()
    with ThreadPoolExecutor(max_workers=1) as pool:  # sync Playwright keeps an event loop in this thread
        return bearer(pool.submit(lambda: asyncio.run(make())).result())


def focused(page) -> dict:
    return page.evaluate("""() => {
        const a = document.querySelector('#comments').shadowRoot.activeElement, c = a && a.closest('article.c');
        return a ? {tag: a.tagName.toLowerCase(), type: a.type || '', value: a.value || '', text: a.textContent.trim(),
                    comment: c ? +c.dataset.id : null} : {};
    }""")


def tab_to(page, comment_id: int, text: str) -> None:
    page.locator("#comments h2").click()
    for _ in range(80):
        page.keyboard.press("Tab")
        now = focused(page)
        if now.get("comment") == comment_id and now.get("text") == text:
            return
    pytest.fail(f"{text!r} of comment {comment_id} not reached by Tab; focus ended on {focused(page)}")


def only_thread_roles(minor: list[dict]) -> list[str]:
    # the thread's own minor finding (role=listitem on each comment's <article>) is known and accepted
    return [v["id"] for v in minor if v["id"] != "aria-allowed-role"]


def test_a_guest_sends_a_notice_of_illegal_content_by_keyboard(live_server, context, artifacts):
    site = live_server.create_site(NEWS)
    article = "dsa-notice"
    theirs = post(live_server, site, article, "The mayor stole the pension fund, everyone knows it")
    page = context.new_page()
    errors = watch_console(page)
    host_page(page, live_server, site, article)
    c = expect(page.locator(f"#comments #comment-{theirs}"))

    # the widget's categories are the service's, in its order
    c.get_by_role("button", name="Report illegal content").click()
    form = expect(c.get_by_role("form", name="Report illegal content"))
    assert form.locator("input[type=radio]").evaluate_all("(rs) => rs.map((r) => r.value)") == list(
        typing.get_args(NoticeCategory))
    expect(form.get_by_text(f"#{theirs} Seeder: The mayor stole the pension fund"))  # which comment, read-only
    page.keyboard.press("Escape")
    form.wait_for(state="detached")
    assert focused(page) == {"tag": "button", "type": "button", "value": "", "text": "Report illegal content",
                             "comment": theirs}

    # by keyboard alone: Enter opens it on the first category, arrows choose, Tab walks the fields
    tab_to(page, theirs, "Report illegal content")
    page.keyboard.press("Enter")
    expect(form)
    assert focused(page)["value"] == "illegal_hate_speech"
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    assert form.get_by_role("radio", name="Defamation").is_checked()
    page.keyboard.press("Tab")
    page.keyboard.type("It accuses a named person of a crime without any evidence.")
    page.keyboard.press("Tab")
    page.keyboard.type("Nora Notifier")
    page.keyboard.press("Tab")
    page.keyboard.type("nora@example.org")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    assert form.get_by_role("checkbox").is_checked()
    assert errors == []
    minor = assert_accessible(page, "the notice form", include="#comments")
    assert only_thread_roles(minor) == []
    errors.clear()  # (axe's own fetch of the stylesheet, which the service does not offer cross-origin)
    c.screenshot(path=str(artifacts / "widget-dsa-notice-form.png"))
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Send notice"
    page.keyboard.press("Enter")

    receipt = expect(c.get_by_role("status").filter(has_text="Keep this reference"))
    assert receipt.evaluate("(e) => e === e.getRootNode().activeElement")
    text = receipt.inner_text()
    found = REFERENCE.search(text)
    assert found, text
    reference = found.group(1)
    assert "The decision will be emailed to you." in text
    assert receipt.locator("strong").inner_text() == f"Keep this reference: {reference}"  # the prominent line
    c.screenshot(path=str(artifacts / "widget-dsa-notice-sent.png"))

    r = httpx.get(f"{live_server.url}/api/v1/moderation/notices", params={"site": site}, headers=admin(live_server),
                  timeout=10)
    assert r.status_code == 200, r.text
    [notice] = r.json()["items"]
    assert (notice["reference"], notice["category"], notice["notifier_name"], notice["notifier_email"]) == (
        reference, "defamation", "Nora Notifier", "nora@example.org")
    assert notice["comment"]["id"] == theirs
    assert errors == []


def test_the_troubleshooters_notice_needs_contact_details_except_for_csam(live_server, context, artifacts):
    site = live_server.create_site(NEWS)
    article = "dsa-anonymous"
    theirs = post(live_server, site, article, "Something that must be reported")
    page = context.new_page()
    host_page(page, live_server, site, article)
    expect(page.locator(f"#comments #comment-{theirs}"))
    page.get_by_role("button", name="Having issues with commenting?").click()
    panel = expect(page.get_by_role("region", name="Commenting check"))
    panel.get_by_role("button", name="Report illegal content").click()
    form = expect(panel.get_by_role("form", name="Report illegal content"))
    form.get_by_label("Comment").select_option(str(theirs))
    form.get_by_role("radio", name="Fraud or scam").check()
    form.get_by_label("Why is it illegal?").fill("It is a scam.")
    form.get_by_role("checkbox").check()
    # name and email are required here: the browser will not send it
    assert form.evaluate("(f) => f.checkValidity()") is False
    form.get_by_role("radio", name="Child sexual abuse material").check()
    assert form.evaluate("(f) => f.checkValidity()") is True
    assert_accessible(page, "the troubleshooter's notice form", include="#comments")
    panel.screenshot(path=str(artifacts / "widget-dsa-troubleshooter.png"))
    form.get_by_role("button", name="Send notice").click()
    receipt = expect(panel.get_by_role("status").filter(has_text="Keep this reference"))
    assert "emailed" not in receipt.inner_text()  # an anonymous notifier gets no email

    r = httpx.get(f"{live_server.url}/api/v1/moderation/notices", params={"site": site}, headers=admin(live_server),
                  timeout=10)
    [notice] = r.json()["items"]
    assert (notice["category"], notice["notifier_name"], notice["notifier_email"], notice["comment"]["id"]) == (
        "child_sexual_abuse_material", None, None, theirs)


def test_a_rejected_author_reads_why_and_appeals(live_server, context, artifacts):
    site = live_server.create_site(NEWS, guests=False, sso_secret=SECRET)
    article = "dsa-statement"
    reader = sso("dsa-r", "Rita Reader")
    own = post(live_server, site, article, "Buy my watches, cheapest in town", reader)
    staff = admin(live_server)
    r = httpx.post(f"{live_server.url}/api/v1/moderation/comments/{own}/decision", headers=staff, timeout=10,
                   json={"action": "reject", "reason": "spam", "override": True})
    assert r.status_code == 200, r.text

    page = context.new_page()
    errors = watch_console(page)
    host_page(page, live_server, site, article, attrs=f'data-sso-token="{reader}"')
    expect(page.get_by_text("Commenting as Rita Reader"))
    assert page.locator(f"#comments #comment-{own}").count() == 0  # a rejected comment is not in the thread
    page.get_by_role("button", name="Your data").click()
    pane = expect(page.get_by_role("region", name="Your data"))
    pane.get_by_role("button", name="Decisions about your comments").click()
    item = expect(pane.locator("li").filter(has_text=f"#{own}"))
    item.get_by_text("Why?").click()
    text = item.inner_text()
    assert "Your comment was removed" in text and "Reason: Spam or advertising." in text
    assert "Found by moderators, decided by a person" in text
    assert re.search(r"You may appeal until .*2027", text)
    item.get_by_role("button", name="Appeal").click()
    form = expect(item.get_by_role("form", name="Appeal"))
    assert focused(page)["tag"] == "textarea"
    page.keyboard.type("It was a joke about my neighbour's shop, not an advert.")
    minor = assert_accessible(page, "the appeal form", include="#comments")
    assert only_thread_roles(minor) == []
    errors.clear()
    pane.screenshot(path=str(artifacts / "widget-dsa-appeal.png"))
    form.get_by_role("button", name="Send").click()
    done = expect(item.get_by_role("status").filter(has_text="Appeal received; a person will decide."))
    assert done.evaluate("(e) => e === e.getRootNode().activeElement")
    assert item.get_by_role("button", name="Appeal").count() == 0

    # the moderators see it and reverse the decision; the author reads the outcome
    r = httpx.get(f"{live_server.url}/api/v1/moderation/appeals", params={"site": site}, headers=staff, timeout=10)
    [appeal] = r.json()["items"]
    assert appeal["explanation"].startswith("It was a joke") and appeal["statement"]["comment_id"] == own
    # (by another member of staff than the one who rejected it)
    r = httpx.post(f"{live_server.url}/api/v1/moderation/appeals/{appeal['id']}/decision", timeout=10,
                   headers=admin(live_server, "dsa-widget-appeals"),
                   json={"outcome": "reverse", "explanation": "Read again, it is banter."})
    assert r.status_code == 200, r.text
    page.reload()
    page.get_by_role("button", name="Your data").click()
    pane = expect(page.get_by_role("region", name="Your data"))
    pane.get_by_role("button", name="Decisions about your comments").click()
    item = expect(pane.locator("li").filter(has_text=f"#{own}").filter(has_text="removed"))
    item.get_by_text("Why?").click()
    expect(item.get_by_text("Appeal upheld: decision reversed."))
    expect(item.get_by_text("Read again, it is banter."))
    pane.screenshot(path=str(artifacts / "widget-dsa-appeal-decided.png"))
    assert errors == []


def test_a_reader_downloads_and_erases_their_data(live_server, context, artifacts, tmp_path: Path):
    site = live_server.create_site(NEWS, guests=False, sso_secret=SECRET)
    article = "dsa-data"
    reader = sso("data-r", "Dora Data")
    own = post(live_server, site, article, "My two cents on the budget", reader)
    reply = post(live_server, site, article, "I disagree with Dora", sso("data-o", "Otto Other"), parent=own)

    page = context.new_page()
    errors = watch_console(page)
    host_page(page, live_server, site, article, attrs=f'data-sso-token="{reader}"')
    mine = expect(page.locator(f"#comments #comment-{own}"))
    expect(mine.get_by_text("Dora Data"))
    page.get_by_role("button", name="Your data").click()
    pane = expect(page.get_by_role("region", name="Your data"))
    with page.expect_download() as caught:
        pane.get_by_role("button", name="Download my data").click()
    download = caught.value
    assert download.suggested_filename == f"my-data-{site}.json"
    saved = tmp_path / "data.json"
    download.save_as(saved)
    data = json.loads(saved.read_text())
    assert data["site_id"] == site and data["profile"]["name"] == "Dora Data"
    assert [(c["id"], c["body_markdown"]) for c in data["comments"]] == [(own, "My two cents on the budget")]

    pane.get_by_role("button", name="Delete my data").click()
    form = expect(pane.get_by_role("form", name="Delete my data"))
    note = form.get_by_text("This cannot be undone.")
    assert note.evaluate("(e) => e === e.getRootNode().activeElement")  # read first, before any button
    minor = assert_accessible(page, "the erasure confirmation", include="#comments")
    assert only_thread_roles(minor) == []
    errors.clear()
    pane.screenshot(path=str(artifacts / "widget-data-erase-confirm.png"))
    page.keyboard.press("Escape")  # closes the confirmation only, back to its button
    form.wait_for(state="detached")
    assert focused(page)["text"] == "Delete my data"
    page.keyboard.press("Enter")
    expect(form).get_by_role("button", name="Delete my data").click()

    expect(page.get_by_role("status").filter(has_text="Your data was deleted."))
    mine = expect(page.locator(f"#comments #comment-{own}"))
    expect(mine.get_by_text("This comment was deleted."))
    assert "Dora Data" not in mine.locator(":scope > header").inner_text()
    expect(page.locator(f"#comments #comment-{reply}").get_by_text("I disagree with Dora"))
    page.locator("#comments").screenshot(path=str(artifacts / "widget-data-erased.png"))
    r = httpx.get(f"{live_server.url}/api/v1/me/data", params={"site": site}, headers=bearer(reader), timeout=10)
    assert r.status_code == 200 and r.json()["comments"][0]["body_markdown"] == ""
    assert errors == []


def test_an_authors_held_comment_says_why_in_place(scoring_server, context, artifacts):
    # a suspect word holds a comment automatically: its author sees it where it would appear, with the
    # statement of reasons for holding it under Why?
    site = scoring_server.create_site(NEWS, guests=False, sso_secret=SECRET,
                                      settings={"moderation": {"suspect_words": ["kumquat"]}})
    article = "dsa-held"
    reader = sso("held-r", "Hana Held")
    own = post(scoring_server, site, article, "The kumquat stall is a fraud", reader)
    for _ in range(100):  # the worker scores it: held, with a statement
        r = httpx.get(f"{scoring_server.url}/api/v1/me/statements", params={"site": site}, headers=bearer(reader),
                      timeout=10)
        if r.json()["items"]:
            break
        time.sleep(0.1)
    [statement] = r.json()["items"]
    assert (statement["comment_id"], statement["restriction"]) == (own, "visibility_restriction")

    page = context.new_page()
    errors = watch_console(page)
    host_page(page, scoring_server, site, article, attrs=f'data-sso-token="{reader}"')
    c = expect(page.locator(f"#comments #comment-{own}"))
    expect(c.get_by_text("Awaiting moderation"))
    c.get_by_text("Why?").click()
    text = c.locator("details").inner_text()
    assert "Your comment is held for review" in text and "Found automatically, decided automatically on" in text
    assert c.get_by_role("button", name="Appeal").is_visible()
    assert c.get_by_role("button", name="Report illegal content").count() == 0  # not public: nothing to notify
    c.screenshot(path=str(artifacts / "widget-dsa-held-why.png"))
    assert errors == []


def test_a_guests_erasure_forgets_them_in_this_browser_too(live_server, context):
    site = live_server.create_site(NEWS)
    article = "dsa-guest-erase"
    page = context.new_page()
    host_page(page, live_server, site, article)
    post_as_guest(page, "A guest was here", name="Gina Guest")
    expect(page.get_by_text("Commenting as Gina Guest"))
    assert page.evaluate(f"() => !!localStorage.getItem('cs-guest:{site}')")
    page.get_by_role("button", name="Your data").click()
    pane = expect(page.get_by_role("region", name="Your data"))
    pane.get_by_role("button", name="Delete my data").click()
    pane.get_by_role("form", name="Delete my data").get_by_role("button", name="Delete my data").click()
    # the guest's token and name leave this browser: the form asks for a name again
    done = expect(page.get_by_role("status").filter(has_text="Your data was deleted."))
    assert done.evaluate("(e) => e === e.getRootNode().activeElement")
    expect(page.locator("#comments .main-form").get_by_label("Your name"))
    assert page.get_by_text("A guest was here").count() == 0
    kept = [f"cs-guest:{site}", f"cs-guest:{site}:name", f"cs-md:{site}"]
    assert page.evaluate("(keys) => keys.map((k) => localStorage.getItem(k))", kept) == [None, None, None]
