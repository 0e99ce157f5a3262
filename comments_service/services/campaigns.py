"""Copy-paste campaigns for moderators: the list, and one decision for a whole campaign (every
comment of it rejected or approved, its authors banned if asked). How comments are grouped into
campaigns is services/repeats.py; each comment's decision is the moderation queue's, audited and
announced as any other."""

from __future__ import annotations

from typing import Literal

import asyncpg

from ..db import campaigns as campaign_repo
from ..domain.moderation_models import BulkResult
from ..domain.policy import COPY_CAMPAIGN
from ..domain.structs import Struct
from ..errors import DomainError
from .moderation_queue import ModerationQueue
from .staff_scope import StaffLike, require_site, scope_of
from .user_moderation import UserModeration

CampaignAction = Literal["reject", "approve"]
MAX_LISTED = 100


class Campaign(Struct, frozen=True):
    id: int
    site_id: str
    created_at: str
    comments: int
    waiting: int  # held or being scored
    published: int
    authors: int
    sample: str  # the start of its first comment's text
    decided_at: str | None = None
    decided_by: str | None = None


class CampaignList(Struct, frozen=True):
    campaigns: list[Campaign]


class CampaignDecision(Struct, frozen=True):
    campaign_id: int
    action: str
    comments: BulkResult
    banned: list[int]  # the authors banned


class Campaigns:
    def __init__(self, pool: asyncpg.Pool, decisions: ModerationQueue, users: UserModeration) -> None:
        self.pool = pool
        self.decisions = decisions
        self.users = users

    async def listing(self, staff: StaffLike, site_id: str | None, *, decided: bool) -> CampaignList:
        scope = scope_of(staff, site_id)
        async with self.pool.acquire() as conn:
            rows = await campaign_repo.listing(conn, scope, decided=decided, limit=MAX_LISTED)
        return CampaignList(campaigns=[Campaign(
            id=r["id"], site_id=r["site_id"], created_at=r["created_at"].isoformat(), comments=r["comments"],
            waiting=r["waiting"], published=r["published"], authors=r["authors"], sample=r["sample"] or "",
            decided_at=r["decided_at"].isoformat() if r["decided_at"] else None, decided_by=r["decided_by"],
        ) for r in rows])

    async def decide(self, staff: StaffLike, campaign_id: int, action: CampaignAction, *, reason: str | None,
                     note: str | None, ban_authors: bool) -> CampaignDecision:
        """Reject, or approve, the campaign's comments waiting in the queue for being part of it
        (held ``copy_campaign``): a rejection leaves out the campaign's original (its first text:
        perhaps the reader's comment that the others copied); a copy published and left up and a
        comment held for another reason are left for a moderator to decide one by one. With
        ``ban_authors`` (rejections only) the authors of the rejected ones are banned until lifted,
        which replaces a suspension one may be serving: the moderator chose to ban whoever ran the
        campaign, and a suspension's end would let them back in."""
        if ban_authors and action != "reject":
            raise DomainError("invalid_request", "Only a rejected campaign's authors can be banned with it.")
        async with self.pool.acquire() as conn:
            found = await campaign_repo.get(conn, campaign_id)
            if found is None or not staff.can_act_on(found["site_id"]):
                raise DomainError("campaign_not_found")
            members = await campaign_repo.members(conn, campaign_id)
        require_site(staff, found["site_id"])
        # the campaign's original, the first text written, may be a reader's comment that others
        # copied: it is left for a moderator to decide on its own, never rejected or banned in bulk
        original = (min(members, key=lambda m: (m["written"], m["id"]))["id"]
                    if members and action == "reject" else None)
        waiting = [m for m in members if m["status"] == "held" and m["status_reason"] == COPY_CAMPAIGN
                   and m["id"] != original]
        ids = [m["id"] for m in waiting]
        result = await self.decisions.decide_many(staff, ids, action, reason=(reason or "spam") if action == "reject"
                                                  else None, note=note, override=True, site_id=found["site_id"])
        banned: list[int] = []
        if ban_authors:
            decided = {r.comment_id for r in result.results if r.outcome == "rejected"}
            for author_id in dict.fromkeys(m["author_id"] for m in waiting if m["id"] in decided):
                try:
                    await self.users.ban(staff, author_id, until=None, reason="Copy-paste campaign", note=note,
                                         reject_existing=False)
                except DomainError:  # already banned, or gone: the others are still banned
                    continue
                banned.append(author_id)
        async with self.pool.acquire() as conn:
            await campaign_repo.mark_decided(conn, campaign_id, staff.id)
        return CampaignDecision(campaign_id=campaign_id, action=action, comments=result, banned=banned)
