"""Imported bodies to (markdown, html): the stored HTML is what the sanitiser keeps, and the markdown
renders back to the same content with render_markdown."""

from __future__ import annotations

import re

import pytest

from comments_service.domain.render import render_markdown, sanitise_html
from comments_service.formats.content import BodyTooLong, EmptyBody, _fast, _to_markdown, convert


def _shape(html: str) -> str:
    """HTML compared by content: no whitespace around block tags, one space for runs inside text,
    and markdown's strikethrough tag for either of HTML's."""
    html = re.sub(r"\s*(</?(?:p|ul|ol|li|blockquote|pre|hr|br)\b[^>]*>)\s*", r"\1", html)
    return re.sub(r"\s+", " ", html.replace("<del>", "<s>").replace("</del>", "</s>")).strip()


def html_of(body: str, images: bool = False) -> tuple[str, str]:
    converted = convert(body, "html", allow_images=images)
    return converted.markdown, converted.html


ROUND_TRIPS = [
    "<p>Hello <strong>bold</strong> and <em>soft</em> words.</p>",
    "<p>one</p><p>two</p>",
    "<p>line one<br>line two</p>",
    '<p>see <a href="https://example.com/a_b?x=1&amp;y=(2)" title="a &quot;t&quot;">the *link*</a></p>',
    "<p>specials: * _ ` [x] <tag> ~~ \\ # - 1. &amp;copy; &lt;b&gt;</p>",
    "<p>- not a list</p><p>1. not a list</p><p># not a heading</p><p>+ plus</p><p>---</p>",
    "<blockquote><p>quoted</p><p>twice</p></blockquote><p>after</p>",
    "<ul><li>a</li><li>b<ul><li>c<ol><li>d</li></ol></li></ul></li></ul>",
    '<ol start="3"><li>three</li><li>four</li></ol>',
    "<ul><li>a</li></ul><ul><li>b</li></ul>",
    "<pre><code>x = `a` **b** &lt;c&gt;\n  indented\n```\n</code></pre>",
    "<p><code>a`b</code> and <code>*x*</code></p>",
    "<p><del>gone</del> and <s>struck</s></p>",
    "<p>RTL: שלום עולם, مرحبا بالعالم</p>",
    "<p>emoji 🎉👍🏽 and 👨‍👩‍👧</p>",
    "<p>a &amp; b &lt; c &gt; d &quot;e&quot; &#233; &#x1F600;</p>",
    "<hr><p>after rule</p>",
]


@pytest.mark.parametrize("body", ROUND_TRIPS)
def test_markdown_renders_back_to_the_sanitised_html(body):
    markdown, html = html_of(body)
    assert _shape(render_markdown(markdown)) == _shape(html), markdown


def test_a_typical_disqus_message():
    markdown, html = html_of('<p>I was there last week &amp; saw it. <a href="https://example.com/x">Source</a></p>'
                             "<p>Second paragraph with <b>bold</b>.</p>")
    assert html == ('<p>I was there last week &amp; saw it. <a href="https://example.com/x" '
                    'rel="nofollow ugc noopener">Source</a></p><p>Second paragraph with <strong>bold</strong>.</p>')
    assert markdown == ("I was there last week & saw it. [Source](https://example.com/x)\n\n"
                        "Second paragraph with **bold**.")


def test_entities_are_decoded_and_escaped_where_markdown_would_read_them():
    markdown, _ = html_of("<p>&amp;copy; is not &copy; and &lt;b&gt; is text</p>")
    assert markdown == "\\&copy; is not © and \\<b\\> is text"
    assert "&amp;copy;" in render_markdown(markdown)


def test_bare_text_becomes_paragraphs_as_wordpress_shows_it():
    markdown, html = html_of("First line\nsecond line\n\nNew <i>paragraph</i>")
    assert html == "<p>First line<br>\nsecond line</p>\n<p>New <em>paragraph</em></p>"
    assert markdown == "First line\\\nsecond line\n\nNew *paragraph*"
    assert _shape(render_markdown(markdown)) == _shape(html)


def test_wordpress_blockquote_between_paragraphs():
    markdown, html = html_of("Quoting:\n\n<blockquote>they said</blockquote>\n\nI disagree.")
    assert _shape(html) == "<p>Quoting:</p><blockquote>they said</blockquote><p>I disagree.</p>"
    assert markdown == "Quoting:\n\n> they said\n\nI disagree."


