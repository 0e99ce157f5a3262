"""The embeddable widget in headless Chromium against the running service: what a reader sees and does."""

from __future__ import annotations

import base64
import json
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


def api_post(server, site: str, article: str, body: str, *, token: str | None = None, name: str = "Seeder",
             parent_id: int | None = None) -> dict:
    payload = {"body": body, "article_url": f"{NEWS}/{article}", "article_title": f"Article {article}"}
    if parent_id:
        payload["parent_id"] = parent_id
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if not token:
        payload["author_name"] = name
    response = httpx.post(f"{server.url}/api/v1/articles/{article}/comments", params={"site": site}, json=payload,
                          headers=headers, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def news_site(live_server):
    return live_server.create_site(NEWS)


def test_demo_page_shows_the_thread_with_nested_replies(live_server, context, artifacts):
    page = context.new_page()
    errors = watch_console(page)
    page.goto(live_server.url + "/demo")
    expect(page.get_by_text("Good reporting."))
    assert page.locator("#comments h2").inner_text() == "5 comments"
    # Nodira's answer sits inside Tom's comment, in its replies
    reply = page.locator("#comments article.c article.c", has_text="Family in Rushan")
    expect(reply)
    assert "Tom K." in reply.locator("xpath=ancestor::article[1]").locator("header").first.inner_text()
    stamp = page.locator("#comments article.c time").first
    assert stamp.get_attribute("title") and re.search(r"\d{4}", stamp.get_attribute("title"))
    assert re.search(r"ago|now|second|minute", stamp.inner_text())
    # markdown arrives as the server's sanitised HTML: emphasis and links, not literal asterisks
    assert page.locator("#comments article.c em", has_text="Khorog").count() == 1
    page.screenshot(path=str(artifacts / "demo.png"), full_page=True)
    assert errors == []


def test_guest_posts_a_comment_and_a_reply_and_is_remembered(live_server, context, news_site):
    page = context.new_page()
    errors = watch_console(page)
    host_page(page, live_server, news_site, "guest-flow")
    expect(page.get_by_text("No comments yet"))
    post_as_guest(page, "First thoughts on **this** story.")
    expect(page.get_by_text("Your comment is published."))
    mine = widget_comments(page).filter(has_text="First thoughts")
    expect(mine)
    assert mine.locator("strong", has_text="this").count() == 1
    assert page.locator("#comments h2").inner_text() == "1 comment"

    mine.get_by_role("button", name="Reply").click()
    reply_box = mine.get_by_label("Your reply")
    expect(reply_box)
    reply_box.fill("Replying to myself, with a correction.")
    mine.get_by_role("button", name="Post reply").click()
    expect(mine.locator(".replies article.c", has_text="a correction"))
    assert mine.locator(".replies article.c").count() == 1

    token = page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('cs-guest:'))")
    assert token, "the guest token is kept in localStorage"
    page.reload()
    expect(page.locator("#comments article.c article.c", has_text="a correction"))
    expect(page.get_by_text("Commenting as Ana"))
    assert page.locator("#comments").get_by_label("Your name").count() == 0
    assert errors == []


def test_signed_in_reader_comments_with_the_host_pages_sso_token(live_server, context):
    secret = "browser-sso-secret-0123456789abcdef"
    site = live_server.create_site(NEWS, guests=False, sso_secret=secret)
    token = jwt.encode({"sub": "u-77", "name": "Signed Reader", "exp": int(time.time()) + 600}, secret,
                       algorithm="HS256")
    page = context.new_page()
    host_page(page, live_server, site, "sso-flow", attrs=f'data-sso-token="{token}"')
    expect(page.get_by_text("No comments yet"))
    assert page.locator("#comments").get_by_label("Your name").count() == 0
    post_as_guest(page, "Posted with my newsroom account")
    mine = expect(widget_comments(page).filter(has_text="newsroom account"))
    assert mine.locator(".author").inner_text() == "Signed Reader"
    assert mine.get_by_role("button", name="Edit").count() == 1
    assert page.evaluate(f"localStorage.getItem('cs-guest:{site}')") is None  # SSO readers need no guest token


