"""A comment's links: extraction from markdown text and rendered HTML, host normalisation (IDNA,
look-alike letters), raw IP hosts, URL shorteners, subdomain matching, and bounded work."""

from __future__ import annotations

import time

import pytest

from comments_service.domain.links import (
    MAX_LINKS,
    domain_problem,
    extract_links,
    in_domains,
    is_ip_host,
    normalise_domain,
    skeleton,
)


def hosts(text: str, html: str | None = None) -> list[str]:
    return [link.host for link in extract_links(text, html)]


def test_links_in_markdown_autolinks_and_bare_urls():
    text = ("See [the report](https://News.BBC.co.uk./world?id=1), <https://example.org/a> and "
            "http://gov.uk/guidance. Also www.casino-win.net and bit.ly/3xYz, or cheap-pills.com!")
    assert hosts(text) == ["news.bbc.co.uk", "example.org", "gov.uk", "www.casino-win.net", "bit.ly",
                           "cheap-pills.com"]


def test_prose_with_dots_is_no_link():
    assert hosts("E.g. Node.js 3.14 and i.e. the U.S. economy... fine.no") == []


def test_hrefs_of_rendered_html_are_links_too_and_mailto_is_not():
    html = ('<p><a href="https://foo.org/x?a=1&amp;b=2" rel="nofollow">here</a> '
            '<a href="mailto:ed@example.com">mail</a></p>')
    links = extract_links("here mail", html)
    assert [(link.url, link.host) for link in links] == [("https://foo.org/x?a=1&b=2", "foo.org")]


def test_user_info_port_and_trailing_punctuation_are_not_the_host():
    assert hosts("(go to http://admin:pw@shop.example.com:8443/x).") == ["shop.example.com"]


def test_punycode_hosts_are_decoded_and_broken_punycode_is_kept():
    assert hosts("http://xn--bcher-kva.de/") == ["bücher.de"]
    assert hosts("http://xn--a.xn--bcher-kva.com/") == ["xn--a.bücher.com"]


def test_cyrillic_and_greek_look_alikes_fold_to_the_ascii_skeleton():
    [link] = extract_links("https://www.g\u043e\u043egle.com/login")  # Cyrillic o's
    assert link.host == "www.g\u043e\u043egle.com" and link.skeleton == "www.google.com" and link.lookalike
    assert skeleton("p\u0430yp\u0430l.com") == "paypal.com"  # Cyrillic a's
    assert skeleton("\u03bfpen.org") == "open.org"  # Greek omicron
    assert skeleton("ｅｘａｍｐｌｅ.com") == "example.com"  # full width, by NFKC
    assert not extract_links("https://google.com")[0].lookalike


@pytest.mark.parametrize("url", [
    "http://192.168.1.1/", "http://3232235777/", "http://0xC0A80101/", "http://0x7f.1/",
    "http://[::1]:8080/x", "http://[2001:db8::1]/", "https://10.0.0.1:443/login",
])
def test_raw_ip_hosts_are_flagged(url):
    [link] = extract_links(f"click {url} now")
    assert link.ip, url


def test_names_are_not_ip_hosts():
    assert not is_ip_host("example.com") and not is_ip_host("1password.com") and not is_ip_host("0x.com")


@pytest.mark.parametrize("url", ["https://bit.ly/abc", "t.co/x1", "http://tinyurl.com/y", "goo.gl/maps/z",
                                 "https://cutt.ly/q", "rb.gy/1", "s.id/abc", "https://www.shorturl.at/k"])
def test_url_shorteners_are_flagged(url):
    [link] = extract_links(url)
    assert link.shortener, url


def test_ordinary_sites_are_no_shorteners():
    assert not any(link.shortener for link in extract_links("https://bbc.co.uk https://notbit.ly/x"))


def test_a_domain_matches_itself_and_its_subdomains_only():
    assert in_domains("casino.com", ("casino.com",))
    assert in_domains("www.casino.com", ("casino.com",))
    assert not in_domains("notcasino.com", ("casino.com",))
    assert not in_domains("casino.com.evil.net", ("casino.com",))


def test_list_entries_are_validated_and_normalised():
    assert domain_problem("example.com") is None and domain_problem("Bücher.de.") is None
    assert domain_problem("xn--bcher-kva.de") is None
    for bad in ("localhost", "a_b.com", "-x.com", "1.2.3.4", "exa mple.com", "", "x" * 64 + ".com"):
        assert domain_problem(bad) is not None, bad
    assert normalise_domain(" Example.COM. ") == "example.com"
    assert normalise_domain("xn--bcher-kva.de") == "bücher.de"


def test_repeated_links_count_once_and_the_count_is_capped():
    text = " ".join(f"https://site{i}.example.com/" for i in range(200))
    links = extract_links(text + " https://site0.example.com/")
    assert len(links) == MAX_LINKS
    assert links[0].host == "site0.example.com" and links[-1].host == f"site{MAX_LINKS - 1}.example.com"


@pytest.mark.parametrize("body", [
    "https://a.com/ " * 70_000,  # one link, a million characters
    "a." * 500_000,  # dots that never make a host
    "http://" + "a" * 1_000_000,  # one endless host
    "x " * 500_000,
    "\u043e" * 1_000_000,  # a million Cyrillic letters
])
def test_a_megabyte_body_is_read_quickly(body):
    started = time.perf_counter()
    links = extract_links(body, f"<p>{body}</p>")
    # linear in the text (RE2) and stopping after MAX_LINKS: well under a second on a slow machine
    assert time.perf_counter() - started < 1.0
    assert len(links) <= MAX_LINKS
