"""How readers see an article: its row as stored, except that an article the site closes
automatically after some days, or that a moderator scheduled to close, reads as closed once that
time has passed."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from ..db import articles as article_repo
from ..db.connection import Row
from ..domain import moderation as rules
from ..domain.models import Article
from .sites import SiteDirectory


class ArticleView:
    def __init__(self, sites: SiteDirectory) -> None:
        self.sites = sites

    async def of(self, site_id: str, external_id: str, record: Row | None) -> Article:
        """The article as a thread page shows it; ``record``: its row, None when it does not exist."""
        site = (await self.sites.get(site_id)).site
        if record is None:
            return Article(id=external_id, title="", url="", comments_open=True, premoderation=False,
                           comment_count=0, exists=False, guest_commenting=site.guest_commenting)
        article = article_repo.to_article(record)
        if not site.guest_commenting:
            article = msgspec.structs.replace(article, guest_commenting=False)
        if not article.comments_open:
            return article
        settings = site.settings
        if (rules.auto_close_days(settings) is None and record["close_at"] is None) or rules.is_open(
                record["comments_open"], record["auto_close"], record["created_at"], settings,
                datetime.now(UTC), record["close_at"]):
            return article
        return msgspec.structs.replace(article, comments_open=False)
