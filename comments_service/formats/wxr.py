"""WordPress's export (WXR): RSS 2.0 whose ``<item>``s are posts and pages, with ``wp:`` extensions.

    <rss><channel> … <item> <title/> <link/> <wp:post_id/> <wp:post_date_gmt/> <wp:comment_status/>
        <wp:post_type/> … <wp:comment> <wp:comment_id/> <wp:comment_author/> <wp:comment_author_email/>
        <wp:comment_author_url/> <wp:comment_author_IP/> <wp:comment_date/> <wp:comment_date_gmt/>
        <wp:comment_content/> <wp:comment_approved/> <wp:comment_type/> <wp:comment_parent/>
        <wp:comment_user_id/> </wp:comment> … </item> … </channel></rss>

The ``wp`` namespace carries the format's version (http://wordpress.org/export/1.0/ to 1.2/); any
version is read. Each item is a thread, yielded at its first comment once its id and link have been
read (WordPress writes them first); should a comment come earlier, the item's comments wait for the
item's end. Items without comments whose type is not content (attachments, menu items, revisions, …)
are left out silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

from .records import (
    OUR_STATES,
    Record,
    Skipped,
    SourceAuthor,
    SourceComment,
    SourceFileError,
    SourceState,
    SourceThread,
)
from .safe_xml import MAX_DEPTH, MAX_TEXT_CHARS, XmlStream
from .source_file import SourceFile

SYSTEM = "wordpress"

_WP_NAMESPACE = re.compile(r"https?://wordpress\.org/export/\d+(?:\.\d+)*/")
_RSS_NAMESPACES = {
    "http://purl.org/rss/1.0/modules/content/": "content",
    "http://purl.org/dc/elements/1.1/": "dc",
}
# post types that hold no discussion: an item of one of these without comments is no thread
_NOT_CONTENT = frozenset((
    "attachment", "nav_menu_item", "revision", "custom_css", "customize_changeset", "oembed_cache",
    "user_request", "wp_block", "wp_template", "wp_template_part", "wp_global_styles", "wp_navigation",
    "wp_font_family", "wp_font_face",
))
_STATES: dict[str, SourceState] = {
    "1": "approved", "approve": "approved", "0": "pending", "hold": "pending", "spam": "spam",
    "trash": "trash", "post-trashed": "trash",
}
_PINGS = frozenset(("pingback", "trackback"))
# the only fields kept: an item or comment with thousands of other elements (each under
# MAX_TEXT_CHARS) must not grow the process by their total
_ITEM_FIELDS = frozenset(("wp:post_id", "link", "title", "wp:comment_status", "wp:post_date_gmt", "wp:post_date",
                          "wp:post_type"))
_COMMENT_FIELDS = frozenset((
    "wp:comment_id", "wp:comment_type", "wp:comment_content", "wp:comment_date_gmt", "wp:comment_date",
    "wp:comment_parent", "wp:comment_user_id", "wp:comment_author", "wp:comment_author_email",
    "wp:comment_author_url", "wp:comment_author_IP", "wp:comment_approved"))
# element names whose prefixed form is remembered: a file of endless distinct names must not grow it
_MAX_KEYS = 10_000
_NO_DATE = "0000-00-00"


# What this service's own WXR export adds (formats/wxr_writer.py), so that a site that leaves and comes
# back keeps its article ids and every status: wp:comment_approved cannot tell a tombstone (deleted,
# kept for its replies) from a rejected comment.
_ARTICLE_ID, _STATUS = "article_id", "status"
_ITEM_META = {"comments_service_article_id": _ARTICLE_ID}
_COMMENT_META = {"comments_service_status": _STATUS}


def _key(name: str) -> str:
    """An expanded name ("uri local") as the prefixed name WordPress writes, whatever the version."""
    uri, _, local = name.rpartition(" ")
    if not uri:
        return local
    if _WP_NAMESPACE.fullmatch(uri):
        return "wp:" + local
    prefix = _RSS_NAMESPACES.get(uri)
    return f"{prefix}:{local}" if prefix else f"{{{uri}}}{local}"


def _date(value: str) -> datetime | None:
    """WordPress's "YYYY-MM-DD HH:MM:SS", read as UTC; None for "0000-00-00 …", empty or unreadable."""
    value = value.strip()
    if not value or value.startswith(_NO_DATE):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def read(source: SourceFile, *, include_pings: bool = False) -> Iterator[Record]:
    stream = XmlStream()
    text = stream.text
    clear = text.clear
    join = "".join
    out = stream.out
    emit = out.append
    keys: dict[str, str] = {}
    depth = 0
    in_item = in_comment = False
    item: dict[str, str] = {}
    item_line = ""
    thread_id: str | None = None  # the item's thread, once yielded
    waiting: list[Record] = []  # the item's comments read before its thread could be yielded
    had_comments = False
    comment: dict[str, str] = {}
    comment_line = ""
    wordpress = False  # a wp: element was seen: this is WXR, not some other RSS

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal depth, in_item, in_comment, item, item_line, thread_id, had_comments, comment, comment_line
        clear()
        depth += 1
        if depth == 4 and in_item:
            if (keys.get(name) or _remember(name)) == "wp:comment":
                in_comment = True
                comment = {}
                comment_line = stream.position()
                stream.oversized = False
                if not had_comments:
                    had_comments = True
                    if item.get("wp:post_id", "").strip() and item.get("link", "").strip():
                        thread_id = emit_thread()
        elif depth == 3:
            if name == "item":
                in_item = True
                item = {}
                item_line = stream.position()
                thread_id = None
                had_comments = False
        elif depth > MAX_DEPTH:
            stream.too_deep()
        elif depth == 1 and name != "rss":
            raise SourceFileError(f"not a WordPress export: the root element is <{name.rpartition(' ')[2]}>, "
                                  "not <rss>", stream.position())

    def _remember(name: str) -> str:
        nonlocal wordpress
        key = _key(name)
        if len(keys) < _MAX_KEYS:
            keys[name] = key
        wordpress = wordpress or key.startswith("wp:")
        return key

    def end(name: str) -> None:
        nonlocal depth, in_item, in_comment
        depth -= 1
        if not in_item:
            return
        if depth == 4:
            if in_comment:
                key = keys.get(name) or _remember(name)
                if key in _COMMENT_FIELDS:
                    comment[key] = join(text)
            else:
                _meta(item, keys.get(name) or _remember(name), _ITEM_META)
        elif depth == 5 and in_comment:
            _meta(comment, keys.get(name) or _remember(name), _COMMENT_META)
        elif depth == 3:
            key = keys.get(name) or _remember(name)
            if in_comment:
                in_comment = False
                record = read_comment()
                if thread_id is not None:
                    emit(record)
                else:
                    waiting.append(record)
            elif key in _ITEM_FIELDS:
                item[key] = join(text)
        elif depth == 2:
            in_item = False
            end_item()

    def _meta(into: dict[str, str], key: str, wanted: dict[str, str]) -> None:
        # <wp:postmeta>/<wp:commentmeta> pairs: only the ones this service writes are kept
        if key == "wp:meta_key":
            into["meta_key"] = join(text).strip()
        elif key == "wp:meta_value" and into.get("meta_key") in wanted:
            into[wanted[into["meta_key"]]] = join(text).strip()

    def emit_thread() -> str | None:
        post_id = item.get("wp:post_id", "").strip()
        if not post_id:
            return None
        emit(SourceThread(
            source_id=post_id, position=item_line, identifier=item.get(_ARTICLE_ID) or post_id,
            url=item.get("link", "").strip() or None, title=item.get("title", "").strip() or None,
            closed=item.get("wp:comment_status", "").strip() == "closed",
            created_at=_date(item.get("wp:post_date_gmt", "")) or _date(item.get("wp:post_date", ""))))
        return post_id

    def end_item() -> None:
        nonlocal thread_id
        if not wordpress:
            raise SourceFileError("not a WordPress export: an <item> without wp: elements (a plain RSS feed?)",
                                  item_line)
        if thread_id is None and (had_comments or item.get("wp:post_type", "").strip() not in _NOT_CONTENT):
            thread_id = emit_thread()
        if waiting:
            if thread_id is None:
                out.extend(Skipped(position=r.position, reason="no_thread", detail="its <item> has no wp:post_id")
                           if isinstance(r, SourceComment) else r for r in waiting)
            else:
                out.extend(waiting)
            waiting.clear()

    def read_comment() -> Record:
        c = comment
        line = comment_line
        comment_id = c.get("wp:comment_id", "").strip()
        if not comment_id:
            return Skipped(position=line, reason="no_id", detail="a <wp:comment> without wp:comment_id")
        kind = c.get("wp:comment_type", "").strip()
        if kind in _PINGS and not include_pings:
            return Skipped(position=line, reason=kind, detail=f"comment {comment_id}")
        body = c.get("wp:comment_content", "")
        if stream.oversized or len(body) > MAX_TEXT_CHARS:
            return Skipped(position=line, reason="oversized",
                           detail=f"comment {comment_id}: a field over {MAX_TEXT_CHARS} characters")
        created = _date(c.get("wp:comment_date_gmt", "")) or _date(c.get("wp:comment_date", ""))
        if created is None:
            return Skipped(position=line, reason="invalid_date",
                           detail=f"comment {comment_id}: {c.get('wp:comment_date_gmt', '')[:40]!r}")
        parent = c.get("wp:comment_parent", "").strip()
        user = c.get("wp:comment_user_id", "").strip()
        return SourceComment(
            source_id=comment_id, thread_id=item.get("wp:post_id", "").strip(), position=line,
            author=SourceAuthor(
                name=c.get("wp:comment_author", "").strip(), email=c.get("wp:comment_author_email", "").strip() or None,
                username=user if user and user != "0" else None,
                url=c.get("wp:comment_author_url", "").strip() or None,
                ip=c.get("wp:comment_author_IP", "").strip() or None),
            body=body, body_format="html", created_at=created,
            state=OUR_STATES.get(c.get(_STATUS, ""))
            or _STATES.get(c.get("wp:comment_approved", "").strip(), "pending"),
            parent_id=parent if parent and parent != "0" else None)

    stream.parser.StartElementHandler = start
    stream.parser.EndElementHandler = end
    return stream.records(source)
