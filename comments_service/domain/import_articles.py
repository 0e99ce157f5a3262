"""Which of the site's articles an imported thread belongs to, by the rule the operator chose.

- ``identifier``: the source's own id for the article (Disqus ``<id>``, WordPress post id, Isso's
  URI); a thread without one falls back to its URL's path, and the report says how often.
- ``url``: the URL's path, or with ``url_pattern`` the first capture group of that regular
  expression searched in the URL (``/(\\d{4}/\\d\\d/[^/]+)``). The pattern is RE2 (linear time: it
  sees every URL of the file); a URL it does not match is reported and its thread skipped.

A URL on a host that is not one of the site's origins (an old domain, a staging copy) is reported
and, since its path is what names the article, merged with the same path on the site; the stored
URL is always on the site's first origin. Two threads that map to one article are merged: the
first in the file gives the title and URL.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

import re2

from . import article_ids
from .labels import clean_label
from .structs import Struct

ArticleSource = Literal["identifier", "url"]
MAX_TITLE = 500


class ArticleRuleError(ValueError):
    pass


class MappedThread(Struct, frozen=True):
    external_id: str
    url: str
    title: str
    closed: bool
    other_host: bool = False  # its URL was on a host that is not the site's
    by_url_fallback: bool = False  # it had no identifier: its URL's path named it


class Unmapped(Struct, frozen=True):
    reason: str  # "no_article_id", "url_pattern_no_match", "invalid_article_id"
    detail: str


class ArticleRule:
    def __init__(self, source: ArticleSource, url_pattern: str | None, origins: list[str]) -> None:
        self.source = source
        self.origins = origins
        self.pattern = None
        if url_pattern is not None:
            try:
                self.pattern = re2.compile(url_pattern)
            except re2.error as exc:
                raise ArticleRuleError(f"--url-pattern is not a valid RE2 expression: {exc}") from None
            if self.pattern.groups < 1:
                raise ArticleRuleError("--url-pattern needs a capture group: the part of the URL that is the "
                                       "article's id")

    def map(self, identifier: str | None, url: str | None, title: str | None, closed: bool) -> MappedThread | Unmapped:
        parts = _split(url)
        fallback = False
        if self.source == "identifier" and identifier and identifier.strip():
            external = identifier.strip()
        else:
            fallback = self.source == "identifier"
            if parts is None:
                return Unmapped(reason="no_article_id", detail="no identifier and no http(s) URL")
            if self.pattern is not None:
                found = self.pattern.search(url or "")
                if found is None or not found.group(1):
                    return Unmapped(reason="url_pattern_no_match", detail=f"{(url or '')[:200]}")
                external = found.group(1)
            else:
                external = _path_id(parts[1])
        if not article_ids.is_valid(external):
            return Unmapped(reason="invalid_article_id",
                            detail=f"{external[:80]!r} is empty, too long or holds control characters")
        origin = parts[0] if parts is not None else None
        other_host = origin is not None and bool(self.origins) and origin not in self.origins
        home = origin if origin is not None and not other_host else (self.origins[0] if self.origins else origin)
        path = parts[1] if parts is not None else (external if external.startswith("/") else "/")
        stored_url = (home or "") + path
        name = clean_label(title or "")[:MAX_TITLE] or external
        return MappedThread(external_id=external, url=stored_url, title=name, closed=closed, other_host=other_host,
                            by_url_fallback=fallback)


def _split(url: str | None) -> tuple[str, str] | None:
    """(origin, path with its query) of an http(s) URL, or None."""
    if not url or "\x00" in url:  # PostgreSQL's text cannot hold NUL
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    default = 443 if parts.scheme == "https" else 80
    origin = f"{parts.scheme}://{parts.hostname}" + (f":{port}" if port and port != default else "")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if any(ch in path for ch in " \t\r\n\\") or len(path) > 2000:
        return None
    return origin, path


def _path_id(path: str) -> str:
    """A URL's path as an article id: the same page with or without its last slash is one article."""
    bare = path.split("?", 1)[0]
    return bare.rstrip("/") or "/"
