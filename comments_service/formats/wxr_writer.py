"""WordPress's export format (WXR 1.2), written as a stream: a channel, then per article one ``<item>``
holding its ``<wp:comment>`` entries, each written out as soon as it is given.

The writer follows what WordPress's own exporter writes, so WordPress's importer and the many
comment systems that read WXR take the file as they take WordPress's: free text (titles, names,
e-mails, addresses, comment bodies) goes in CDATA sections, a ``]]>`` inside split across two of
them as WordPress splits it; URLs and numbers are escaped text. Characters XML 1.0 forbids (most
C0 controls, lone surrogates, U+FFFE/U+FFFF) are dropped, since no parser would read a file that
holds them. Times are UTC: the service keeps no site time zone, so ``wp:comment_date`` (the
site-local time in WordPress) equals ``wp:comment_date_gmt``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import BinaryIO, Literal

from ..domain.structs import Struct

WXR_VERSION = "1.2"
NAMESPACES = {
    "excerpt": "http://wordpress.org/export/1.2/excerpt/",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "wfw": "http://wellformedweb.org/CommentAPI/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "wp": "http://wordpress.org/export/1.2/",
}
# The post meta key holding the article's id on its site, so that importing the file back (here or
# into a system that keeps post meta) maps each item onto exactly the article it came from.
ARTICLE_ID_META_KEY = "comments_service_article_id"
# The comment meta key holding the comment's status here. comment_approved cannot tell a deleted
# comment (a tombstone while replies hang under it) from a rejected one, nor held from unscored; an
# import back reads this key to restore each status exactly, and other systems keep or ignore it.
STATUS_META_KEY = "comments_service_status"

# WordPress's comment_approved values. Nothing unpublished here may come out published there: an
# unknown status is written as unapproved.
WxrApproved = Literal["1", "0", "spam", "trash"]
APPROVED_BY_STATUS: dict[str, WxrApproved] = {
    "published": "1", "held": "0", "pending_scoring": "0", "rejected": "spam", "deleted": "trash",
}

# Everything outside XML 1.0's Char production; a character class, so linear in the text.
_NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# What WordPress's sanitize_title keeps of a slug; runs of anything else become one hyphen.
_NOT_SLUG = re.compile(r"[^a-z0-9_-]+")
_FLUSH_AT = 1 << 16


class WxrChannel(Struct, frozen=True):
    title: str  # the site's name
    link: str  # the site's first origin ("" when it has none)
    generated_at: datetime
    description: str = ""
    generator: str = "comments_service"


class WxrArticle(Struct, frozen=True):
    post_id: int
    external_id: str  # the article's id on its site
    title: str
    url: str
    created_at: datetime
    comments_open: bool
    creator: str = ""  # the post's author login; articles here have none


class WxrComment(Struct, frozen=True):
    comment_id: int
    parent_id: int | None  # a comment_id written before it in the same article, or None
    author_name: str
    created_at: datetime
    content_html: str
    approved: WxrApproved
    status: str | None = None  # the status here, written as comment meta when given
    author_email: str | None = None
    author_url: str | None = None
    author_ip: str | None = None


def approved_for(status: str) -> WxrApproved:
    return APPROVED_BY_STATUS.get(status, "0")


def slug(external_id: str) -> str:
    """A WordPress post_name from an article id: lower case, runs of other characters as one hyphen."""
    return _NOT_SLUG.sub("-", external_id.lower()).strip("-")[:200]


def xml_chars(text: str) -> str:
    return _NOT_XML_CHAR.sub("", text)


def cdata(text: str) -> str:
    return "<![CDATA[" + _NOT_XML_CHAR.sub("", text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def escape(text: str) -> str:
    return _NOT_XML_CHAR.sub("", text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def wp_date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


class WxrWriter:
    """Writes one WXR document to ``out`` (UTF-8), holding at most one buffer (64 KiB) of it:
    ``start(channel)``, then ``article(...)`` each followed by that article's ``comment(...)`` entries
    (parents before their replies), then ``close()``. ``out`` is left open."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._parts: list[str] = []
        self._size = 0
        self._in_item = False
        self._started = False

    def _write(self, text: str) -> None:
        self._parts.append(text)
        self._size += len(text)
        if self._size >= _FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        if self._parts:
            self._out.write("".join(self._parts).encode("utf-8"))
            self._parts.clear()
            self._size = 0

    def start(self, channel: WxrChannel) -> None:
        if self._started:
            raise RuntimeError("the channel has already been started")
        self._started = True
        spaces = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in NAMESPACES.items())
        link = escape(channel.link)
        self._write(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<rss version="2.0" {spaces}>\n<channel>\n'
            f"\t<title>{escape(channel.title)}</title>\n"
            f"\t<link>{link}</link>\n"
            f"\t<description>{escape(channel.description)}</description>\n"
            f"\t<pubDate>{format_datetime(channel.generated_at.astimezone(UTC))}</pubDate>\n"
            f"\t<language>en</language>\n"
            f"\t<wp:wxr_version>{WXR_VERSION}</wp:wxr_version>\n"
            f"\t<wp:base_site_url>{link}</wp:base_site_url>\n"
            f"\t<wp:base_blog_url>{link}</wp:base_blog_url>\n"
            f"\t<generator>{escape(channel.generator)}</generator>\n")

    def article(self, article: WxrArticle) -> None:
        if not self._started:
            raise RuntimeError("start(channel) comes before the first article")
        if self._in_item:
            self._write("\t</item>\n")
        self._in_item = True
        date = wp_date(article.created_at)
        url = escape(article.url)
        self._write(
            "\t<item>\n"
            f"\t\t<title>{cdata(article.title)}</title>\n"
            f"\t\t<link>{url}</link>\n"
            f"\t\t<pubDate>{format_datetime(article.created_at.astimezone(UTC))}</pubDate>\n"
            f"\t\t<dc:creator>{cdata(article.creator)}</dc:creator>\n"
            f'\t\t<guid isPermaLink="false">{url}</guid>\n'
            "\t\t<description></description>\n"
            "\t\t<content:encoded><![CDATA[]]></content:encoded>\n"
            "\t\t<excerpt:encoded><![CDATA[]]></excerpt:encoded>\n"
            f"\t\t<wp:post_id>{article.post_id:d}</wp:post_id>\n"
            f"\t\t<wp:post_date>{date}</wp:post_date>\n"
            f"\t\t<wp:post_date_gmt>{date}</wp:post_date_gmt>\n"
            f"\t\t<wp:comment_status>{'open' if article.comments_open else 'closed'}</wp:comment_status>\n"
            "\t\t<wp:ping_status>closed</wp:ping_status>\n"
            f"\t\t<wp:post_name>{cdata(slug(article.external_id))}</wp:post_name>\n"
            "\t\t<wp:status>publish</wp:status>\n"
            "\t\t<wp:post_parent>0</wp:post_parent>\n"
            "\t\t<wp:menu_order>0</wp:menu_order>\n"
            "\t\t<wp:post_type>post</wp:post_type>\n"
            "\t\t<wp:post_password></wp:post_password>\n"
            "\t\t<wp:is_sticky>0</wp:is_sticky>\n"
            "\t\t<wp:postmeta>\n"
            f"\t\t\t<wp:meta_key>{ARTICLE_ID_META_KEY}</wp:meta_key>\n"
            f"\t\t\t<wp:meta_value>{cdata(article.external_id)}</wp:meta_value>\n"
            "\t\t</wp:postmeta>\n")

    def comment(self, comment: WxrComment) -> None:
        if not self._in_item:
            raise RuntimeError("a comment belongs to an article: article(...) comes first")
        date = wp_date(comment.created_at)
        email = (f"\t\t\t<wp:comment_author_email>{cdata(comment.author_email)}</wp:comment_author_email>\n"
                 if comment.author_email else "")
        ip = (f"\t\t\t<wp:comment_author_IP>{cdata(comment.author_ip)}</wp:comment_author_IP>\n"
              if comment.author_ip else "")
        status = ("\t\t\t<wp:commentmeta>\n"
                  f"\t\t\t\t<wp:meta_key>{STATUS_META_KEY}</wp:meta_key>\n"
                  f"\t\t\t\t<wp:meta_value>{cdata(comment.status)}</wp:meta_value>\n"
                  "\t\t\t</wp:commentmeta>\n") if comment.status else ""
        self._write(
            "\t\t<wp:comment>\n"
            f"\t\t\t<wp:comment_id>{comment.comment_id:d}</wp:comment_id>\n"
            f"\t\t\t<wp:comment_author>{cdata(comment.author_name)}</wp:comment_author>\n"
            f"{email}"
            f"\t\t\t<wp:comment_author_url>{escape(comment.author_url or '')}</wp:comment_author_url>\n"
            f"{ip}"
            f"\t\t\t<wp:comment_date>{date}</wp:comment_date>\n"
            f"\t\t\t<wp:comment_date_gmt>{date}</wp:comment_date_gmt>\n"
            f"\t\t\t<wp:comment_content>{cdata(comment.content_html)}</wp:comment_content>\n"
            f"\t\t\t<wp:comment_approved>{comment.approved}</wp:comment_approved>\n"
            "\t\t\t<wp:comment_type>comment</wp:comment_type>\n"
            f"\t\t\t<wp:comment_parent>{comment.parent_id or 0:d}</wp:comment_parent>\n"
            "\t\t\t<wp:comment_user_id>0</wp:comment_user_id>\n"
            f"{status}"
            "\t\t</wp:comment>\n")

    def close(self) -> None:
        """Ends the document and writes out what is still buffered."""
        if not self._started:
            raise RuntimeError("start(channel) comes before close()")
        if self._in_item:
            self._write("\t</item>\n")
            self._in_item = False
        self._write("</channel>\n</rss>\n")
        self.flush()
