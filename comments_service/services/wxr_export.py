"""Export one site's threads as WordPress's WXR, so a newsroom can take its comments to WordPress or to
any comment system that imports WordPress's files.

    comments-service export --site ID --format wxr --out FILE

One item per article (its url, title, creation time, open or closed, and its id on the site kept as
post meta), holding every comment in any status: published ones approved, held and unscored ones
unapproved, rejected ones spam and deleted ones trash, so that nothing comes out visible that was not
visible here; the exact status travels as comment meta (STATUS_META_KEY) for an import back. Authors
go by display name, with the e-mail and IP address where this service stored them.
The body is the stored HTML, as rendered for readers.

The rows stream from one REPEATABLE READ snapshot through a server-side cursor and are written as
they come, so memory stays flat whatever the size of the site.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import aclosing
from datetime import UTC, datetime
from typing import BinaryIO

import asyncpg

from ..db import export as repo
from ..db import sites as site_repo
from ..domain.structs import Struct
from ..formats.wxr_writer import WxrArticle, WxrChannel, WxrComment, WxrWriter, approved_for

# comments written between two calls of the progress callback
PROGRESS_EVERY = 1000


class WxrExportError(Exception):
    pass


class WxrCounts(Struct, frozen=True):
    articles: int
    comments: int


def _no_progress(_comments: int) -> None:
    pass


class WxrExporter:
    def __init__(self, pool: asyncpg.Pool, *, prefetch: int = 2000) -> None:
        self.pool = pool
        self.prefetch = prefetch

    async def write(self, site_id: str, out: BinaryIO,
                    progress: Callable[[int], None] = _no_progress) -> WxrCounts:
        """Writes the site's WXR document to ``out`` (binary, left open); ``progress`` hears the number of
        comments written so far every PROGRESS_EVERY comments and at the end. WxrExportError, with
        nothing written, when there is no such site."""
        articles = comments = 0
        async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            found = await site_repo.get(conn, site_id)
            if found is None:
                raise WxrExportError(f"no site {site_id!r}")
            site = found[0]
            writer = WxrWriter(out)
            writer.start(WxrChannel(title=site.name, link=site.allowed_origins[0] if site.allowed_origins else "",
                                    generated_at=datetime.now(UTC),
                                    description=f"Comments of {site.name} ({site.id})"))
            current: int | None = None
            async with aclosing(repo.site_thread_rows(conn, site_id, self.prefetch)) as rows:
                async for row in rows:
                    if row["article_id"] != current:
                        current = row["article_id"]
                        articles += 1
                        writer.article(WxrArticle(
                            post_id=current, external_id=row["external_id"], title=row["title"], url=row["url"],
                            created_at=row["article_created_at"], comments_open=row["comments_open"],
                            creator=site.id))
                    if row["comment_id"] is None:
                        continue
                    writer.comment(WxrComment(
                        comment_id=row["comment_id"], parent_id=row["parent_id"], author_name=row["author_name"],
                        created_at=row["created_at"], content_html=row["body_html"],
                        approved=approved_for(row["status"]), status=row["status"], author_email=row["author_email"],
                        author_ip=row["author_ip"]))
                    comments += 1
                    if comments % PROGRESS_EVERY == 0:
                        progress(comments)
            writer.close()
        progress(comments)
        return WxrCounts(articles=articles, comments=comments)
