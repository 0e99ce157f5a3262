"""Guests' proof of work in headless Chromium: the widget solves the challenge by itself when a
guest writes and posts (challenge.js, fetched only then), and a script on the page that posts
without a solution, or fills the invisible field, is refused. A service of its own with the
challenge on (the test env switches it off)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from comments_service.domain import challenges
from comments_service.identity import Keyring
from tests.support.browser import NEWS, DemoServer, expect, host_page, post_as_guest, watch_console, widget_comments
from tests.support.storage import TestStorage

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def pow_server(storage: TestStorage, database: str) -> Iterator[DemoServer]:
    server = DemoServer(storage, COMMENTS_GUEST_CHALLENGE="on").start()
    yield server
    server.stop()


def test_a_guest_posts_with_the_challenge_solved_by_the_widget(pow_server, context, artifacts):
    site = pow_server.create_site(NEWS)
    page = context.new_page()
    errors = watch_console(page)
    scripts: list[str] = []
    page.on("request", lambda r: scripts.append(r.url) if r.resource_type == "script" else None)
    host_page(page, pow_server, site, "pow-guest")
    expect(page.locator("#comments .main-form form").get_by_label("Your comment"))
    assert not any(url.endswith("/challenge.js") for url in scripts), "readers never download the solver"

    posts = []
    page.on("request", lambda r: posts.append(r.post_data_json) if r.method == "POST" and r.url.split("?")[0]
            .endswith("/comments") else None)
    with page.expect_response(lambda r: r.request.method == "POST" and "/articles/pow-guest/comments" in r.url,
                              timeout=30_000) as answered:
        post_as_guest(page, "A guest's comment, posted after a proof of work.")
    assert answered.value.status == 201, answered.value.text()
    expect(widget_comments(page).filter(has_text="posted after a proof of work"))
    assert any(url.endswith("/challenge.js") for url in scripts)
    assert posts and posts[0]["challenge"] and "website" not in posts[0]
    solve_ms = page.evaluate("() => window.commentsServiceSolveMs")
    print(f"\nwidget solve time: {solve_ms} ms")
    assert isinstance(solve_ms, int | float) and solve_ms < 5000
    # the invisible field is there for bots, out of sight and out of reach of people
    trap = page.locator("#comments .main-form input.hp")
    assert trap.get_attribute("tabindex") == "-1" and trap.get_attribute("aria-hidden") == "true"
    assert trap.get_attribute("autocomplete") == "off"
    box = trap.bounding_box()
    assert box is None or box["x"] + box["width"] <= 0
    page.screenshot(path=str(artifacts / "guest-challenge.png"), full_page=True)
    assert errors == []


def test_a_script_posting_without_a_solution_is_refused(pow_server, context):
    site = pow_server.create_site(NEWS)
    page = context.new_page()
    host_page(page, pow_server, site, "pow-script")
    expect(page.locator("#comments .main-form form").get_by_label("Your comment"))
    url = f"{pow_server.url}/api/v1/articles/pow-script/comments?site={site}"
    answer = page.evaluate("""async (url) => {
        const r = await fetch(url, {method: 'POST', headers: {'Content-Type': 'application/json'},
          body: JSON.stringify({body: 'Cheap pills', author_name: 'Bot', article_url: location.href,
                                article_title: 'Article'})});
        return [r.status, (await r.json()).code]; }""", url)
    assert answer == [400, "challenge_required"]

    # a bot driving the widget's form fills every field it finds, the invisible one too
    form = page.locator("#comments .main-form form")
    form.locator("input.hp").evaluate("(el) => { el.value = 'https://pills.example'; }")
    with page.expect_response(lambda r: r.request.method == "POST" and "/articles/pow-script/comments" in r.url,
                              timeout=30_000) as answered:
        post_as_guest(page, "Cheap pills here")
    assert answered.value.status == 400
    expect(form.locator(".status.error"))
    assert widget_comments(page).count() == 0


def test_a_long_solve_tells_the_reader_it_is_checking(pow_server, context):
    """A hard challenge keeps the reader waiting past 300 ms: the form says why. The challenge is made
    with the service's key, so the post counts. Its answer is the last number of 3,000,000 (beyond
    what a busy network gets), so the solve, started at the first keystroke, is still running when
    Post is pressed however fast the machine types and hashes."""
    site = pow_server.create_site(NEWS)
    key = Keyring(pow_server.secret_key).derived_keys("guest-challenge")[0]
    hard = challenges.make(key, site, now=int(time.time()), ttl_seconds=600, maxnumber=3_000_000, number=3_000_000,
                           network=challenges.network_of("127.0.0.1"))  # the browser's
    page = context.new_page()
    page.route(f"{pow_server.url}/api/v1/challenge?*", lambda route: route.fulfill(
        status=200, content_type="application/json", headers={"Access-Control-Allow-Origin": NEWS},
        body=json.dumps({f: getattr(hard, f) for f in hard.__struct_fields__})))
    host_page(page, pow_server, site, "pow-slow")
    expect(page.locator("#comments .main-form form").get_by_label("Your comment"))
    page.evaluate("""() => { window.said = [];
        const root = document.getElementById('comments').shadowRoot;
        new MutationObserver(() => root.querySelectorAll('.status').forEach((s) => window.said.push(s.textContent)))
          .observe(root, {subtree: true, childList: true, characterData: true}); }""")
    with page.expect_response(lambda r: r.request.method == "POST" and "/articles/pow-slow/comments" in r.url,
                              timeout=60_000) as answered:
        post_as_guest(page, "Posted after a long check.", timeout=60_000)
    assert answered.value.status == 201, answered.value.text()
    solve_ms = page.evaluate("() => window.commentsServiceSolveMs")
    print(f"\nwidget solve time at 3,000,000: {solve_ms} ms")
    said = page.evaluate("() => window.said")
    assert any("not a bot" in text for text in said), said
    expect(widget_comments(page).filter(has_text="Posted after a long check."))
