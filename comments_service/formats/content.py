"""Imported comment bodies to what we store: the markdown source and its sanitised HTML.

HTML (Disqus, WordPress, Remark42) passes the same nh3 allow-list as a new comment
(``domain.render.sanitise_html``) and the stored HTML is that sanitised HTML; its markdown is a text
rendering of the sanitised HTML, escaped so that ``render_markdown`` gives the same content back.
Markdown (Isso, Commento, our own) is kept and rendered exactly as a new comment is; plain text is
markdown-escaped first.

The HTML-to-markdown converter reads nh3's output, which is well formed (html5ever serialised it:
quoted attributes, ``<`` and ``>`` escaped, comments gone), so a linear tokenizer and a stack build
its tree. A typical Disqus message (paragraphs, links, bold) skips nh3 through ``_fast``: a strict
grammar of input that nh3 would give back unchanged, checked token by token, producing the same HTML
and markdown in one pass (tests/unit/test_formats_content.py compares the two paths).
"""

from __future__ import annotations

import html as html_lib
import re

from ..domain.render import render_markdown, sanitise_html
from ..domain.structs import Struct
from .records import BodyFormat

MAX_BODY_CHARS = 100_000  # as the API's CommentCreate.body
_LINK_REL = "nofollow ugc noopener"  # what sanitise_html sets on every link
# Deeper elements are flattened into their parent: markdown-it renders at most 20 levels (maxNesting)
# and the converter recurses once per level.
_MAX_DEPTH = 16


class EmptyBody(ValueError):
    """The body has nothing visible once sanitised."""


class BodyTooLong(ValueError):
    """The body is longer than a comment may be."""


class Converted(Struct, frozen=True):
    markdown: str
    html: str


def convert(body: str, body_format: BodyFormat, *, allow_images: bool) -> Converted:
    if len(body) > MAX_BODY_CHARS:
        raise BodyTooLong(f"{len(body)} characters, more than {MAX_BODY_CHARS}")
    if "\x00" in body:  # PostgreSQL's text cannot hold it, and it shows nothing
        body = body.replace("\x00", "")
    if body_format == "html":
        return _from_html(body, allow_images)
    if body_format == "markdown":
        markdown = body.replace("\r\n", "\n").strip()
        converted = Converted(markdown=markdown, html=render_markdown(markdown, allow_images=allow_images))
    else:
        markdown = _text_to_markdown(body)
        converted = Converted(markdown=markdown, html=render_markdown(markdown, allow_images=allow_images))
    if not converted.markdown or not _visible(converted.html):
        raise EmptyBody("nothing visible once sanitised")
    return converted


_TAG_TEXT = re.compile(r"<[^<>]*>")


def _visible(html: str) -> bool:
    return "<img" in html or bool(html_lib.unescape(_TAG_TEXT.sub("", html)).strip())


# --- HTML in ---------------------------------------------------------------------------------------