def test_a_fresh_guests_vote_waits_for_standing(live_server, context, news_site):
    api_post(live_server, news_site, "early-votes", "Worth an upvote")
    page = context.new_page()
    host_page(page, live_server, news_site, "early-votes")
    theirs = expect(widget_comments(page).filter(has_text="Worth an upvote"))
    post_as_guest(page, "Just arrived")
    expect(page.get_by_text("Your comment is published."))
    theirs.get_by_role("button", name="Upvote").click()
    expect(theirs.get_by_text("a while after a comment of yours was published"))
    expect(theirs.locator(".score", has_text="0"))


def test_reader_votes_on_someone_elses_comment(live_server, context):
    # a site that counts a guest's vote as soon as their comment is published
    site = live_server.create_site(NEWS, settings={"established_after_minutes": 0})
    api_post(live_server, site, "votes", "Worth an upvote")
    page = context.new_page()
    host_page(page, live_server, site, "votes")
    theirs = expect(widget_comments(page).filter(has_text="Worth an upvote"))
    post_as_guest(page, "I am here too")  # votes need an identity: a guest gets one with a first comment
    expect(page.get_by_text("Your comment is published."))
    theirs.get_by_role("button", name="Upvote").click()
    expect(theirs.locator(".score", has_text="1"))
    assert theirs.get_by_role("button", name="Upvote").get_attribute("aria-pressed") == "true"
    theirs.get_by_role("button", name="Upvote").click()  # pressing again withdraws the vote
    expect(theirs.locator(".score", has_text="0"))


def test_character_count_follows_the_draft_and_blocks_overlong_text(live_server, context, news_site):
    page = context.new_page()
    host_page(page, live_server, news_site, "count-flow")
    box = expect(page.locator("#comments").get_by_label("Your comment"))
    box.fill("Hello")
    expect(page.get_by_text("5 / 10,000 characters"))
    box.fill("x" * 10_001)
    expect(page.get_by_text("Too long by 1 characters"))
    assert page.locator("#comments").get_by_role("button", name="Post comment").is_disabled()


def test_edit_and_delete_own_comment(live_server, context, news_site):
    page = context.new_page()
    host_page(page, live_server, news_site, "edit-flow")
    expect(page.get_by_text("No comments yet"))
    post_as_guest(page, "Teh first draft")
    draft = expect(widget_comments(page).filter(has_text="Teh first draft"))
    mine = page.locator("#comments #" + draft.get_attribute("id"))  # stays put while its text changes
    mine.get_by_role("button", name="Edit").click()
    box = mine.get_by_label("Your comment")
    assert box.input_value() == "Teh first draft"  # the markdown as written, not the rendered text
    box.fill("The *corrected* draft")
    mine.get_by_role("button", name="Save").click()
    expect(mine.locator(".body em", has_text="corrected"))
    expect(mine.locator(".edited"))

    page.once("dialog", lambda dialog: dialog.accept())
    mine.get_by_role("button", name="Delete").click()
    expect(mine.get_by_text("This comment was deleted."))
    page.reload()  # a deleted comment without replies leaves no tombstone behind
    expect(page.get_by_text("No comments yet"))
    assert widget_comments(page).filter(has_text="corrected").count() == 0


def test_load_more_comments_replies_and_continue_a_deep_thread(live_server, context, news_site):
    article = "long-thread"
    first = api_post(live_server, news_site, article, "Comment number 0")["comment"]["id"]
    for i in range(1, 24):
        api_post(live_server, news_site, article, f"Comment number {i}")
    for i in range(8):
        api_post(live_server, news_site, article, f"Reply number {i}", parent_id=first)
    parent = first
    for depth in range(1, 6):  # a chain below the first reply, deeper than the page shows
        parent = api_post(live_server, news_site, article, f"Deep level {depth}",
                          parent_id=parent if depth > 1 else first)["comment"]["id"]

    page = context.new_page()
    host_page(page, live_server, news_site, article)
    top = page.locator("#comments .list > article.c")
    expect(top.first)
    assert top.count() == 20
    page.get_by_role("button", name="Load more comments").click()
    expect(page.get_by_text("Comment number 23"))
    assert top.count() == 24
    assert page.get_by_role("button", name="Load more comments").is_hidden()

    root = top.filter(has_text="Comment number 0").first
    replies = root.locator(":scope > .replies > article.c")
    assert replies.count() == 5
    root.get_by_role("button", name=re.compile(r"Show \d+ more repl")).first.click()
    expect(root.get_by_text("Reply number 7"))
    assert replies.count() == 9  # 8 replies and the head of the deep chain

    # the replies page nests three levels below each reply: the fifth level waits behind a link
    expect(root.get_by_text("Deep level 4"))
    assert root.get_by_text("Deep level 5").count() == 0
    root.get_by_role("button", name=re.compile("Continue this thread")).click()
    expect(root.get_by_text("Deep level 5"))


