"""Parse HTML the way a browser would tokenise it and report anything that could run script."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_FORBIDDEN_TAGS = {"script", "iframe", "object", "embed", "svg", "math", "style", "link", "meta", "form", "input",
                   "button", "base", "frame", "frameset", "template", "textarea", "video", "audio", "source"}
_URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "background", "poster", "srcset"}
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
_SAFE_SCHEMES = {"http", "https", "mailto"}
_C0_AND_SPACE = "".join(chr(i) for i in range(0x21))


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        attributes = {k.lower(): (v or "") for k, v in attrs}
        self.tags.append((tag, attributes))
        if tag in _FORBIDDEN_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attributes.items():
            if name.startswith("on"):
                self.problems.append(f"event handler {name}")
            if name in _URL_ATTRS:
                # as the URL parser does: drop tabs/newlines anywhere, C0 controls and spaces at the ends.
                # HTMLParser has already decoded character references in attribute values (as a browser
                # does, once); decoding again would flag harmless relative URLs such as "&#106;avascript:".
                cleaned = re.sub(r"[\t\n\r]", "", value).strip(_C0_AND_SPACE)
                scheme = _SCHEME.match(cleaned)
                if scheme and scheme.group(1).lower() not in _SAFE_SCHEMES:
                    self.problems.append(f"{name}={value!r}")
            if name == "style":
                self.problems.append("style attribute")


def unsafe_parts(fragment: str) -> list[str]:
    collector = _Collector()
    collector.feed(fragment)
    collector.close()
    return collector.problems


def tags_of(fragment: str) -> list[tuple[str, dict]]:
    collector = _Collector()
    collector.feed(fragment)
    collector.close()
    return collector.tags
