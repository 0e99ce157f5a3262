"""Featured comments (an editor's pick) and the one pinned comment of an article.

Only a published comment of the article can be featured or pinned, and one that stops being
published stops being either (migrations/0007_featured.sql). Every change is audited in its own
transaction; after it commits the article's cached pages are retired through the same structural
bump as every other visible change (picks travel on the thread's first page, in its cached tail)
and its live readers are told, so that readers see it at once."""

from __future__ import annotations

from datetime import datetime

import asyncpg
import msgspec

from ..db import audit as audit_repo
from ..db import featured as featured_repo
from ..db.connection import Connection
from ..domain.featured_models import (
    MAX_FEATURED,
    ArticleFeatured,
    FeaturedChange,
    FeaturedEventType,
    FeaturedPick,
    FeatureState,
)
from ..errors import DomainError
from .publishing import Publisher
from .staff_scope import StaffLike, one_site, require_site

_encoder = msgspec.json.Encoder()


def _state(row: asyncpg.Record, *, featured_at: datetime | None = None, featured_by: str | None = None,
           changed: bool = True, cleared: bool = False) -> FeatureState:
    """The comment's state: as ``row`` read it, or as this call left it (featured at ``featured_at``
    by ``featured_by``, or ``cleared``)."""
    at = None if cleared else featured_at or row["featured_at"]
    return FeatureState(comment_id=row["id"], article_id=row["external_id"], site_id=row["site_id"],
                        featured=at is not None, featured_at=at,
                        featured_by=None if at is None else featured_by or row["featured_by"],
                        pinned=row["pinned_comment_id"] == row["id"], changed=changed)