def test_sort_newest_first(live_server, context, news_site):
    for i in range(3):
        api_post(live_server, news_site, "sorted", f"Sorted comment {i}")
    page = context.new_page()
    host_page(page, live_server, news_site, "sorted")
    top = page.locator("#comments .list > article.c")
    expect(top.first)
    assert "Sorted comment 0" in top.first.inner_text()
    page.locator("#comments").get_by_label("Sort by").select_option("newest")
    page.wait_for_function("() => document.querySelector('#comments').shadowRoot"
                           ".querySelector('.list > article.c').innerText.includes('Sorted comment 2')")


def test_live_update_reaches_another_reader_as_a_new_comments_bar(live_server, browser, news_site):
    reader = browser.new_context()
    writer = browser.new_context()
    try:
        watching = reader.new_page()
        errors = watch_console(watching)
        note_stream_ready(watching)
        with watching.expect_response(lambda r: "/events" in r.url) as stream:
            host_page(watching, live_server, news_site, "live-flow")
        assert stream.value.status == 200
        expect(watching.get_by_text("No comments yet"))
        wait_stream_ready(watching)  # the subscription is in place: the post below cannot be missed

        posting = writer.new_page()
        host_page(posting, live_server, news_site, "live-flow")
        expect(posting.get_by_text("No comments yet"))
        post_as_guest(posting, "Hello from the other tab", name="Bo")
        expect(posting.get_by_text("Your comment is published."))

        bar = expect(watching.get_by_role("button", name=re.compile("1 new comment")))
        assert watching.get_by_text("Hello from the other tab").count() == 0  # the page did not jump
        bar.click()
        expect(watching.get_by_text("Hello from the other tab"))
        assert errors == []
    finally:
        reader.close()
        writer.close()


def test_widget_keeps_working_when_the_live_stream_is_refused(live_server, context, news_site):
    page = context.new_page()
    errors = watch_console(page)
    page.route("**/events?**", lambda route: route.fulfill(status=503, content_type="application/problem+json",
                                                           body='{"code":"service_unavailable"}'))
    host_page(page, live_server, news_site, "no-live")
    expect(page.get_by_text("No comments yet"))
    post_as_guest(page, "Still works without live updates")
    expect(page.get_by_text("Your comment is published."))
    # the refused stream is the only error the browser itself reports
    assert all("events" in e or "503" in e for e in errors)


def test_toxic_draft_gets_the_nudge_before_anything_is_posted(live_server, context, news_site):
    page = context.new_page()
    host_page(page, live_server, news_site, "nudge-flow")
    expect(page.get_by_text("No comments yet"))
    with page.expect_response(lambda r: "/toxicity/check" in r.url) as checked:
        post_as_guest(page, "I know where you live. Watch your back.")  # held, not rejected: review is offered
    if checked.value.status == 404:
        pytest.fail("POST /api/v1/toxicity/check does not exist on this server yet")
    nudge = expect(page.get_by_role("alert"))
    assert "You can edit it or submit it for review" in nudge.inner_text()
    assert widget_comments(page).count() == 0
    nudge.get_by_role("button", name="Edit my comment").click()
    assert page.locator("#comments").get_by_label("Your comment").evaluate("e => e.matches(':focus')")
    page.locator("#comments .main-form").get_by_role("button", name="Post comment").click()
    expect(page.get_by_role("alert")).get_by_role("button", name="Submit for review").click()
    expect(page.locator("#comments .main-form .status:not(:empty)").filter(has_not_text="Posting"))


