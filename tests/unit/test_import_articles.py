"""Which article an imported thread goes to, by the operator's rule."""

from __future__ import annotations

import pytest

from comments_service.domain.import_articles import ArticleRule, ArticleRuleError, MappedThread, Unmapped

ORIGINS = ["https://news.example"]


def test_the_identifier_names_the_article_and_the_url_is_kept_on_the_site() -> None:
    mapped = ArticleRule("identifier", None, ORIGINS).map("story-1", "https://news.example/a/b?x=1", "Title", False)
    assert mapped == MappedThread(external_id="story-1", url="https://news.example/a/b?x=1", title="Title",
                                  closed=False)


def test_without_an_identifier_the_path_names_it_and_the_report_can_say_so() -> None:
    mapped = ArticleRule("identifier", None, ORIGINS).map(" ", "https://news.example/2026/11/slug/", "T", True)
    assert isinstance(mapped, MappedThread)
    assert (mapped.external_id, mapped.by_url_fallback, mapped.closed) == ("/2026/11/slug", True, True)


def test_a_pattern_takes_its_first_group_and_a_miss_is_reported() -> None:
    rule = ArticleRule("url", r"/(\d{4}/\d\d/[^/]+)", ORIGINS)
    mapped = rule.map("ignored", "https://news.example/2026/11/troops-return/?utm=x", "T", False)
    assert isinstance(mapped, MappedThread) and mapped.external_id == "2026/11/troops-return"
    missed = rule.map(None, "https://news.example/about", "T", False)
    assert isinstance(missed, Unmapped) and missed.reason == "url_pattern_no_match"


def test_another_host_is_reported_and_stored_on_the_sites_origin() -> None:
    mapped = ArticleRule("url", None, ORIGINS).map(None, "http://old.example:8080/a/b", "T", False)
    assert isinstance(mapped, MappedThread)
    assert mapped.other_host and mapped.url == "https://news.example/a/b" and mapped.external_id == "/a/b"


def test_titles_lose_control_and_direction_characters_and_default_to_the_id() -> None:
    rule = ArticleRule("identifier", None, ORIGINS)
    mapped = rule.map("x", None, "Bad\u202etitle\x07", False)
    assert isinstance(mapped, MappedThread) and mapped.title == "Badtitle"
    assert isinstance(untitled := rule.map("x", None, None, False), MappedThread) and untitled.title == "x"


def test_ids_the_site_could_not_hold_are_refused() -> None:
    rule = ArticleRule("identifier", None, ORIGINS)
    assert isinstance(rule.map("x" * 201, None, None, False), Unmapped)
    assert isinstance(rule.map(None, "javascript:alert(1)", None, False), Unmapped)


@pytest.mark.parametrize("pattern", ["(", "/no-group/"])
def test_a_pattern_that_cannot_name_an_article_is_refused_at_once(pattern: str) -> None:
    with pytest.raises(ArticleRuleError):
        ArticleRule("url", pattern, ORIGINS)


def test_a_pathological_pattern_stays_linear() -> None:
    # a backtracking engine takes exponential time on this; RE2 answers at once
    rule = ArticleRule("url", r"/((a+)+)b", ORIGINS)
    assert isinstance(rule.map(None, "https://news.example/" + "a" * 5000, None, False), Unmapped)
