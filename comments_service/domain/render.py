"""Markdown in, sanitised HTML out: rendered once on write, stored, escaped nowhere else.

markdown-it renders with raw HTML disabled, then nh3 (ammonia) enforces an allow-list of tags,
attributes and URL schemes whatever the renderer produced. Both layers are needed: the renderer
alone does not police URL schemes in every construct, and the sanitiser alone would keep
markdown's structure out.
"""

from __future__ import annotations

import re
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

_BASE_TAGS = {"p", "br", "strong", "em", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li", "a", "hr"}
_URL_SCHEMES = {"http", "https", "mailto"}
_LINK_REL = "nofollow ugc noopener"


@lru_cache(maxsize=2)
def _markdown(allow_images: bool) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False, "maxNesting": 20})
    md.enable("strikethrough")
    # headings would let a reader shout over the article; they render as plain paragraphs
    md.disable(["heading", "lheading"])
    if not allow_images:
        md.disable("image")
    return md


# Characters that mean nothing to CommonMark (with html, linkify and typographer off) or to HTML
# inside a line that starts with a letter; "&", "<", ">", "*", "_", "`", "[", "~", "\\", "#" and
# friends are not here. Most comments are one such line: they skip the parser and the sanitiser
# (~40 µs of a post), with the same result (tests/unit/test_render.py compares the two paths).
_PLAIN_PUNCTUATION = " ,.;:?!'\"()%/@$-"
# letters and digits (Python's \w is str.isalnum() and "_") and that punctuation: one character
# class, linear, and a tenth of a per-character loop's cost on a typical comment
_PLAIN_CHARS = re.compile(r"[\w" + re.escape(_PLAIN_PUNCTUATION) + "]*")


def _plain_line(text: str) -> bool:
    return (text[:1].isalpha() and text[-1:] != " " and "  " not in text and "_" not in text
            and _PLAIN_CHARS.fullmatch(text) is not None)


def render_markdown(text: str, *, allow_images: bool = False) -> str:
    """The stored HTML of a comment. Request handlers call
    ``services.offload.render_markdown_bounded`` instead: the full path is linear but costs
    milliseconds on a long text, too long for the event loop."""
    html = render_plain(text)
    return render_full(text, allow_images) if html is None else html


def render_plain(text: str) -> str | None:
    """The HTML of a plain line (microseconds), or None when the text needs :func:`render_full`."""
    return f"<p>{text}</p>" if _plain_line(text) else None


def render_full(text: str, allow_images: bool) -> str:
    """Parse and sanitise: right for any text, milliseconds for a long one."""
    return sanitise_html(_markdown(allow_images).render(text), allow_images)


def sanitise_html(html: str, allow_images: bool) -> str:
    """The allow-list every stored comment passes, whether rendered here or imported as HTML."""
    tags = _BASE_TAGS | ({"img"} if allow_images else set())
    attributes = {"a": {"href", "title"}, "code": set(), "ol": {"start"}}
    if allow_images:
        attributes["img"] = {"src", "alt", "title"}
    cleaned = nh3.clean(
        html,
        tags=tags,
        attributes=attributes,
        url_schemes=_URL_SCHEMES,
        link_rel=_LINK_REL,
        strip_comments=True,
        # third-party images see the reader's address; at least they do not learn the article. One
        # attribute only: nh3 adds several in no fixed order, and stored HTML should not vary by process
        set_tag_attribute_values={"img": {"referrerpolicy": "no-referrer"}} if allow_images else None,
    )
    return cleaned.strip()