def test_held_comment_stays_visible_to_its_author_marked_awaiting_moderation(scoring_server, context, browser):
    site = scoring_server.create_site(NEWS)
    article = "premoderated"
    api_post(scoring_server, site, article, "Opening the thread")  # creates the article
    deadline = time.monotonic() + 30  # the worker's first decision waits for it to start
    while not httpx.get(f"{scoring_server.url}/api/v1/articles/{article}/comments", params={"site": site},
                        timeout=5).json()["comments"]:
        assert time.monotonic() < deadline, "the scoring worker did not publish a civil comment"
        time.sleep(0.5)
    scoring_server.moderate_article(site, article, premoderation=True)
    page = context.new_page()
    host_page(page, scoring_server, site, article)
    expect(page.get_by_text("Opening the thread"))
    post_as_guest(page, "Please moderate me kindly")
    expect(page.get_by_text(re.compile("awaiting moderation|being checked")))
    badge = widget_comments(page).filter(has_text="Please moderate me kindly").locator(".badge")
    expect(badge)
    deadline = time.monotonic() + 20
    while badge.inner_text() != "Awaiting moderation" and time.monotonic() < deadline:
        time.sleep(0.5)
        page.reload()
        badge = expect(widget_comments(page).filter(has_text="Please moderate me kindly").locator(".badge"))
    assert badge.inner_text() == "Awaiting moderation"

    other = browser.new_context()
    try:
        stranger = other.new_page()
        host_page(stranger, scoring_server, site, article)
        expect(stranger.get_by_text("Opening the thread"))
        assert stranger.get_by_text("Please moderate me kindly").count() == 0
    finally:
        other.close()


def test_closed_article_says_so_and_errors_show_help_and_reference(live_server, context, news_site):
    article = "closing"
    api_post(live_server, news_site, article, "Before the close")
    page = context.new_page()
    host_page(page, live_server, news_site, article)
    expect(page.get_by_text("Before the close"))
    # the widget looks again when the reader starts writing; the article closes after that look
    with page.expect_response(lambda r: "limit=1&replies=0" in r.url):
        page.locator("#comments .main-form").get_by_label("Your name").fill("Ana")
    live_server.moderate_article(news_site, article, comments_open=False)
    post_as_guest(page, "Too late?")
    status = expect(page.locator("#comments .main-form .status.error"))
    assert "closed" in status.inner_text().lower()
    assert re.search(r"Reference: [0-9a-f]{8,}", status.inner_text())
    page.reload()
    expect(page.get_by_text("Comments on this article are closed."))
    assert page.locator("#comments").get_by_label("Your comment").count() == 0


def test_banned_reader_sees_why_they_cannot_post(live_server, context, news_site):
    page = context.new_page()
    host_page(page, live_server, news_site, "banned-flow")
    expect(page.get_by_text("No comments yet"))
    post_as_guest(page, "Before the ban", name="Troll")
    expect(page.get_by_text("Your comment is published."))
    token = page.evaluate(f"localStorage.getItem('cs-guest:{news_site}')")
    user_id = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))["sub"]
    live_server.as_staff("POST", f"/api/v1/moderation/users/{user_id}/ban", news_site, {"duration_days": 1})
    post_as_guest(page, "After the ban")
    status = expect(page.locator("#comments .main-form .status.error"))
    assert "banned" in status.inner_text().lower()
    assert "Reference:" in status.inner_text()


def test_rate_limited_reader_is_told_when_to_retry(storage, database, context):
    from tests.support.browser import DemoServer

    server = DemoServer(storage, COMMENTS_RATE_LIMITS="post.user=0:1,post.ip=60:1,guest.ip=0:1").start()
    try:
        site = server.create_site(NEWS)
        page = context.new_page()
        host_page(page, server, site, "limited")
        expect(page.get_by_text("No comments yet"))
        post_as_guest(page, "One")
        expect(page.get_by_text("Your comment is published."))
        post_as_guest(page, "Two, too soon")
        status = expect(page.locator("#comments .main-form .status.error"))
        text = status.inner_text()
        # the per-IP posting limit (60 s) answered, not some other refusal, and the wait is given
        assert "Too many post requests" in text and re.search(r"try again in \d+ (seconds|minutes)", text)
        assert "Reference:" in text
        assert page.get_by_text("Two, too soon").count() == 0  # not in the thread...
        assert page.locator("#comments .main-form textarea").input_value() == "Two, too soon"  # ...kept to retry
    finally:
        server.stop()


def test_troubleshooter_answers_in_plain_language(live_server, context, news_site):
    page = context.new_page()
    host_page(page, live_server, news_site, "trouble")
    expect(page.get_by_text("No comments yet"))
    page.get_by_role("button", name="Having issues with commenting?").click()
    panel = expect(page.get_by_role("region", name="Commenting check"))
    checks = panel.locator("li.check")
    checks.first.wait_for()
    if page.get_by_text("The automatic check is not available").count():
        pytest.fail("GET /api/v1/troubleshoot does not exist on this server yet")
    text = panel.inner_text()
    assert "Your browser" in text  # the widget's own cookie and storage check, judged by the server
    assert checks.count() >= 3
    panel.get_by_label(re.compile("Describe the problem")).fill("My comment vanished")
    panel.get_by_role("button", name="Send report").click()
    expect(panel.get_by_text(re.compile("quote|reference", re.I)))