class Featuring:
    def __init__(self, pool: asyncpg.Pool, publisher: Publisher) -> None:
        self.pool = pool
        self.publisher = publisher

    async def feature(self, staff: StaffLike, comment_id: int, *, note: str | None = None) -> FeatureState:
        async with self.pool.acquire() as conn, conn.transaction():
            row = await self._comment(conn, staff, comment_id)
            if row["featured_at"] is not None:
                return _state(row, changed=False)
            if row["status"] != "published":
                raise DomainError("not_featurable", f"The comment is {row['status'].replace('_', ' ')}.")
            if await featured_repo.count_featured(conn, row["article_id"]) >= MAX_FEATURED:
                raise DomainError("featured_limit", extra={"limit": MAX_FEATURED})
            at = await featured_repo.set_featured(conn, row["id"], staff.name)
            await audit_repo.record(
                conn, site_id=row["site_id"], actor_id=staff.id, actor_name=staff.name, action="feature",
                comment_id=row["id"], user_id=row["author_id"], article_id=row["article_id"], note=note,
                details={"before": {"featured": False}, "after": {"featured": True}})
            await self._notify(conn, row, featured=True, pinned=row["pinned_comment_id"] == row["id"])
        await self._changed(row, "comment.featured")
        return _state(row, featured_at=at, featured_by=staff.name)

    async def unfeature(self, staff: StaffLike, comment_id: int, *, note: str | None = None) -> FeatureState:
        async with self.pool.acquire() as conn, conn.transaction():
            row = await self._comment(conn, staff, comment_id)
            if row["featured_at"] is None:
                return _state(row, changed=False)
            await featured_repo.clear_featured(conn, row["id"])
            await audit_repo.record(
                conn, site_id=row["site_id"], actor_id=staff.id, actor_name=staff.name, action="unfeature",
                comment_id=row["id"], user_id=row["author_id"], article_id=row["article_id"], note=note,
                details={"before": {"featured": True, "featured_at": row["featured_at"].isoformat(),
                                    "featured_by": row["featured_by"]},
                         "after": {"featured": False}})
            await self._notify(conn, row, featured=False, pinned=row["pinned_comment_id"] == row["id"])
        await self._changed(row, "comment.unfeatured")
        return _state(row, cleared=True)

    async def pin(self, staff: StaffLike, site: str | None, external_id: str, comment_id: int, *,
                  note: str | None = None) -> ArticleFeatured:
        site_id = one_site(staff, site)
        async with self.pool.acquire() as conn, conn.transaction():
            article = await self._article(conn, site_id, external_id)
            row = await featured_repo.comment(conn, comment_id, share=True)
            if row is None or row["article_id"] != article["id"]:
                raise DomainError("comment_not_found", "The comment is not in this article.")
            if row["status"] != "published":
                raise DomainError("not_featurable", f"The comment is {row['status'].replace('_', ' ')}.")
            before = row["pinned_comment_id"]
            changed = before != row["id"]
            if changed:
                await featured_repo.set_pin(conn, article["id"], row["id"])
                await audit_repo.record(
                    conn, site_id=site_id, actor_id=staff.id, actor_name=staff.name, action="pin",
                    comment_id=row["id"], user_id=row["author_id"], article_id=article["id"], note=note,
                    details={"before": {"pinned_comment_id": before}, "after": {"pinned_comment_id": row["id"]}})
                await self._notify(conn, row, featured=row["featured_at"] is not None, pinned=True)
            found = await self._featured(conn, site_id, external_id, article["id"], row["id"] if changed else before)
        if changed:
            await self._changed(row, "comment.pinned")
        return found

    async def unpin(self, staff: StaffLike, site: str | None, external_id: str, *,
                    note: str | None = None) -> ArticleFeatured:
        site_id = one_site(staff, site)
        async with self.pool.acquire() as conn, conn.transaction():
            article = await self._article(conn, site_id, external_id)
            before = article["pinned_comment_id"]
            if before is not None:
                await featured_repo.set_pin(conn, article["id"], None)
                await audit_repo.record(
                    conn, site_id=site_id, actor_id=staff.id, actor_name=staff.name, action="unpin",
                    comment_id=before, article_id=article["id"], note=note,
                    details={"before": {"pinned_comment_id": before}, "after": {"pinned_comment_id": None}})
                row = await featured_repo.comment(conn, before)
                if row is not None:
                    await self._notify(conn, row, featured=row["featured_at"] is not None, pinned=False)
            found = await self._featured(conn, site_id, external_id, article["id"], None)
        if before is not None:
            await self.publisher.article_changed(site_id, external_id, _encoder.encode(
                FeaturedChange(type="comment.unpinned", comment_id=before)))
        return found

    async def featured_of(self, staff: StaffLike, site: str | None, external_id: str) -> ArticleFeatured:
        """An article's picks (published ones, newest first) and pin, with who made each pick; ``site``:
        the one named, else the staff member's own."""
        site_id = one_site(staff, site)
        async with self.pool.acquire() as conn:
            article = await self._article(conn, site_id, external_id)
            return await self._featured(conn, site_id, external_id, article["id"], article["pinned_comment_id"])

    # ---------------------------------------------------------------- helpers
    @staticmethod
    async def _comment(conn: Connection, staff: StaffLike, comment_id: int) -> asyncpg.Record:
        row = await featured_repo.comment(conn, comment_id)
        if row is None:
            raise DomainError("comment_not_found")
        require_site(staff, row["site_id"])
        return row

    @staticmethod
    async def _article(conn: Connection, site_id: str, external_id: str) -> asyncpg.Record:
        article = await featured_repo.article(conn, site_id, external_id)
        if article is None:
            raise DomainError("article_not_found")
        return article

    @staticmethod
    async def _featured(conn: Connection, site_id: str, external_id: str, article_id: int,
                        pinned: int | None) -> ArticleFeatured:
        picks = await featured_repo.picks(conn, article_id, MAX_FEATURED)
        return ArticleFeatured(article_id=external_id, site_id=site_id, pinned_comment_id=pinned, featured=[
            FeaturedPick(comment_id=p["id"], featured_at=p["featured_at"], featured_by=p["featured_by"])
            for p in picks])

    @staticmethod
    async def _notify(conn: Connection, row: asyncpg.Record, *, featured: bool, pinned: bool) -> None:
        await featured_repo.notify(conn, featured_repo.FeaturedNote(
            s=row["site_id"], a=row["external_id"], c=row["id"], f=featured, p=pinned))

    async def _changed(self, row: asyncpg.Record, event: FeaturedEventType) -> None:
        # after commit, before answering: the next read of any reader, in any process, has it
        await self.publisher.article_changed(row["site_id"], row["external_id"], _encoder.encode(
            FeaturedChange(type=event, comment_id=row["id"])))
