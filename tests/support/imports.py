"""Small Disqus exports written for a test, and the CLI that imports them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from tests.support.cli import REPO, run_cli


@dataclass
class Post:
    id: str
    thread: str
    message: str = "<p>A comment.</p>"
    parent: str | None = None
    created: str = "2024-05-01T10:00:00Z"
    name: str = "Reader"
    email: str | None = None
    username: str | None = None
    ip: str = "203.0.113.7"
    spam: bool = False
    deleted: bool = False


@dataclass
class Thread:
    id: str
    ident: str
    link: str
    title: str = "A story"
    closed: bool = False
    posts: list[Post] = field(default_factory=list)


def disqus_xml(threads: Iterable[Thread], extra_posts: Iterable[Post] = ()) -> str:
    """A Disqus export: every thread first, then every post (as Disqus writes them)."""
    threads = list(threads)
    out = ['<?xml version="1.0" encoding="utf-8"?>',
           '<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals" '
           'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">']
    for t in threads:
        out.append(f'<thread dsq:id="{t.id}"><id>{escape(t.ident)}</id><forum>news</forum><category dsq:id="1"/>'
                   f'<link>{escape(t.link)}</link><title>{escape(t.title)}</title><message/>'
                   f'<createdAt>2024-05-01T09:00:00Z</createdAt><author><name>Desk</name><isAnonymous>false'
                   f'</isAnonymous></author><isClosed>{str(t.closed).lower()}</isClosed>'
                   f'<isDeleted>false</isDeleted></thread>')
    for p in [*(p for t in threads for p in t.posts), *extra_posts]:
        author = f"<name>{escape(p.name)}</name>"
        if p.email:
            author += f"<email>{escape(p.email)}</email>"
        if p.username:
            author += f"<username>{escape(p.username)}</username>"
        author += f"<isAnonymous>{'false' if p.username else 'true'}</isAnonymous>"
        parent = f'<parent dsq:id="{p.parent}"/>' if p.parent else ""
        out.append(f'<post dsq:id="{p.id}"><id/><message><![CDATA[{p.message}]]></message>'
                   f'<createdAt>{p.created}</createdAt><isDeleted>{str(p.deleted).lower()}</isDeleted>'
                   f'<isSpam>{str(p.spam).lower()}</isSpam><author>{author}</author>'
                   f'<ipAddress>{p.ip}</ipAddress><thread dsq:id="{p.thread}"/>{parent}</post>')
    out.append("</disqus>")
    return "\n".join(out)


def import_cli(storage, database_url: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``comments-service import ...`` against ``database_url`` (the test run's Redis prefix)."""
    return run_cli(storage, database_url, "import", *args, timeout=timeout)


def import_process(storage, database_url: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, **storage.env(COMMENTS_DATABASE_URL=database_url)}
    return subprocess.Popen([sys.executable, "-m", "comments_service.cli", "import", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def assert_threads_come_first(records) -> None:
    """The readers' contract: each thread once, before any comment that names it."""
    from comments_service.formats.records import SourceComment, SourceThread

    seen: set[str] = set()
    for record in records:
        if isinstance(record, SourceThread):
            assert record.source_id not in seen, record
            seen.add(record.source_id)
        elif isinstance(record, SourceComment):
            assert record.thread_id in seen, record


async def one_article_and_author(conn, site_id: str = "s") -> tuple[int, int]:
    """A site with one article and one imported author, straight into a database of a test's own:
    (article id, user id)."""
    await conn.execute("INSERT INTO sites (id, name) VALUES ($1, 'S')", site_id)
    article = await conn.fetchval("INSERT INTO articles (site_id, external_id, url, title) "
                                  "VALUES ($1, 'a', 'https://s.example/a', 'A') RETURNING id", site_id)
    author = await conn.fetchval("INSERT INTO users (site_id, kind, external_id, display_name) "
                                 "VALUES ($1, 'imported', 'x', 'X') RETURNING id", site_id)
    return article, author
