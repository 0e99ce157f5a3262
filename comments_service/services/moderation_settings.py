"""Moderating articles and sites, and the audit log: article settings (open, premoderation, title,
url), a site's moderation settings, and the log every moderation action writes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec

from ..db import audit as audit_repo
from ..db import moderation as mod_repo
from ..domain import cursor as cursors
from ..domain import moderation as rules
from ..domain.moderation_models import ArticleSettings, AuditEntry, AuditFilters, AuditPage
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
                             note: str | None = None, close_at: datetime | None | msgspec.UnsetType = msgspec.UNSET
                             ) -> ArticleSettings:
        """Only what is given changes. ``close_at``: when comments close by themselves (None: no
        date); opening an article (``comments_open`` True) also lifts a date already passed."""
        require_site(staff, site_id)
        if isinstance(close_at, datetime) and close_at.tzinfo is None:
            raise DomainError("invalid_request", "close_at needs a time zone (for example 2030-01-01T00:00:00Z).")
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
            after = await mod_repo.update_article(
                conn, before["id"], comments_open, premoderation, title, url,
                set_close_at=close_at is not msgspec.UNSET, close_at=close_at or None)
            changes = {k: [_audited(before[k]), _audited(after[k])]
                       for k in ("comments_open", "premoderation", "auto_close", "close_at", "title", "url")
                       if before[k] != after[k]}
            if changes:
                await audit_repo.record(conn, site_id=site_id, actor_id=staff.id, actor_name=staff.name,
                                        action="article_settings", article_id=before["id"], note=note,
                                        details=changes)
        await self.publisher.article_changed(site_id, external_id)
        closes_at = rules.closes_at(after["auto_close"], after["created_at"], entry.site.settings, after["close_at"])
        return ArticleSettings(
            id=external_id, site_id=site_id, title=after["title"], url=after["url"],
            premoderation=after["premoderation"], auto_close=after["auto_close"],
            closes_at=closes_at, close_at=after["close_at"],
            comments_open=rules.is_open(after["comments_open"], after["auto_close"], after["created_at"],
                                        entry.site.settings, datetime.now(UTC), after["close_at"]))

    async def update_site_settings(self, staff: StaffLike, site_id: str, changes: dict[str, Any], *,
                                   name: str | None = None, origins: list[str] | None = None,
                                   guests: bool | None = None, images: bool | None = None) -> SiteInfo:
        """SiteAdmin.update's rules, as the CLI's `site update --settings` has them: only the
        settings in ``changes`` change, one given as None goes back to its default, and the result
        is checked whole before anything is written; the site's columns (name, origins, guests,
        images) change when given, in the same transaction and audit entry."""
        return await self.site_admin.update(site_id, settings=changes or None, name=name, origins=origins,
                                            guests=guests, images=images, staff=staff)

    # ---------------------------------------------------------------- audit
    async def audit(self, staff: StaffLike, *, site_id: str | None, filters: AuditFilters, cursor: str | None,
                    limit: int) -> AuditPage:
        scope = scope_of(staff, site_id)
        before_id = None
        if cursor:
            try:
                before_id = cursors.decode_id(cursor)
            except cursors.CursorError:
                raise DomainError("invalid_cursor") from None
        async with self.pool.acquire() as conn:
            rows = await audit_repo.query(conn, filters.query(scope, before_id), limit + 1)
        entries = [AuditEntry(**{k: r[k] for k in AuditEntry.__struct_fields__}) for r in rows[:limit]]
        return AuditPage(entries=entries, next_cursor=str(entries[-1].id) if len(rows) > limit else None)


def _audited(value: Any) -> Any:
    """A setting's value as the audit log's JSON details keep it."""
    return value.isoformat() if isinstance(value, datetime) else value
