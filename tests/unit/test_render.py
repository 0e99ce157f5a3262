from comments_service.domain.render import render_markdown
from tests.support.html import tags_of, unsafe_parts


def test_markdown_renders_emphasis_links_and_code():
    html = render_markdown("Some *emphasis*, `code` and [a link](https://example.org/x).")
    assert "<em>emphasis</em>" in html
    assert "<code>code</code>" in html
    assert 'href="https://example.org/x"' in html
    assert 'rel="nofollow ugc noopener"' in html


def test_raw_html_is_not_passed_through():
    html = render_markdown('<script>alert(1)</script><b onclick="x()">bold</b>')
    assert unsafe_parts(html) == []
    assert [tag for tag, _ in tags_of(html)] == ["p"]
    assert "&lt;script&gt;" in html


def test_dangerous_link_schemes_are_dropped():
    for url in ("javascript:alert(1)", "data:text/html;base64,PHNjcmlwdD4=", "vbscript:msgbox(1)",
                "JaVaScRiPt:alert(1)", "jav&#x09;ascript:alert(1)"):
        html = render_markdown(f"[click]({url}) and <{url}>")
        assert unsafe_parts(html) == [], html


def test_images_only_when_the_site_allows_them():
    md = "![chart](https://example.org/c.png)"
    assert "<img" not in render_markdown(md)
    assert '<img src="https://example.org/c.png"' in render_markdown(md, allow_images=True)


def test_headings_render_as_paragraphs():
    assert "<h1" not in render_markdown("# SHOUTING")


def test_deep_nesting_is_bounded():
    html = render_markdown(">" * 5000 + " deep")
    assert html.count("<blockquote>") <= 25


def test_plain_lines_take_the_short_path_with_the_parsers_result():
    """One-line comments of letters, digits and plain punctuation skip markdown-it and nh3; the
    result must be byte for byte what the full path gives, whatever the mix."""
    import random

    from comments_service.domain import render

    alphabet = "abcXYZéßЖ中0189 ,.;:?!'\"()%/@$-"
    rng = random.Random(7)
    samples = ["a", "Yes.", "a - b", "Hi! (yes)", "mail me: ana@example.com", "see http://x.example/a?b",
               "It's 100% \"true\" - really", "Troops 2. returned", "Ab1) c", "x -- y", "Über: 3/4", "a :-)"]
    samples += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60))) for _ in range(4000)]
    plain = [s for s in samples if render._plain_line(s)]
    assert len(plain) > 500  # the generator really exercises the short path
    for text in plain:
        for images in (False, True):
            assert render_markdown(text, allow_images=images) == render.render_full(text, images), text


def test_every_character_the_short_path_takes_is_a_letter_a_digit_or_its_punctuation():
    """The short path's one character class against str.isalnum() and the punctuation listed, for
    every code point: a character it let through that markdown or HTML reads would skip the
    sanitiser."""
    import sys

    from comments_service.domain import render

    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue  # surrogates: never in a decoded request
        ch = chr(code)
        expected = ch.isalnum() or ch in render._PLAIN_PUNCTUATION
        assert render._plain_line("a" + ch + "b") is expected, hex(code)


def test_markdown_looking_lines_take_the_full_path():
    from comments_service.domain import render

    for text in ["- item", "1. first", "> quote", "# title", "a *b*", "a_b_", "a `b`", "a [b](c)", "a &amp; b",
                 "a <b>", "a ~~b~~", "a\\b", "a\nb", " a", "a ", "a  b", "😀 hi", "a\u00a0b", "<script>"]:
        assert not render._plain_line(text), text
