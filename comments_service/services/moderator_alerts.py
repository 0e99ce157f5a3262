"""Each moderator's email alerts on a site: new problem reports, comments whose open reports
reach a threshold, a digest of the held queue (the notifier sends them: services/notifications.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import asyncpg
from msgspec import Meta

from ..db import notifications as repo
from ..domain.email_addresses import normalise
from ..domain.structs import Struct
from ..errors import DomainError
from .notification_links import NotificationLinks, address_digest
from .staff_scope import StaffLike, require_site


class AlertSettings(Struct, frozen=True):
    email: str
    problem_reports: bool
    report_threshold: int | None
    held_digest_minutes: int | None
    updated_at: datetime


class AlertUpdate(Struct, frozen=True, forbid_unknown_fields=True):
    email: Annotated[str, Meta(max_length=254, description="Where the alerts go.")]
    problem_reports: Annotated[bool, Meta(description="An email for each problem report a reader files.")] = False
    report_threshold: Annotated[int, Meta(ge=1, le=1000, description=(
        "An email when a comment's open reports reach this many (once per comment)."))] | None = None
    held_digest_minutes: Annotated[int, Meta(ge=5, le=1440, description=(
        "A digest of the held queue this often, only while something waits."))] | None = None


def _view(row: asyncpg.Record) -> AlertSettings:
    return AlertSettings(email=row["email"], problem_reports=row["problem_reports"],
                         report_threshold=row["report_threshold"], held_digest_minutes=row["held_digest_minutes"],
                         updated_at=row["updated_at"])


class ModeratorAlerts:
    def __init__(self, pool: asyncpg.Pool, links: NotificationLinks) -> None:
        self.pool = pool
        self.links = links

    async def get(self, staff: StaffLike, site_id: str) -> AlertSettings | None:
        require_site(staff, site_id)
        async with self.pool.acquire() as conn:
            row = await repo.alert_of(conn, site_id, staff.id)
        return _view(row) if row is not None else None

    async def save(self, staff: StaffLike, site_id: str, update: AlertUpdate) -> AlertSettings:
        require_site(staff, site_id)
        email = normalise(update.email)
        if email is None:
            raise DomainError("invalid_email")
        async with self.pool.acquire() as conn:
            if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM sites WHERE id = $1)", site_id):
                raise DomainError("unknown_site")
            row = await repo.save_alert(conn, site_id=site_id, staff_id=staff.id, staff_name=staff.name, email=email,
                                        problem_reports=update.problem_reports,
                                        report_threshold=update.report_threshold,
                                        held_digest_minutes=update.held_digest_minutes)
        return _view(row)

    async def delete(self, staff: StaffLike, site_id: str) -> None:
        require_site(staff, site_id)
        async with self.pool.acquire() as conn:
            row = await repo.alert_of(conn, site_id, staff.id)
            if row is not None:
                await repo.delete_alert(conn, row["id"])

    async def by_link(self, token: str) -> str:
        """The address a link to turn alerts off was sent to, while those alerts still go there."""
        claims = self.links.open("alerts", token)
        async with self.pool.acquire() as conn:
            row = await repo.alert(conn, claims.subscription_id)
        if row is None or address_digest(row["email"]) != claims.address:
            raise DomainError("subscription_not_found")
        return str(row["email"])

    async def off_by_link(self, token: str) -> str:
        email = await self.by_link(token)
        claims = self.links.open("alerts", token)
        async with self.pool.acquire() as conn:
            await repo.delete_alert(conn, claims.subscription_id, email)
        return email
