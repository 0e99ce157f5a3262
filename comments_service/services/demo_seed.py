"""Writes a demo site, its article and the article's first comments, all in one transaction. An
article that already has comments is left as it is, so seeding again changes nothing."""

from __future__ import annotations

import logging
from typing import Any, Literal

import asyncpg

from ..db import articles as article_repo
from ..db import comments as comment_repo
from ..db import sites as site_repo
from ..db import users as user_repo
from ..domain.models import CommentRow
from ..domain.render import render_markdown
from ..domain.structs import Struct
from .sites import SiteDirectory

log = logging.getLogger("comments_service.demo")


# "seeded": written now; "present": the article already had comments (seeding again changes
# nothing); "id_taken": a site with the demo's id exists and is not the demo (left alone)
SeedResult = Literal["seeded", "present", "id_taken"]


class DemoComment(Struct, frozen=True):
    author: str  # a guest of that name is created for each comment
    body: str  # markdown
    parent: int | None = None  # the index of the earlier comment this one replies to


class DemoContent(Struct, frozen=True):
    site_id: str
    site_name: str
    origins: list[str]
    site_settings: dict[str, Any]
    external_id: str
    article_url: str
    article_title: str
    comments: list[DemoComment]


class DemoSeeder:
    def __init__(self, pool: asyncpg.Pool, sites: SiteDirectory) -> None:
        self.pool = pool
        self.sites = sites

    async def seed(self, demo: DemoContent) -> SeedResult:
        async with self.pool.acquire() as conn, conn.transaction():
            existing = await site_repo.get_for_update(conn, demo.site_id)
            if existing is not None and existing[0].name != demo.site_name:
                # a newsroom's own site that happens to be called "demo": seeding would replace
                # its origins, open it to guests and drop its moderation settings
                log.warning("a site with the demo's id exists and is not the demo: left as it is, no demo seeded",
                            extra={"site": demo.site_id, "site_name": existing[0].name})
                return "id_taken"
            await self.sites.save(conn, site_id=demo.site_id, name=demo.site_name, origins=demo.origins,
                                  sso_secret=None, guests=True, settings=demo.site_settings)
            article = await article_repo.get_or_create(conn, demo.site_id, demo.external_id, demo.article_url,
                                                       demo.article_title)
            if article["comment_count"] > 0:
                return "present"
            rows: list[CommentRow] = []
            for comment in demo.comments:
                user_id = await user_repo.create_guest(conn, demo.site_id, comment.author)
                parent = rows[comment.parent] if comment.parent is not None else None
                row, _ = await comment_repo.insert(conn, article_id=article["id"], parent=parent, author_id=user_id,
                                                   body_markdown=comment.body, body_html=render_markdown(comment.body),
                                                   status="published", status_reason=None, author_ip=None)
                rows.append(row)
        return "seeded"
