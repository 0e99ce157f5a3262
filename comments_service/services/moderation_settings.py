"""Moderating articles and sites, and the audit log: article settings (open, premoderation, title,
url), a site's moderation settings, and the log every moderation action writes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg

from ..db import audit as audit_repo
from ..db import moderation as mod_repo
from ..domain import cursor as cursors
from ..domain import moderation as rules
from ..domain.moderation_models import ArticleSettings, AuditEntry, AuditPage
from ..errors import DomainError
from .comments import validate_label
from .publishing import Publisher
from .site_admin import SiteAdmin, SiteDeleted, SiteInfo
from .sites import SiteDirectory, article_url
from .staff_scope import StaffLike, require_site, scope_of


class ModerationSettings:
    def __init__(self, pool: asyncpg.Pool, sites: SiteDirectory, publisher: Publisher, site_admin: SiteAdmin) -> None:
        self.pool = pool
        self.sites = sites
        self.publisher = publisher
        self.site_admin = site_admin

    # ---------------------------------------------------------------- sites (the admin API's share of SiteAdmin)
    async def list_sites(self, staff: StaffLike) -> list[SiteInfo]:
        return await self.site_admin.list_sites(staff)

    async def site(self, staff: StaffLike, site_id: str) -> SiteInfo:
        return await self.site_admin.show(site_id, staff)

    async def create_site(self, staff: StaffLike, *, site_id: str, name: str | None, origins: list[str],
                          sso_secret: str | None, guests: bool, images: bool,
                          settings: dict[str, Any] | None) -> SiteInfo:
        return await self.site_admin.create(site_id=site_id, name=name, origins=origins, sso_secret=sso_secret,
                                            guests=guests, images=images, settings=settings, staff=staff)

    async def delete_site(self, staff: StaffLike, site_id: str, *, force: bool) -> SiteDeleted:
        return await self.site_admin.delete(site_id, force=force, staff=staff)

    async def update_article(self, staff: StaffLike, site_id: str, external_id: str, *,
                             comments_open: bool | None, premoderation: bool | None,
                             title: str | None = None, url: str | None = None,
                             note: str | None = None) -> ArticleSettings:
        require_site(staff, site_id)
        entry = await self.sites.get(site_id)
        if url is not None:
            url = article_url(entry.site, url)
        if title is not None:
            title = validate_label(title)
            if not title:
                raise DomainError("invalid_request", "The title is blank.")
        async with self.pool.acquire() as conn, conn.transaction():
            before = await mod_repo.article_for_update(conn, site_id, external_id)
            if before is None:
                raise DomainError("article_not_found")
            after = await mod_repo.update_article(conn, before["id"], comments_open, premoderation, title, url)
            changes = {k: [before[k], after[k]]
                       for k in ("comments_open", "premoderation", "auto_close", "title", "url")
                       if before[k] != after[k]}
            if changes:
                await audit_repo.record(conn, site_id=site_id, actor_id=staff.id, actor_name=staff.name,
                                        action="article_settings", article_id=before["id"], note=note,
                                        details=changes)
        await self.publisher.article_changed(site_id, external_id)
        closes_at = rules.closes_at(after["auto_close"], after["created_at"], entry.site.settings)
        return ArticleSettings(
            id=external_id, site_id=site_id, title=after["title"], url=after["url"],
            premoderation=after["premoderation"], auto_close=after["auto_close"],
            closes_at=closes_at,
            comments_open=rules.is_open(after["comments_open"], after["auto_close"], after["created_at"],
                                        entry.site.settings, datetime.now(UTC)))

    async def update_site_settings(self, staff: StaffLike, site_id: str, changes: dict[str, Any]) -> SiteInfo:
        """SiteAdmin.update's rules, as the CLI's `site update --settings` has them: only the
        settings in ``changes`` change, one given as None goes back to its default, and the result
        is checked whole before anything is written."""
        return await self.site_admin.update(site_id, settings=changes, staff=staff)

    # ---------------------------------------------------------------- audit
    async def audit(self, staff: StaffLike, *, site_id: str | None, comment_id: int | None, user_id: int | None,
                    moderator: str | None, action: str | None, since: datetime | None, until: datetime | None,
                    cursor: str | None, limit: int) -> AuditPage:
        scope = scope_of(staff, site_id)
        before_id = None
        if cursor:
            try:
                before_id = cursors.decode_id(cursor)
            except cursors.CursorError:
                raise DomainError("invalid_cursor") from None
        filters = {"site_id": scope, "comment_id": comment_id, "user_id": user_id, "actor_id": moderator,
                   "action": action, "since": since, "until": until, "before_id": before_id}
        async with self.pool.acquire() as conn:
            rows = await audit_repo.query(conn, filters, limit + 1)
        entries = [AuditEntry(**{k: r[k] for k in AuditEntry.__struct_fields__}) for r in rows[:limit]]
        return AuditPage(entries=entries, next_cursor=str(entries[-1].id) if len(rows) > limit else None)