def test_count_script_fills_article_lists_with_one_request(live_server, context, news_site):
    api_post(live_server, news_site, "counted-a", "One")
    api_post(live_server, news_site, "counted-a", "Two")
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/counts" in r.url else None)
    doc = (f"<!doctype html><p><a>A</a> <span data-cs-count-article='counted-a'></span></p>"
           f"<p><a>B</a> <span data-cs-count-article='counted-b'></span></p>"
           f"<p><span data-cs-count-article='counted-a' data-cs-count-format='{{n}} reactions'></span></p>"
           f"<script src='{live_server.url}/count.js' data-site='{news_site}' async></script>")
    page.route(f"{NEWS}/**", lambda route: route.fulfill(status=200, content_type="text/html", body=doc))
    page.goto(f"{NEWS}/list")
    page.wait_for_function("() => document.querySelector('span').textContent !== ''")
    spans = page.locator("span[data-cs-count-article]")
    assert spans.all_inner_texts() == ["2 comments", "0 comments", "2 reactions"]
    assert len(requests) == 1


def test_styles_are_isolated_both_ways_and_theme_follows_the_host(live_server, browser, news_site):
    ctx = browser.new_context(color_scheme="dark")
    try:
        page = ctx.new_page()
        hostile = ("<style>*{color:rgb(255,0,0)!important;font-size:40px} .body,.c,button{display:none!important}"
                   "</style>")
        api_post(live_server, news_site, "styled", "Readable body")
        # a page drawn dark on a dark system (its color-scheme says it may be): the widget's auto theme too
        host_page(page, live_server, news_site, "styled",
                  extra_head=hostile + "<meta name='color-scheme' content='light dark'>",
                  extra_body="<div class='body' id='host-body'>host text</div>")
        body = expect(page.locator("#comments article.c .body").first)
        assert body.evaluate("e => getComputedStyle(e).color") != "rgb(255, 0, 0)"
        assert page.locator("#comments").get_by_role("button", name="Post comment").is_visible()
        # our class names do not style the host's elements
        assert page.locator("#host-body").evaluate("e => getComputedStyle(e).display") == "none"
        # auto shows the page's own background through, in the dark palette's colours
        dark = page.locator("#comments .cs textarea").evaluate("e => getComputedStyle(e).backgroundColor")
        page.evaluate("document.documentElement.dataset.theme = 'light'")
        page.wait_for_function("() => document.querySelector('#comments').getAttribute('data-theme') === 'light'")
        light = page.locator("#comments .cs").evaluate("e => getComputedStyle(e).backgroundColor")
        assert dark == "rgb(24, 25, 28)" and light == "rgb(255, 255, 255)"
    finally:
        ctx.close()


def test_controls_are_labelled_and_reachable_by_keyboard(live_server, context, news_site):
    api_post(live_server, news_site, "keyboard", "Someone else's comment")
    page = context.new_page()
    host_page(page, live_server, news_site, "keyboard")
    expect(page.get_by_text("Someone else's comment"))
    unlabelled = page.evaluate("""() => [...document.querySelector('#comments').shadowRoot
        .querySelectorAll('input, textarea, select, button')]
        .filter(e => !e.hidden && !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
            && !e.textContent.trim() && e.getAttribute('aria-hidden') !== 'true')
        .map(e => e.outerHTML)""")
    assert unlabelled == []  # (the guests' honeypot is hidden from assistive technology and out of the tab order)
    page.locator("#comments").get_by_label("Your name").focus()
    page.keyboard.type("Kai")
    page.keyboard.press("Tab")
    page.keyboard.type("Typed with the keyboard only")
    for _ in range(6):  # past the formatting help to the post button
        page.keyboard.press("Tab")
        if page.evaluate("document.querySelector('#comments').shadowRoot.activeElement.textContent") == "Post comment":
            break
    page.keyboard.press("Enter")
    expect(page.get_by_text("Your comment is published."))
    expect(widget_comments(page).filter(has_text="Typed with the keyboard only"))
