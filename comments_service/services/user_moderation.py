"""Moderating readers: their standing (banned, premoderated, trusted), bans and unbans, and the
flags a moderator sets on them. A ban may reject the user's waiting and published comments in
the same transaction (services/moderation_queue.py decides each)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

import asyncpg

from ..db import audit as audit_repo
from ..db import moderation as mod_repo
from ..db import sites as sites_repo
from ..db.connection import Connection
from ..domain.moderation_models import BanResult, UserStanding
from ..domain.policy import PolicyConfig
from ..errors import DomainError
from .moderation_queue import ModerationQueue
from .publishing import Publisher, VisibleChange
from .staff_scope import StaffLike, require_site

BanAction = Literal["ban", "suspend"]
# the audit action that undoes a flag, where "un" + its name reads badly
_LIFTED = {"shadow_restrict": "lift_shadow_restriction"}


async def offers_shadow_restriction(conn: Connection, site_id: str) -> bool:
    """Whether the site's moderators may shadow-restrict readers (moderation.shadow_restriction)."""
    found = await sites_repo.get(conn, site_id)
    if found is None:
        return False
    try:
        return PolicyConfig.from_site_settings(found[0].settings).shadow_restriction
    except ValueError:  # settings stored before their rules: the option is not known to be on
        return False


