"""The widget in the reader's language, in headless Chromium against the running service: Russian and
Arabic (right to left) on a news page, posting into a premoderated thread, the held outcome and the
troubleshooter; the language chosen from the script tag, the page's <html lang>, or English when the
page asks for one the widget lacks. Screenshots are kept in the test artefacts."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import pytest

from tests.support.browser import NEWS, expect, host_page, watch_console, widget_comments

pytestmark = pytest.mark.browser

LOCALES = Path(__file__).resolve().parents[2] / "comments_service" / "widget" / "locales"
ENGLISH = json.loads((LOCALES / "en.json").read_text(encoding="utf-8"))
# letters of the language's script: a text in it has some
SCRIPT = {"ru": re.compile("[А-Яа-яЁё]"), "uk": re.compile("[А-Яа-яЇїІіЄєҐґ]"), "ar": re.compile("[\u0621-\u064a]")}
# the widget's own words a reader of this thread sees (buttons, labels, the heading's noun): none may
# be left in English
SEEN = ("sort", "oldest", "reply", "post", "yourComment", "yourName", "flag", "dsa", "issues", "help", "up")
# the thread: two comments and a reply, in the reader's language
THREAD = {"ru": ("Спасибо за подробный репортаж с границы.", "Мой брат живёт в Хороге, там спокойно.",
                 "Рад слышать, берегите себя."),
          "ar": ("شكرًا على هذا التقرير المفصل من الحدود.", "أخي يعيش في خاروغ والوضع هادئ هناك.",
                 "يسعدني سماع ذلك، اعتنوا بأنفسكم.")}
MINE = {"ru": "Хотелось бы больше подробностей о гуманитарной помощи.",
        "ar": "أتمنى المزيد من التفاصيل عن المساعدات الإنسانية."}


def locale(code: str) -> dict:
    return json.loads((LOCALES / f"{code}.json").read_text(encoding="utf-8"))


def seed(server, site: str, article: str, body: str, parent_id: int | None = None) -> int:
    payload: dict = {"body": body, "article_url": f"{NEWS}/{article}", "article_title": f"Article {article}",
                     "author_name": "Seeder"}
    if parent_id:
        payload["parent_id"] = parent_id
    response = httpx.post(f"{server.url}/api/v1/articles/{article}/comments", params={"site": site}, json=payload,
                          timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["comment"]["id"]


def wait_published(server, site: str, article: str, count: int) -> None:
    deadline = time.monotonic() + 30  # the worker's first decisions wait for it to start
    while httpx.get(f"{server.url}/api/v1/articles/{article}/comments", params={"site": site},
                    timeout=5).json()["article"]["comment_count"] < count:
        assert time.monotonic() < deadline, "the scoring worker did not publish the civil comments"
        time.sleep(0.5)


def english_left(text: str) -> list[str]:
    return [ENGLISH[k] for k in SEEN if ENGLISH[k] in text]


@pytest.mark.parametrize(("code", "attrs"), [("ru", 'data-lang="ru-RU"'), ("ar", 'lang="ar"')])
def test_reader_posts_and_checks_in_their_language(scoring_server, context, artifacts, code, attrs):
    words = locale(code)
    site = scoring_server.create_site(NEWS)
    article = f"border-{code}"
    first = seed(scoring_server, site, article, THREAD[code][0])
    seed(scoring_server, site, article, THREAD[code][1])
    wait_published(scoring_server, site, article, 2)  # a reply needs its parent published
    seed(scoring_server, site, article, THREAD[code][2], parent_id=first)
    wait_published(scoring_server, site, article, 3)
    scoring_server.moderate_article(site, article, premoderation=True)

    page = context.new_page()
    errors = watch_console(page)
    api_calls: list[str] = []
    page.on("request", lambda r: api_calls.append(r.url) if "/api/v1/" in r.url else None)
    host_page(page, scoring_server, site, article, attrs=attrs)
    expect(page.get_by_text(THREAD[code][2]))

    root = page.locator("#comments section.cs")
    assert root.get_attribute("lang") == code
    assert root.get_attribute("dir") == ("rtl" if code == "ar" else "ltr")
    # three comments: Russian "few" (3 комментария), Arabic "few" (٣ تعليقات), in the language's digits
    three = page.evaluate("([n, l]) => n.toLocaleString(l)", [3, code])
    assert page.locator("#comments h2").inner_text() == words["heading"]["few"].replace("{n}", three)

    # the reply indents from the start of the line: the right in Arabic, the left in Russian
    parent = widget_comments(page).filter(has_text=THREAD[code][0]).first
    reply = parent.locator(".replies article.c").first
    outer, inner = parent.bounding_box(), reply.bounding_box()
    assert outer and inner
    if code == "ar":
        assert inner["x"] + inner["width"] < outer["x"] + outer["width"] - 15
        assert abs(inner["x"] - outer["x"]) < 2
        title, bar = page.locator("#comments h2").bounding_box(), page.locator("#comments .bar").bounding_box()
        assert title and bar and abs(title["x"] + title["width"] - (bar["x"] + bar["width"])) < 2  # starts right
    else:
        assert inner["x"] > outer["x"] + 15
        assert abs(inner["x"] + inner["width"] - (outer["x"] + outer["width"])) < 2

    # posting into a premoderated thread: the held outcome, and the comment marked for its author only
    form = page.locator("#comments .main-form form")
    form.get_by_label(words["yourName"]).fill("Нодира" if code == "ru" else "نادية")
    form.get_by_label(words["yourComment"]).fill(MINE[code])
    form.get_by_role("button", name=words["post"]).click()
    status = expect(form.locator(".status.info"), 20_000)
    outcome = status.inner_text()
    assert SCRIPT[code].search(outcome) and "moderat" not in outcome.lower(), outcome
    mine = expect(widget_comments(page).filter(has_text=MINE[code]))
    badge = mine.locator(".badge").inner_text()
    assert badge in (words["pending"], words["checking"]), badge
    assert page.locator("#comments h2").inner_text() == words["heading"]["few"].replace("{n}", three)
    page.screenshot(path=str(artifacts / f"widget-{code}.png"), full_page=True)

    # the troubleshooter, from dialogs.js, in the same language
    page.get_by_role("button", name=words["issues"]).click()
    panel = expect(page.get_by_role("region", name=words["issuesTitle"]))
    panel.locator("li.check").first.wait_for()
    labels = set(panel.locator(".st").all_inner_texts())
    assert labels and labels <= {words[k] for k in ("ok", "warn", "fail", "info")}, labels
    expect(panel.get_by_label(words["report"]))
    panel.locator("li.check").last.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / f"widget-{code}-troubleshooter.png"), full_page=True)

    text = page.locator("#comments").inner_text()
    assert english_left(text) == [], english_left(text)
    # every call whose answer a reader may read tells the service the reader's language (the guests'
    # proof of work and the live stream carry no words)
    told = [url for url in api_calls if not re.search(r"/challenge\?|/events\?", url)]
    assert told and all(f"lang={code}" in url for url in told), told
    assert errors == []


def test_the_pages_own_language_and_a_language_the_widget_lacks(live_server, context):
    site = live_server.create_site(NEWS)
    page = context.new_page()
    errors = watch_console(page)
    locales: list[str] = []
    page.on("request", lambda r: locales.append(r.url) if "/locales/" in r.url else None)
    snippet = (f'<div id="comments"></div><script src="{live_server.url}/embed.js" async data-site="{site}" '
               'data-article-id="page-lang" data-article-title="Стаття"></script>')
    page.route(f"{NEWS}/**", lambda route: route.fulfill(
        status=200, content_type="text/html",
        body=f"<!doctype html><html lang='uk-UA'><head><meta charset='utf-8'></head><body>{snippet}</body></html>"))
    page.goto(f"{NEWS}/page-lang")
    words = locale("uk")
    expect(page.get_by_text(words["empty"]))
    assert page.locator("#comments section.cs").get_attribute("dir") == "ltr"
    assert locales == [f"{live_server.url}/locales/uk.json"]

    # an unknown language: English, built in, nothing fetched, nothing in the console
    locales.clear()
    host_page(page, live_server, site, "page-lang", attrs='data-lang="xx-Latn"')
    expect(page.get_by_text(ENGLISH["empty"]))
    assert page.locator("#comments section.cs").get_attribute("lang") == "en"
    assert locales == []
    assert errors == []


def test_the_sites_default_for_a_reader_whose_languages_the_widget_lacks(live_server, browser):
    """A Tajik reader (browser in Tajik, page without a language) on a site whose default is Russian
    reads the widget in Russian; on a site without a default, in English. A page language the widget
    lacks is passed over for the next in line, here the browser's."""
    russian = live_server.create_site(NEWS, settings={"default_language": "ru"})
    plain = live_server.create_site(NEWS)
    ctx = browser.new_context(viewport={"width": 1000, "height": 900}, locale="tg-TJ")
    try:
        page = ctx.new_page()
        errors = watch_console(page)
        assert page.evaluate("navigator.languages") == ["tg-TJ"]
        host_page(page, live_server, russian, "default-lang", lang="tg")
        expect(page.get_by_text(locale("ru")["empty"]))
        assert page.locator("#comments section.cs").get_attribute("lang") == "ru"

        host_page(page, live_server, plain, "default-lang", lang="tg")
        expect(page.get_by_text(ENGLISH["empty"]))
        assert page.locator("#comments section.cs").get_attribute("lang") == "en"
        assert errors == []
    finally:
        ctx.close()

    # the page's language the widget lacks (data-lang="tg"), then the page's own <html lang="uk">
    ctx = browser.new_context(viewport={"width": 1000, "height": 900}, locale="tg-TJ")
    try:
        page = ctx.new_page()
        host_page(page, live_server, russian, "default-lang", attrs='data-lang="tg"', lang="uk")
        expect(page.get_by_text(locale("uk")["empty"]))
    finally:
        ctx.close()