def test_javascript_links_lose_their_href_and_keep_their_text():
    markdown, html = html_of('<p><a href="javascript:alert(1)">click</a> <a href=" JaVa&#x09;script:x">two</a></p>')
    assert "javascript" not in html.lower() and "href" not in html
    assert markdown == "click two"


def test_images_follow_the_site_setting():
    body = '<p>look <img src="https://img.example/a.png" alt="a [cat]" onerror="alert(1)"></p>'
    markdown, html = html_of(body, images=True)
    assert markdown == "look ![a \\[cat\\]](https://img.example/a.png)"
    assert 'src="https://img.example/a.png"' in html and "onerror" not in html
    assert _shape(render_markdown(markdown, allow_images=True)) == _shape(html)
    markdown, html = html_of(body, images=False)
    assert markdown == "look" and "<img" not in html


def test_script_and_style_content_is_dropped():
    markdown, html = html_of("<p>ok<script>alert(1)</script><style>p{}</style></p>")
    assert markdown == "ok" and html == "<p>ok</p>"


def test_nesting_deeper_than_markdown_renders_is_flattened_not_lost():
    body = "<blockquote>" * 40 + "deep" + "</blockquote>" * 40
    markdown, _ = html_of(body)
    assert "deep" in markdown and markdown.count(">") <= 20
    assert "deep" in render_markdown(markdown)


@pytest.mark.parametrize("body", ["", "   ", "<p></p>", "<p> &nbsp; </p>", "<script>x</script>", "<a href='x'></a>",
                                  '<img src="https://x.example/a.png">'])
def test_nothing_visible_is_an_empty_body(body):
    with pytest.raises(EmptyBody):
        convert(body, "html", allow_images=False)


def test_an_image_alone_is_visible_where_images_are_allowed():
    assert convert('<img src="https://x.example/a.png">', "html", allow_images=True).markdown.startswith("![")


@pytest.mark.parametrize("fmt", ["html", "markdown", "text"])
def test_too_long(fmt):
    with pytest.raises(BodyTooLong):
        convert("a" * 100_001, fmt, allow_images=False)
    convert("a" * 100_000, fmt, allow_images=False)


def test_markdown_is_kept_and_rendered_as_a_new_comment():
    converted = convert("Some *markdown* with [a link](https://example.com)\r\n", "markdown", allow_images=False)
    assert converted.markdown == "Some *markdown* with [a link](https://example.com)"
    assert converted.html == render_markdown(converted.markdown)
    with pytest.raises(EmptyBody):
        convert("  \n ", "markdown", allow_images=False)


def test_text_is_shown_as_written():
    converted = convert("5 * 3 = 15\n# not a heading\n\n<b>not bold</b> _x_", "text", allow_images=False)
    assert converted.markdown == "5 \\* 3 = 15\\\n\\# not a heading\n\n\\<b\\>not bold\\</b\\> \\_x\\_"
    assert "<strong>" not in converted.html and "&lt;b&gt;not bold&lt;/b&gt;" in converted.html


FAST_CASES = [
    "<p>plain</p>",
    '<p>a &amp; b <a href="https://example.com/x?a=1&amp;b=2" rel="nofollow noopener" title="t">link</a></p>',
    '<p><a title="t" href="http://example.com/">x</a></p>',
    "<p>a<br>b<br/>c<br />d</p>\n<p><strong>s <em>e</em></strong> &lt;&gt; &quot;q&quot; &#39; &#233; &nbsp;x</p>",
    "text outside <strong>p</strong> > here",
    "<p>under_score *star* [b] `c` ~d~ \\ 1. # -</p>",
    '<p><a href="https://sub.example.co.uk/p(1)_x~y">u</a></p>',
]


@pytest.mark.parametrize("body", FAST_CASES)
def test_the_fast_path_gives_what_the_sanitiser_and_converter_give(body):
    fast = _fast(body)
    assert fast is not None, "this body should take the fast path"
    cleaned = sanitise_html(body, False)
    assert fast.html == cleaned
    assert fast.markdown == _to_markdown(cleaned)


@pytest.mark.parametrize("body", [
    "<p>x<p>y</p>", "<p><strong>x</p>", '<p><a href="javascript:x">x</a></p>', '<p><a href="http://1.2.3.999/">x</a>',
    '<p><a href="http://a/" onclick="x">x</a></p>', "<p>&copy x</p>", "<p>&#0;</p>", "<P>x</P>", "<p>a\rb</p>",
    '<p><a href="https://e.com/"><a href="https://e.com/">x</a></a></p>', "<p>x</p><img src=x>",
])
def test_the_fast_path_leaves_anything_else_to_the_sanitiser(body):
    assert _fast(body) is None