# Presentational tags the allow-list does not keep, renamed to the ones it does so that their
# emphasis survives; the sanitiser still judges the result.
_RENAMED = {"b": "strong", "i": "em", "strike": "del"}
_RENAME = re.compile(r"<(/?)(b|i|strike)(?=[\s/>])[^<>]*>", re.IGNORECASE)
_HAS_PARAGRAPHS = re.compile(r"<(?:p|pre)[\s/>]", re.IGNORECASE)
_BLOCK_START = re.compile(r"<(?:blockquote|ul|ol|li|div|h[1-6]|table|hr|p|pre)[\s/>]", re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n[ \t]*\n\s*")


def _rename(match: re.Match[str]) -> str:
    return f"<{match.group(1)}{_RENAMED[match.group(2).lower()]}>"


def _autop(text: str) -> str:
    """Paragraphs for HTML stored without them, as WordPress does (its wpautop runs on display):
    a blank line ends a paragraph, a single newline is a line break."""
    chunks = []
    for chunk in _BLANK_LINES.split(text.replace("\r\n", "\n").replace("\r", "\n").strip()):
        if _BLOCK_START.match(chunk):
            chunks.append(chunk)
        elif chunk:
            chunks.append("<p>" + chunk.replace("\n", "<br>\n") + "</p>")
    return "\n".join(chunks)


def _from_html(body: str, allow_images: bool) -> Converted:
    if "<" in body:
        body = _RENAME.sub(_rename, body)
        if not _HAS_PARAGRAPHS.search(body):
            body = _autop(body)
    else:
        body = _autop(body)
    fast = _fast(body)
    if fast is not None:
        return fast
    cleaned = sanitise_html(body, allow_images)
    markdown = _to_markdown(cleaned)
    if not markdown or not _visible(cleaned):
        raise EmptyBody("nothing visible once sanitised")
    return Converted(markdown=markdown, html=cleaned)


# --- markdown out ----------------------------------------------------------------------------------

_MARKDOWN_SPECIAL = re.compile(r"[\\`*_\[\]<>~]")
_UNCOLLAPSED = re.compile(r"[\t\n\r\f]|  ")
_NEEDS_ESCAPING = re.compile(r"[\t\n\r\f\\`*_\[\]<>~&]|  ")
_ENTITY_LIKE = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
_SPACES = re.compile(r"[ \t\n\r\f]+")
_DOUBLE_SPACES = re.compile(r" {2,}")
_LINE_START = re.compile(r"-(?=[ \-]|$)|\+(?= |$)|#(?=[ #]|$)|\d{1,9}[.)](?= |$)")


def _escape(text: str) -> str:
    """Decoded text as markdown that renders back to it (whitespace collapsed as HTML shows it)."""
    # most text needs none of the rewrites below, and one search is cheaper than any of them
    if not _NEEDS_ESCAPING.search(text):
        return text
    if _UNCOLLAPSED.search(text):
        text = _SPACES.sub(" ", text)
    if _MARKDOWN_SPECIAL.search(text):
        text = _MARKDOWN_SPECIAL.sub(r"\\\g<0>", text)
    return _ENTITY_LIKE.sub(r"\\&", text) if "&" in text else text


def _escape_line_start(line: str) -> str:
    match = _LINE_START.match(line)
    if match is None:
        return line
    cut = match.end() - 1  # the marker's last character: "-", "#", "." or ")"
    return line[:cut] + "\\" + line[cut:]


def _paragraph(inline: str) -> str:
    """Inline markdown with "\\n" for line breaks to paragraph lines: hard breaks as a backslash at
    the line's end (trailing spaces would not survive an editor), none at the ends."""
    if "\n" not in inline:
        return _escape_line_start(_DOUBLE_SPACES.sub(" ", inline).strip(" ") if "  " in inline else inline.strip(" "))
    lines = [_escape_line_start(_DOUBLE_SPACES.sub(" ", line).strip(" ")) for line in inline.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    start = 0
    while start < len(lines) and not lines[start]:
        start += 1
    return "\\\n".join(lines[start:])


def _wrap(delimiter: str, inner: str) -> str:
    """Emphasis around inner markdown; its outer spaces go outside, where CommonMark needs them."""
    core = inner.strip(" ")
    if not core:
        return " " if inner else ""
    lead = " " if inner[0] == " " else ""
    trail = " " if inner[-1] == " " else ""
    return f"{lead}{delimiter}{core}{delimiter}{trail}"


def _code_span(text: str) -> str:
    text = _SPACES.sub(" ", text)
    if not text.strip(" "):
        return " " if text else ""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    if text[0] == "`" or text[-1] == "`" or (text[0] == " " and text[-1] == " "):
        text = f" {text} "
    return f"{fence}{text}{fence}"


_DEST_ESCAPES = str.maketrans({"\\": "\\\\", "(": "\\(", ")": "\\)", "<": "\\<", ">": "\\>", " ": "%20",
                               "\t": "%09", "\n": "%0A", "\r": "%0D"})


def _link(text: str, href: str | None, title: str | None, image: bool = False) -> str:
    if href is None:
        return text
    dest = href.translate(_DEST_ESCAPES)
    if title:
        dest += ' "' + _SPACES.sub(" ", title).replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{'!' if image else ''}[{text}]({dest})"


def _fence(code: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{code}\n{fence}" if code else f"{fence}\n{fence}"


# --- the fast path: input nh3 would give back unchanged ---------------------------------------------

_FAST_TOKEN = re.compile(r"<[^<>]*>|[^<]+|<")
_FAST_TAGS = {"<p>": "p", "</p>": "/p", "<br>": "br", "<br/>": "br", "<br />": "br", "<strong>": "strong",
              "</strong>": "/strong", "<em>": "em", "</em>": "/em", "</a>": "/a"}
_FAST_ANCHOR = re.compile(r'<a((?: [a-z]+="[^"<>]*")+)>')
_FAST_ATTRIBUTE = re.compile(r' ([a-z]+)="([^"]*)"')
_FAST_URL = re.compile(r"https?://([A-Za-z0-9.-]{1,253})(?:[/?#][A-Za-z0-9\-._~:/?#@!$&'()*+,;=%]*)?")
_FAST_HOST_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?")
_FAST_ATTRIBUTE_TEXT = re.compile(r"[^\x00-\x1f\x7f-\x9f&<>\"\xa0]*")
_FAST_REFUSED_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff]")
_FAST_ENTITY = re.compile(r"&(?:(amp|lt|gt|quot|apos|nbsp)|#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'", "nbsp": "\xa0"}
_HTML_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\xa0": "&nbsp;"})


def _fast_text(raw: str) -> str | None:
    """The text a token stands for, or None when decoding it is not simple."""
    if "&" not in raw:
        return raw
    parts = _FAST_ENTITY.split(raw)
    out = []
    for i in range(0, len(parts), 4):
        if "&" in parts[i]:
            return None
        out.append(parts[i])
        if i + 1 < len(parts):
            name, decimal, hexadecimal = parts[i + 1:i + 4]
            if name:
                out.append(_NAMED[name])
                continue
            code = int(decimal) if decimal else int(hexadecimal, 16)
            if code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF \
                    or code in (0xFFFE, 0xFFFF):
                return None
            out.append(chr(code))
    return "".join(out)


def _fast_url(href: str) -> bool:
    match = _FAST_URL.fullmatch(href)
    if match is None:
        return False
    labels = match.group(1).split(".")
    # a numeric last label would make the URL parser read an IPv4 address, which may fail
    return labels[-1].isalpha() and all(_FAST_HOST_LABEL.fullmatch(label) for label in labels)


def _fast_anchor(tag: str) -> tuple[str, str, str | None] | None:
    """(the sanitised tag, href, title) of a plain link, or None."""
    match = _FAST_ANCHOR.fullmatch(tag)
    if match is None:
        return None
    html_attributes = []
    href = title = None
    seen = set()
    for name, value in _FAST_ATTRIBUTE.findall(match.group(1)):
        if name in seen:
            return None
        seen.add(name)
        if name == "href":
            decoded = value.replace("&amp;", "&")
            if "&" in value.replace("&amp;", "") or not _fast_url(decoded):
                return None
            href = decoded
            html_attributes.append(f' href="{value}"')
        elif name == "title":
            if not _FAST_ATTRIBUTE_TEXT.fullmatch(value):
                return None
            title = value
            html_attributes.append(f' title="{value}"')
        elif name not in ("rel", "target"):
            return None
    if href is None:
        return None
    return f"<a{''.join(html_attributes)} rel=\"{_LINK_REL}\">", href, title


def _fast(body: str) -> Converted | None:
    """Paragraphs of text, line breaks, strong, em and http(s) links, nested as HTML allows: the
    HTML and markdown that sanitising and converting would give, or None for anything else."""
    if _FAST_REFUSED_CHARS.search(body) or "\r" in body:
        return None
    html: list[str] = []
    blocks: list[str] = []
    # open elements: (name, markdown pieces inside it, href, title)
    stack: list[tuple[str, list[str], str | None, str | None]] = []
    pieces: list[str] = []  # the markdown of the paragraph being read (or of top-level inline content)
    visible = False
    for token in _FAST_TOKEN.findall(body):
        if token[0] != "<":
            text = _fast_text(token)
            if text is None:
                return None
            visible = visible or not text.isspace()
            html.append(text.translate(_HTML_TEXT_ESCAPES) if "&" in token or ">" in token or "\xa0" in token
                        else token)
            pieces.append(_escape(text))
            continue
        kind = _FAST_TAGS.get(token)
        if kind is None:
            anchor = _fast_anchor(token)
            if anchor is None or any(name == "a" for name, *_ in stack):
                return None
            html.append(anchor[0])
            stack.append(("a", pieces, anchor[1], anchor[2]))
            pieces = []
            continue
        if kind == "br":
            html.append("<br>")
            pieces.append("\n")
        elif kind == "p":
            if stack:
                return None
            html.append("<p>")
            if pieces:
                paragraph = _paragraph("".join(pieces))
                if paragraph:
                    blocks.append(paragraph)
            stack.append(("p", [], None, None))
            pieces = []
        elif kind[0] != "/":
            html.append(token)
            stack.append((kind, pieces, None, None))
            pieces = []
        else:
            if not stack or stack[-1][0] != kind[1:]:
                return None
            name, outer, href, title = stack.pop()
            html.append(token)
            inner = "".join(pieces)
            if name == "p":
                paragraph = _paragraph(inner)
                if paragraph:
                    blocks.append(paragraph)
                pieces = []
                continue
            if name == "strong":
                outer.append(_wrap("**", inner))
            elif name == "em":
                outer.append(_wrap("*", inner))
            else:
                outer.append(_link(inner, href, title))
            pieces = outer
    if stack or not visible:
        return None  # the general path says why
    if pieces:
        paragraph = _paragraph("".join(pieces))
        if paragraph:
            blocks.append(paragraph)
    return Converted(markdown="\n\n".join(blocks), html="".join(html).strip())


# --- the general converter: nh3's output to markdown ------------------------------------------------

_BLOCKS = frozenset({"p", "pre", "blockquote", "ul", "ol", "li", "hr"})
_VOID = frozenset({"br", "hr", "img"})
_TOKEN = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)([^<>]*)>|([^<]+)|<")
_ATTRIBUTE = re.compile(r'([^\s="]+)="([^"]*)"')


class _Element:
    __slots__ = ("name", "attributes", "children", "has_block")

    def __init__(self, name: str, attributes: dict[str, str]) -> None:
        self.name = name
        self.attributes = attributes
        self.children: list[Node] = []
        self.has_block = False


Node = str | _Element


def _tree(cleaned: str) -> _Element:
    root = _Element("", {})
    stack = [root]
    flattened = 0  # open elements below _MAX_DEPTH, kept out of the tree (their content is not)
    for closing, name, attributes, text in _TOKEN.findall(cleaned):
        if text or not name:
            stack[-1].children.append(html_lib.unescape(text) if text else "<")
            continue
        name = name.lower()
        if closing:
            if flattened:
                flattened -= 1
            elif len(stack) > 1 and stack[-1].name == name:
                stack.pop()
            continue
        if name in _VOID:
            element = _Element(name, _attributes(attributes))
            stack[-1].children.append(element)
        elif len(stack) > _MAX_DEPTH:
            flattened += 1
            continue
        else:
            element = _Element(name, _attributes(attributes))
            stack[-1].children.append(element)
            stack.append(element)
        if name in _BLOCKS:
            for open_element in stack:
                open_element.has_block = True
    return root


def _attributes(text: str) -> dict[str, str]:
    return {name.lower(): html_lib.unescape(value) for name, value in _ATTRIBUTE.findall(text)} if text else {}


def _to_markdown(cleaned: str) -> str:
    blocks: list[str] = []
    _blocks(_tree(cleaned).children, blocks)
    return "\n\n".join(blocks)


def _text_of(node: Node) -> str:
    if isinstance(node, str):
        return node
    if node.name == "br":
        return "\n"
    return "".join(_text_of(child) for child in node.children)


def _inline(nodes: list[Node]) -> str:
    out = []
    for node in nodes:
        if isinstance(node, str):
            out.append(_escape(node))
            continue
        name = node.name
        if name == "br":
            out.append("\n")
        elif name == "strong":
            out.append(_wrap("**", _inline(node.children)))
        elif name == "em":
            out.append(_wrap("*", _inline(node.children)))
        elif name in ("del", "s"):
            out.append(_wrap("~~", _inline(node.children)))
        elif name == "code":
            out.append(_code_span(_text_of(node)))
        elif name == "a":
            out.append(_link(_inline(node.children), node.attributes.get("href"), node.attributes.get("title")))
        elif name == "img":
            src = node.attributes.get("src")
            if src is not None:
                out.append(_link(_escape(node.attributes.get("alt", "")), src, node.attributes.get("title"), True))
        else:
            out.append(_inline(node.children))
    return "".join(out)


def _blocks(nodes: list[Node], out: list[str]) -> None:
    inline: list[Node] = []
    previous_list: tuple[str, bool] | None = None  # the list just written: its kind and marker

    def flush() -> None:
        if inline:
            paragraph = _paragraph(_inline(inline))
            inline.clear()
            if paragraph:
                out.append(paragraph)

    for node in nodes:
        if isinstance(node, str) or (node.name not in _BLOCKS and not node.has_block):
            inline.append(node)
            continue
        before = len(out)
        flush()
        if len(out) != before:
            previous_list = None
        name = node.name
        if name not in _BLOCKS or name == "li":
            _blocks(node.children, out)
            previous_list = None
        elif name == "p":
            flush()
            inline.extend(node.children)
            flush()
            previous_list = None
        elif name == "pre":
            # as a browser reads it: a newline right after <pre> is not content
            code = _text_of(node)
            out.append(_fence((code[1:] if code.startswith("\n") else code).rstrip("\n")))
            previous_list = None
        elif name == "hr":
            out.append("---")
            previous_list = None
        elif name == "blockquote":
            inner: list[str] = []
            _blocks(node.children, inner)
            if inner:
                out.append("\n".join(f"> {line}" if line else ">" for line in "\n\n".join(inner).split("\n")))
                previous_list = None
        else:
            # two lists in a row would merge into one; a different marker keeps them apart
            alternate = previous_list is not None and previous_list == (name, False)
            written = _list(node, alternate)
            if written:
                out.append(written)
                previous_list = (name, alternate)
    flush()


def _list(node: _Element, alternate: bool) -> str:
    ordered = node.name == "ol"
    start = node.attributes.get("start", "1")
    number = int(start) if ordered and start.isdigit() and len(start) <= 9 else 1
    items: list[list[str]] = []
    loose = False
    for child in node.children:
        if isinstance(child, str) and not child.strip():
            continue
        blocks: list[str] = []
        if isinstance(child, _Element) and child.name == "li":
            _blocks(child.children, blocks)
            loose = loose or any(isinstance(c, _Element) and c.name == "p" for c in child.children)
        else:
            _blocks([child], blocks)
        items.append(blocks)
    if not items:
        return ""
    written = []
    for blocks in items:
        if ordered:
            marker = f"{number}{')' if alternate else '.'}"
            number += 1
        else:
            marker = "*" if alternate else "-"
        indent = " " * (len(marker) + 1)
        lines = _join_item(blocks, loose).split("\n")
        first = f"{marker} {lines[0]}" if lines[0] else marker
        written.append("\n".join([first, *(indent + line if line else "" for line in lines[1:])]))
    return ("\n\n" if loose else "\n").join(written)


_ORDERED_MARKER = re.compile(r"(\d+)[.)](?: |$)")


def _join_item(blocks: list[str], loose: bool) -> str:
    if loose or len(blocks) < 2:
        return "\n\n".join(blocks)
    joined = blocks[0]
    for block in blocks[1:]:
        # an ordered list that does not start at 1 cannot interrupt a paragraph: it needs a blank line
        marker = _ORDERED_MARKER.match(block)
        joined += ("\n\n" if marker and marker.group(1) != "1" else "\n") + block
    return joined


# --- plain text in ---------------------------------------------------------------------------------


def _text_to_markdown(text: str) -> str:
    """Plain text as markdown showing it as written: a blank line between paragraphs, a line break
    for each other newline."""
    paragraphs = []
    for chunk in _BLANK_LINES.split(text.replace("\r\n", "\n").replace("\r", "\n").strip()):
        paragraph = _paragraph(_escape_lines(chunk))
        if paragraph:
            paragraphs.append(paragraph)
    return "\n\n".join(paragraphs)


def _escape_lines(chunk: str) -> str:
    return "\n".join(_escape(line) for line in chunk.split("\n"))