@pytest.mark.parametrize("code", ["ru", "ar"])
def test_the_demo_article_in_russian_and_in_arabic(live_server, context, artifacts, code):
    """The demo article (the border story) with its widget embedded in the reader's language, as its
    "Comments in:" links offer: the widget's words in that language, right to left in Arabic."""
    words = locale(code)
    page = context.new_page()
    errors = watch_console(page)
    page.goto(f"{live_server.url}/demo")
    page.get_by_role("link", name={"ru": "Русский", "ar": "العربية"}[code]).click()
    root = page.locator("#comments section.cs")
    expect(root)
    assert root.get_attribute("lang") == code and root.get_attribute("dir") == ("rtl" if code == "ar" else "ltr")
    expect(page.get_by_role("button", name=words["issues"]))
    form = page.locator("#comments .main-form form")
    expect(form.get_by_role("button", name=words["post"]))
    assert SCRIPT[code].search(page.locator("#comments h2").inner_text())
    if code == "ar":  # the form's button sits at the start of the line: the right
        button, box = form.get_by_role("button", name=words["post"]).bounding_box(), form.bounding_box()
        assert button and box and abs(button["x"] + button["width"] - (box["x"] + box["width"])) < 2
    text = page.locator("#comments").inner_text()
    assert english_left(text) == [], english_left(text)
    page.screenshot(path=str(artifacts / f"demo-{code}.png"), full_page=True)
    assert errors == []
