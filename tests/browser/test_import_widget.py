"""After `comments-service import` of a Disqus export into the demo site, the demo article's widget shows
the imported threads as a reader should see them: replies under their parents however the file ordered
them, RTL text and emoji intact, a deleted comment with replies as a tombstone, no spam, and a script
payload as inert text. The page was open before the import, so the cache must follow without a restart.

The demo runs on a database of its own: the shared one's demo article has the five seeded comments
other tests count."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from comments_service.demo.seed import ARTICLE_ID, ARTICLE_TITLE, COMMENTS, SITE_ID
from tests.support.browser import DemoServer, expect, watch_console
from tests.support.imports import Post, Thread, disqus_xml
from tests.support.servers import run_cli

pytestmark = pytest.mark.browser

ARABIC = "شكرا على هذا التقرير المفصل 🌍"
# what a reader sees of each thread: (author, body text, deleted, replies)
IMPORTED_SHAPE = [
    ("Ann", "The crossing at Ishkashim was busy all spring.", False, [
        ("Bea", "Only on market days, in my experience.", False, [
            ("Cyrus", "Market days are Saturdays now.", False, []),
        ]),
    ]),
    ("Layla", ARABIC, False, []),
    ("", "This comment was deleted.", True, [
        ("Dana", "What did they say?", False, []),
    ]),
]
IMPORTED_VISIBLE = 6  # published: three in the first thread, the Arabic one, the tombstone's reply, the payload


def _in_thread(make) -> str:
    # sync Playwright keeps an event loop in this thread
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


@pytest.fixture(scope="module")
def import_demo(storage, database: str) -> Iterator[DemoServer]:
    name = storage.database + "_import_demo"
    url = _in_thread(lambda: storage.create_database(name))
    server = DemoServer(storage, COMMENTS_DATABASE_URL=url, COMMENTS_REDIS_PREFIX=storage.redis_prefix + "import:")
    try:
        server.start()
        yield server
    finally:
        server.stop()
        _in_thread(lambda: storage.drop_database(name))


def demo_export(server: DemoServer) -> str:
    """The demo article's thread as Disqus would export it, every reply listed before its parent."""
    t = "9001"
    posts = [
        Post(id="12", thread=t, parent="11", message="<p>Market days are Saturdays now.</p>", name="Cyrus",
             created="2024-05-01T10:10:00Z"),
        Post(id="11", thread=t, parent="10", message="<p>Only on market days, in my experience.</p>", name="Bea",
             created="2024-05-01T10:05:00Z"),
        Post(id="10", thread=t, message="<p>The crossing at <b>Ishkashim</b> was busy all spring.</p>", name="Ann",
             created="2024-05-01T10:00:00Z"),
        Post(id="20", thread=t, message=f"<p>{ARABIC}</p>", name="Layla", created="2024-05-01T11:00:00Z"),
        Post(id="31", thread=t, parent="30", message="<p>What did they say?</p>", name="Dana",
             created="2024-05-01T12:05:00Z"),
        Post(id="30", thread=t, message="<p>Something its author took back.</p>", name="Eli", deleted=True,
             created="2024-05-01T12:00:00Z"),
        Post(id="40", thread=t, message="<p>Buy cheap watches at spam.example</p>", name="Spammer", spam=True,
             created="2024-05-01T12:30:00Z"),
        Post(id="50", thread=t, name="Mallory", created="2024-05-01T13:00:00Z",
             message="<script>alert('xss-script')</script><p>Look <img src=x onerror=\"alert('xss-img')\"> here: "
                     "<code>&lt;script&gt;alert(1)&lt;/script&gt;</code></p>"),
    ]
    return disqus_xml([Thread(id=t, ident=ARTICLE_ID, link=f"{server.url}/demo", title=ARTICLE_TITLE, posts=posts)])


# Each comment of the widget's list as (author, body text, deleted, replies), read from its own markup:
# a reply is an article.c in its parent's `.replies`.
SHAPE = """() => {
  const shape = (el) => [
    el.querySelector(':scope > header .author').textContent,
    el.querySelector(':scope > .body').innerText.trim(),
    el.classList.contains('deleted'),
    [...el.querySelectorAll(':scope > .replies > article.c')].map(shape)];
  return [...document.querySelector('#comments').shadowRoot.querySelectorAll('.list > article.c')].map(shape);
}"""


RIGHT_TO_LEFT = """(p) => {
  const text = p.firstChild, range = document.createRange();
  const left = (i) => {
    range.setStart(text, i);
    range.setEnd(text, i + 1);
    return range.getBoundingClientRect().left;
  };
  return left(0) > left(3);
}"""


def as_tuples(shape: list) -> list:
    return [(a, text, deleted, as_tuples(replies)) for a, text, deleted, replies in shape]


def test_the_demo_widget_shows_an_imported_disqus_thread_in_its_shape(import_demo, context, tmp_path: Path):
    page = context.new_page()
    errors = watch_console(page)
    dialogs: list[str] = []

    def on_dialog(dialog) -> None:  # an alert() that ran: the payload executed
        dialogs.append(dialog.message)
        dialog.dismiss()
    page.on("dialog", on_dialog)
    seeded = len(COMMENTS)

    # the article is read (and cached) before the import
    page.goto(import_demo.url + "/demo")
    expect(page.get_by_text("Good reporting."), 20_000)
    assert page.locator("#comments h2").inner_text() == f"{seeded} comments"

    export = tmp_path / "disqus.xml"
    export.write_text(demo_export(import_demo), encoding="utf-8")
    try:
        run_cli(import_demo.env, "import", "--site", SITE_ID, str(export))
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"import failed ({exc.returncode}):\n{exc.stdout}\n{exc.stderr}")

    page.reload()
    expect(page.get_by_text("Market days are Saturdays now."), 20_000)
    page.screenshot(path=str(tmp_path / "imported-thread.png"), full_page=True)

    assert page.locator("#comments h2").inner_text() == f"{seeded + IMPORTED_VISIBLE} comments"
    shape = as_tuples(page.evaluate(SHAPE))
    # oldest first: the imported threads (2024) come before the demo's own comments
    assert shape[:3] == IMPORTED_SHAPE
    payload = shape[3]
    assert payload[0] == "Mallory" and payload[3] == []
    assert "Look" in payload[1] and "here: <script>alert(1)</script>" in payload[1], payload[1]
    assert [author for author, *_ in shape[4:]] == [c.author for c in COMMENTS if c.parent is None]
    assert "Spammer" not in [a for a, *_ in shape] and page.get_by_text("spam.example").count() == 0

    # the replies are indented by depth, as the widget nests them
    assert page.locator("#comments article.c", has_text="Market days are Saturdays now.").last \
        .get_attribute("data-depth") == "2"
    # the payload is text: no script element, no handler attribute in the widget
    markup = page.evaluate("() => document.querySelector('#comments').shadowRoot.innerHTML")
    assert "<script" not in markup and "onerror" not in markup
    # the Arabic text (exact, emoji and all, in the shape above) is laid out right to left: its first
    # letter stands to the right of its fourth
    arabic = page.locator("#comments article.c .body p", has_text=ARABIC)
    assert arabic.evaluate(RIGHT_TO_LEFT), "the Arabic comment is not laid out right to left"

    page.wait_for_timeout(500)  # an onerror handler would have fired by now
    assert dialogs == [] and errors == [], (dialogs, errors)
