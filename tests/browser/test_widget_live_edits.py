"""The widget in headless Chromium: editing from another browser, the nudge's honesty, what other
readers see live (edits, deletions, the count and the new-comments bar) and where focus goes after
writing."""

from __future__ import annotations

import re
import time

import httpx
import jwt
import pytest

from tests.support.browser import (
    NEWS,
    expect,
    host_page,
    note_stream_ready,
    post_as_guest,
    wait_stream_ready,
    watch_console,
    widget_comments,
)

pytestmark = pytest.mark.browser

SECRET = "browser-live-edits-secret-0123456789"


def sso(sub: str, name: str) -> str:
    return jwt.encode({"sub": sub, "name": name, "exp": int(time.time()) + 600}, SECRET, algorithm="HS256")


def api(server, method: str, path: str, site: str, token: str, body: dict | None = None) -> dict | None:
    response = httpx.request(method, f"{server.url}/api/v1{path}", params={"site": site}, json=body,
                             headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code in (200, 201, 204), response.text
    return response.json() if response.status_code != 204 else None


def api_post(server, site: str, article: str, text: str, token: str) -> dict:
    body = {"body": text, "article_url": f"{NEWS}/{article}", "article_title": f"Article {article}"}
    posted = api(server, "POST", f"/articles/{article}/comments", site, token, body)
    assert posted is not None and posted["status"] == "published"
    return posted["comment"]


def focused(page) -> dict | None:
    """What has focus inside the widget: its tag, the comment it is or is in, and its text."""
    return page.evaluate("""() => {
        const e = document.querySelector('#comments').shadowRoot.activeElement;
        if (!e) return null;
        const c = e.closest('article.c');
        return {tag: e.tagName.toLowerCase(), comment: c && +c.dataset.id, text: (e.textContent || '').trim()};
    }""")




@pytest.fixture
def news_site(live_server):
    return live_server.create_site(NEWS)


@pytest.fixture
def sso_site(live_server):
    return live_server.create_site(NEWS, sso_secret=SECRET)


def test_an_edit_in_another_browser_starts_from_the_authors_markdown(live_server, browser, sso_site, artifacts):
    markdown = "A **bold** claim with a [source](https://example.com/report) and `code`."
    token = sso("u-md", "Mara")
    comment = api_post(live_server, sso_site, "md-elsewhere", markdown, token)  # written in another browser
    ctx = browser.new_context(viewport={"width": 900, "height": 700})
    try:
        page = ctx.new_page()
        errors = watch_console(page)
        host_page(page, live_server, sso_site, "md-elsewhere", attrs=f'data-sso-token="{token}"')
        mine = expect(page.locator(f"#comments #comment-{comment['id']}"))
        expect(mine.locator(".body strong", has_text="bold"))
        mine.get_by_role("button", name="Edit").click()
        box = mine.get_by_label("Your comment")
        page.wait_for_function("() => document.querySelector('#comments').shadowRoot"
                               ".querySelector('.slot textarea:not([readonly])')")
        assert box.input_value() == markdown  # the markdown as written, not the rendered text
        page.screenshot(path=str(artifacts / "edit-from-another-browser.png"), full_page=True)
        box.fill(markdown + " Updated.")
        mine.get_by_role("button", name="Save").click()
        expect(mine.get_by_text("Updated."))
        expect(mine.locator(".body code", has_text="code"))
        assert errors == []
    finally:
        ctx.close()


def test_the_nudge_says_rejected_text_will_not_be_published(live_server, context, news_site, artifacts):
    page = context.new_page()
    host_page(page, live_server, news_site, "nudge-truth")
    expect(page.get_by_text("No comments yet"))
    post_as_guest(page, "Go and kill yourself, nobody wants you here.")
    nudge = expect(page.get_by_role("alert"))
    assert "will not be published" in nudge.inner_text()
    assert "held" not in nudge.inner_text()
    assert nudge.get_by_role("button", name="Submit for review").count() == 0  # review would not publish it
    assert nudge.inner_text().strip().endswith("Edit my comment")  # nothing else offered
    page.screenshot(path=str(artifacts / "nudge-rejected.png"), full_page=True)
    nudge.get_by_role("button", name="Edit my comment").click()
    box = page.locator("#comments .main-form").get_by_label("Your comment")
    assert box.evaluate("e => e.matches(':focus')")

    # text that would be held says so, and may still go to a moderator
    box.fill("I know where you live.")
    page.locator("#comments .main-form").get_by_role("button", name="Post comment").click()
    nudge = expect(page.get_by_role("alert"))
    expect(nudge.get_by_text("likely to be held"))
    assert "will not be published" not in nudge.inner_text()
    expect(nudge.get_by_role("button", name="Submit for review"))
    assert widget_comments(page).count() == 0


def test_the_first_comment_replaces_the_empty_note_and_the_count_follows_a_delete(live_server, context, news_site):
    page = context.new_page()
    host_page(page, live_server, news_site, "count-follows")
    empty = expect(page.get_by_text("No comments yet"))
    post_as_guest(page, "The very first word")
    written = expect(widget_comments(page).filter(has_text="The very first word"))
    mine = page.locator("#comments #" + written.get_attribute("id"))  # stays put while its text changes
    empty.wait_for(state="hidden", timeout=5_000)
    assert page.locator("#comments h2").inner_text() == "1 comment"

    page.once("dialog", lambda dialog: dialog.accept())
    mine.get_by_role("button", name="Delete").click()
    expect(mine.get_by_text("This comment was deleted."))
    page.wait_for_function("() => document.querySelector('#comments').shadowRoot"
                           ".querySelector('h2').textContent === '0 comments'", timeout=5_000)


def test_other_readers_see_edits_and_deletions_live_and_the_bar_counts_what_exists(live_server, browser, sso_site,
                                                                                 artifacts):
    author = sso("u-live", "Lior")
    first = api_post(live_server, sso_site, "live-edits", "The *original* text", author)
    ctx = browser.new_context(viewport={"width": 900, "height": 800})
    try:
        page = ctx.new_page()
        errors = watch_console(page)
        note_stream_ready(page)
        host_page(page, live_server, sso_site, "live-edits")
        shown = expect(page.locator(f"#comments #comment-{first['id']}"))
        expect(shown.get_by_text("original"))
        wait_stream_ready(page)
        heading = page.locator("#comments h2")
        assert heading.inner_text() == "1 comment"

        api(live_server, "PATCH", f"/comments/{first['id']}", sso_site, author, {"body": "The **corrected** text"})
        expect(shown.locator(".body strong", has_text="corrected"))
        expect(shown.locator(".edited"))

        second = api_post(live_server, sso_site, "live-edits", "A second thought", author)
        api_post(live_server, sso_site, "live-edits", "A third thought", author)
        expect(page.get_by_role("button", name=re.compile("2 new comments")))
        expect(heading.filter(has_text="3 comments"))

        # a comment deleted before anyone showed it is no longer counted as new
        api(live_server, "DELETE", f"/comments/{second['id']}", sso_site, author)
        bar = expect(page.get_by_role("button", name=re.compile("1 new comment")))
        expect(heading.filter(has_text="2 comments"))

        api(live_server, "DELETE", f"/comments/{first['id']}", sso_site, author)
        expect(shown.get_by_text("This comment was deleted."))
        expect(heading.filter(has_text="1 comment"))
        assert shown.locator(".edited").count() == 0  # a tombstone, as a reload shows it
        page.screenshot(path=str(artifacts / "live-edits.png"), full_page=True)

        bar.click()
        expect(page.get_by_text("A third thought"))
        assert page.get_by_text("A second thought").count() == 0
        assert errors == []
    finally:
        ctx.close()


def test_focus_lands_on_what_was_just_written(live_server, context, news_site, artifacts):
    page = context.new_page()
    host_page(page, live_server, news_site, "focus-flow")
    expect(page.get_by_text("No comments yet"))
    form = page.locator("#comments .main-form form")
    form.get_by_label("Your name").fill("Kai")
    form.get_by_label("Your comment").fill("Posted from the keyboard")
    form.get_by_role("button", name="Post comment").focus()
    page.keyboard.press("Enter")
    written = expect(widget_comments(page).filter(has_text="Posted from the keyboard"))
    mine = page.locator("#comments #" + written.get_attribute("id"))
    comment_id = int(mine.get_attribute("data-id"))
    page.wait_for_function("() => document.querySelector('#comments').shadowRoot.activeElement?.tagName === 'ARTICLE'",
                           timeout=5_000)
    assert focused(page) == {"tag": "article", "comment": comment_id, "text": focused(page)["text"]}

    # a reply: its form goes away, and focus goes to the reply rather than to the page's start
    mine.get_by_role("button", name="Reply").focus()
    page.keyboard.press("Enter")
    mine.get_by_label("Your reply").type("A reply from the keyboard")
    mine.get_by_role("button", name="Post reply").focus()
    page.keyboard.press("Enter")
    written = expect(mine.locator(".replies article.c", has_text="A reply from the keyboard"))
    reply = page.locator("#comments #" + written.get_attribute("id"))
    expect(reply.get_by_text("Your comment is published."))
    reply_id = int(reply.get_attribute("data-id"))
    page.wait_for_function(f"() => document.querySelector('#comments').shadowRoot.activeElement?.dataset?.id === "
                           f"'{reply_id}'", timeout=5_000)
    page.screenshot(path=str(artifacts / "focus-after-reply.png"), full_page=True)

    # an edit: the form goes away, focus stays on the comment that was saved
    reply.get_by_role("button", name="Edit").focus()
    page.keyboard.press("Enter")
    reply.get_by_label("Your comment").fill("A reply, corrected")
    reply.get_by_role("button", name="Save").focus()
    page.keyboard.press("Enter")
    expect(reply.get_by_text("A reply, corrected"))
    page.wait_for_function(f"() => document.querySelector('#comments').shadowRoot.activeElement?.dataset?.id === "
                           f"'{reply_id}'", timeout=5_000)
    assert reply.locator("form").count() == 0
