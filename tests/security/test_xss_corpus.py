"""Hostile content: every payload of tests/security/payloads/xss.txt (OWASP XSS Filter Evasion Cheat
Sheet, PayloadsAllTheThings and markdown-specific vectors; sources and licences in the file's header)
goes through post, edit and read, on a site that allows images (more markup survives) and on one that
does not. Every stored (comments.body_html) and served HTML (POST/PATCH answers, the thread page) is
parsed by tests.support.html.unsafe_parts: no script, no event handler, no dangerous URL scheme.

The browser test renders the worst payloads (marked "!") in the /demo widget in Chromium with a
``window.__xss`` flag and alert/confirm/prompt/dialog traps, and checks that nothing ran.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import httpx
import pytest

from tests.support.html import unsafe_parts
from tests.support.servers import ServiceProcess
from tests.support.sites import NEWS_ORIGIN, article_body, make_site

CORPUS = Path(__file__).parent / "payloads" / "xss.txt"


def load_corpus() -> list[tuple[str, bool]]:
    payloads = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        worst = line.startswith("!")
        payloads.append(((line[1:] if worst else line).replace("⏎", "\n"), worst))
    return payloads


PAYLOADS = load_corpus()


@pytest.fixture(scope="module")
async def xss_sites(services, database):
    from comments_service.db.pool import connect

    conn = await connect(database)
    try:
        return {"images": await make_site(services, conn, images=True),
                "plain": await make_site(services, conn, images=False)}
    finally:
        await conn.close()


def assert_safe(html: str, where: str, payload: str) -> None:
    problems = unsafe_parts(html)
    assert not problems, f"{where}: {problems} in {html!r} from payload {payload!r}"


def test_corpus_is_large_and_covers_every_family():
    text = "\n".join(p for p, _ in PAYLOADS).lower()
    assert len(PAYLOADS) >= 120
    for needle in ("javascript:", "data:", "vbscript:", "onerror", "<svg", "&#", "jav&#x09;", "javascript",
                   "![", "](", "ｊａｖａｓｃｒｉｐｔ"):
        assert needle in text, needle
    assert sum(worst for _, worst in PAYLOADS) >= 10


@pytest.mark.parametrize("kind", ["images", "plain"])
@pytest.mark.parametrize("index", range(len(PAYLOADS)))
async def test_payload_post_edit_read(client, db, xss_sites, kind, index):
    payload, _ = PAYLOADS[index]
    site = xss_sites[kind]
    headers = site.auth(site.sso_token(sub="xss-author", name="XSS Author"))
    article = f"xss-{index % 7}"
    resp = await client.post(f"/api/v1/articles/{article}/comments", params=site.q(),
                             json=article_body(payload), headers=headers)
    assert resp.status_code == 201, resp.text
    comment = resp.json()["comment"]
    assert_safe(comment["body_html"], "POST answer", payload)
    stored = await db.fetchval("SELECT body_html FROM comments WHERE id = $1", comment["id"])
    assert_safe(stored, "stored after post", payload)

    # the edit puts the payload in nested contexts (quote, list item, emphasis)
    edited_text = f"> {payload}\n\n- *{payload}*\n\n{payload}"
    resp = await client.patch(f"/api/v1/comments/{comment['id']}", params=site.q(),
                              json={"body": edited_text}, headers=headers)
    assert resp.status_code == 200, resp.text
    assert_safe(resp.json()["body_html"], "PATCH answer", payload)
    stored = await db.fetchval("SELECT body_html FROM comments WHERE id = $1", comment["id"])
    assert_safe(stored, "stored after edit", payload)

    resp = await client.get(f"/api/v1/articles/{article}/comments", params=site.q(limit=100))
    assert resp.status_code == 200
    served = [c for c in resp.json()["comments"] if c["id"] == comment["id"]]
    assert served, "the edited comment is on the thread page"
    for c in resp.json()["comments"]:
        assert_safe(c["body_html"], "thread page", payload)


INIT_TRAPS = """
window.__xss = 0;
window.__dialogs = 0;
for (const name of ['alert', 'confirm', 'prompt']) {
  window[name] = function () { window.__xss = (window.__xss || 0) + 1; window.__dialogs++; return ''; };
}
"""

COLLECT = """
() => {
  const host = document.getElementById('comments');
  const root = host && host.shadowRoot;
  if (!root) return {ready: false};
  const bodies = root.querySelectorAll('.cs-body, [class*="body"]');
  const all = root.querySelectorAll('*');
  const bad = [];
  for (const el of all) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      const value = attr.value.replace(/[\\u0000-\\u0020]/g, '').toLowerCase();
      if (name.startsWith('on')) bad.push(el.tagName + ' ' + name);
      if (['href', 'src', 'xlink:href', 'action', 'formaction'].includes(name)
          && /^(javascript|vbscript|data|livescript):/.test(value)) bad.push(el.tagName + ' ' + name + '=' + value);
    }
    if (['SCRIPT', 'IFRAME', 'OBJECT', 'EMBED', 'SVG', 'MATH'].includes(el.tagName.toUpperCase())) bad.push(el.tagName);
  }
  return {ready: true, text: root.textContent, bad, bodies: bodies.length, xss: window.__xss};
}
"""


@pytest.fixture(scope="module")
def demo_server(storage):
    """`serve` with the demo page (the host page the widget is loaded into here)."""
    with ServiceProcess(storage.env(COMMENTS_DEMO="true")) as server:
        yield server


@pytest.mark.browser
async def test_worst_payloads_run_no_script_in_the_widget(services, database, demo_server):
    live_server = demo_server
    from playwright.async_api import async_playwright

    from comments_service.db.pool import connect
    from comments_service.demo.seed import ARTICLE_ID, SITE_ID

    worst = [p for p, w in PAYLOADS if w]
    conn = await connect(database)
    try:
        await services.sites.save(conn, site_id=SITE_ID, name="Demo", origins=[live_server.url, NEWS_ORIGIN],
                                  sso_secret=None, guests=True, allow_images=True)
    finally:
        await conn.close()
    marker = "xss-marker-first"
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        guest = None
        for payload in [marker, *worst]:
            headers = {"Authorization": f"Bearer {guest}"} if guest else {}
            r = await http.post(f"/api/v1/articles/{ARTICLE_ID}/comments", params={"site": SITE_ID},
                                json=article_body(payload, author_name="Mallory"), headers=headers)
            assert r.status_code == 201, r.text
            guest = guest or r.json()["guest_token"]

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"])
        try:
            page = await browser.new_page()
            dialogs: list[str] = []
            page.on("dialog", lambda d: (dialogs.append(d.message), asyncio.ensure_future(d.dismiss())))
            await page.add_init_script(INIT_TRAPS)
            # nothing may leave 127.0.0.1 (payload images point at *.example)
            await page.route("**/*", lambda route: asyncio.ensure_future(
                route.continue_() if route.request.url.startswith(live_server.url) else route.abort()))
            await page.goto(live_server.url + "/demo")
            state = {}
            for _ in range(100):
                state = await page.evaluate(COLLECT)
                if state.get("ready") and marker in (state.get("text") or ""):
                    break
                await asyncio.sleep(0.1)
            assert marker in (state.get("text") or ""), f"the widget did not render the comments: {state}"
            more = page.get_by_text("Load more comments")
            if await more.count():
                await more.first.click()
            for _ in range(50):
                state = await page.evaluate(COLLECT)
                if worst[-1][:20] in state["text"] or state["bodies"] >= len(worst) + 1:
                    break
                await asyncio.sleep(0.1)
            assert state["bodies"] >= len(worst) + 1, state
            # hover and click everything the payloads might have left clickable, then let errors fire
            anchors = page.locator("#comments a, #comments img")
            for i in range(min(await anchors.count(), 60)):
                with contextlib.suppress(Exception):
                    await anchors.nth(i).hover(timeout=500)
            await asyncio.sleep(1.0)
            state = await page.evaluate(COLLECT)
            assert state["bad"] == [], state["bad"]
            assert state["xss"] == 0 and not dialogs, (state["xss"], dialogs)
        finally:
            await browser.close()