class UserModeration:
    def __init__(self, pool: asyncpg.Pool, decisions: ModerationQueue, publisher: Publisher) -> None:
        self.pool = pool
        self.decisions = decisions
        self.publisher = publisher

    async def _user_of(self, conn: Connection, staff: StaffLike, user_id: int,
                       for_update: bool = False) -> asyncpg.Record:
        user = await mod_repo.user(conn, user_id, for_update=for_update)
        if user is None:
            raise DomainError("user_not_found")
        require_site(staff, user["site_id"])
        return user

    async def user_standing(self, site_id: str, user_id: int) -> UserStanding | None:
        """Whether a user of a site is banned (until when), premoderated or trusted; None if unknown.
        For the troubleshooter and the widget: no moderator needed."""
        async with self.pool.acquire() as conn:
            return await self._standing(conn, site_id, user_id)

    @staticmethod
    async def _standing(conn: Connection, site_id: str, user_id: int) -> UserStanding | None:
        user = await mod_repo.user(conn, user_id)
        if user is None or user["site_id"] != site_id:
            return None
        ban = await mod_repo.active_ban(conn, site_id, user_id)
        return UserStanding(user_id=user_id, site_id=site_id, name=user["display_name"], kind=user["kind"],
                            banned=ban is not None, banned_until=ban["until"] if ban else None,
                            ban_reason=ban["reason"] if ban else None, premoderated=user["premoderate"],
                            trusted=user["trusted"], shadow_restricted=user["shadow_restricted"])

    async def _standing_of(self, conn: Connection, site_id: str, user_id: int) -> UserStanding:
        """The standing of a user the caller has just read (and locked): theirs, always found."""
        standing = await self._standing(conn, site_id, user_id)
        if standing is None:
            raise DomainError("user_not_found")
        return standing

    async def standing_for(self, staff: StaffLike, user_id: int) -> UserStanding:
        async with self.pool.acquire() as conn:
            user = await self._user_of(conn, staff, user_id)
            return await self._standing_of(conn, user["site_id"], user_id)

    async def ban(self, staff: StaffLike, user_id: int, *, until: datetime | None, reason: str | None,
                  note: str | None, reject_existing: bool, action: BanAction = "ban") -> BanResult:
        """A ban replaces the reader's current one. A suspension ("suspend": a ban for hours, in the
        same table, so every write is refused by the same rule) never shortens a ban in force."""
        if until is not None and until <= datetime.now(UTC):
            raise DomainError("invalid_request", "The ban's end time must be in the future.")
        visible: list[VisibleChange] = []
        rejected = 0
        async with self.pool.acquire() as conn, conn.transaction():
            user = await self._user_of(conn, staff, user_id, for_update=True)
            site_id = user["site_id"]
            before = await mod_repo.active_ban(conn, site_id, user_id)
            if action == "suspend" and before is not None and (
                    before["until"] is None or until is None or before["until"] >= until):
                ends = f"until {before['until'].isoformat(timespec='minutes')}" if before["until"] else "until lifted"
                raise DomainError("already_banned", f"The reader is already banned {ends}.")
            await mod_repo.upsert_ban(conn, site_id, user_id, until, reason, note, staff.id)
            await audit_repo.record(conn, site_id=site_id, actor_id=staff.id, actor_name=staff.name,
                                    action=action, user_id=user_id, reason=reason, note=note,
                                    details={"until": until, "reject_existing": reject_existing,
                                             "before": {"until": before["until"], "reason": before["reason"]}
                                             if before else None})
            if reject_existing:
                for comment_id in await mod_repo.comments_to_reject(conn, user_id, site_id):
                    result, change = await self.decisions.reject_for_ban(conn, staff, comment_id)
                    rejected += result.changed
                    if change:
                        visible.append(change)
            standing = await self._standing_of(conn, site_id, user_id)
        await self.publisher.announce(visible)
        return BanResult(standing=standing, rejected_comments=rejected)

    async def suspend(self, staff: StaffLike, user_id: int, *, hours: int, reason: str | None,
                      note: str | None = None) -> BanResult:
        """A ban that ends by itself after ``hours``, recorded as a suspension."""
        return await self.ban(staff, user_id, until=datetime.now(UTC) + timedelta(hours=hours), reason=reason,
                              note=note, reject_existing=False, action="suspend")

    async def unban(self, staff: StaffLike, user_id: int) -> UserStanding:
        async with self.pool.acquire() as conn, conn.transaction():
            return await self.unban_in(conn, staff, user_id)

    async def unban_in(self, conn: Connection, staff: StaffLike, user_id: int) -> UserStanding:
        """An unban inside the caller's transaction (services/dsa.py: an appeal reversing a ban)."""
        user = await self._user_of(conn, staff, user_id, for_update=True)
        before = await mod_repo.active_ban(conn, user["site_id"], user_id)
        if await mod_repo.delete_ban(conn, user["site_id"], user_id):
            await audit_repo.record(conn, site_id=user["site_id"], actor_id=staff.id,
                                    actor_name=staff.name, action="unban", user_id=user_id,
                                    details={"before": {"until": before["until"], "reason": before["reason"]}
                                             if before else None})
        return await self._standing_of(conn, user["site_id"], user_id)

    async def set_user_flags(self, staff: StaffLike, user_id: int, *, trusted: bool | None,
                             premoderate: bool | None, note: str | None = None,
                             shadow_restricted: bool | None = None) -> UserStanding:
        """Trust, premoderation and shadow restriction. A shadow restriction holds the reader's new
        comments only (their held ones stay as they are) and only on a site that offers it; lifting
        one is never refused, and leaves what it held in the queue for a moderator."""
        async with self.pool.acquire() as conn, conn.transaction():
            user = await self._user_of(conn, staff, user_id, for_update=True)
            if shadow_restricted and not user["shadow_restricted"] and not await offers_shadow_restriction(
                    conn, user["site_id"]):
                raise DomainError("shadow_restriction_off")
            await mod_repo.set_user_flags(conn, user_id, trusted, premoderate, shadow_restricted)
            for name, value, old in (("trust", trusted, user["trusted"]),
                                     ("premoderate", premoderate, user["premoderate"]),
                                     ("shadow_restrict", shadow_restricted, user["shadow_restricted"])):
                if value is not None and value != old:
                    action = name if value else _LIFTED.get(name, f"un{name}")
                    await audit_repo.record(conn, site_id=user["site_id"], actor_id=staff.id,
                                            actor_name=staff.name, action=action, user_id=user_id, note=note)
            return await self._standing_of(conn, user["site_id"], user_id)
