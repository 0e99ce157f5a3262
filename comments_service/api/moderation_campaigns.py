"""Moderator routes for copy-paste campaigns (services/campaigns.py): comments of nearly the same
text from several authors, grouped so that one action decides them all."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from msgspec import Meta

from ..domain.structs import Struct
from ..services.campaigns import CampaignDecision, CampaignList, Campaigns
from .auth import ModeratorRoutes, staff_of
from .moderation import Note, Reason
from .params import SiteParam


class CampaignDecisionRequest(Struct, forbid_unknown_fields=True):
    action: Literal["reject", "approve"]
    reason: Reason | None = None  # a rejection's reason code (default: spam)
    note: Note | None = None
    ban_authors: bool = False


class CampaignsController(ModeratorRoutes):
    path = "/api/v1/moderation"

    @get("/campaigns", summary="Copy-paste campaigns: comments of nearly the same text by several authors",
         description="Newest first, at most 100. decided=true lists decided ones too.")
    async def campaigns(self, campaigns: NamedDependency[Campaigns], request: Request, site: SiteParam = None,
                        decided: Annotated[bool, Meta(description="include decided campaigns")] = False
                        ) -> CampaignList:
        return await campaigns.listing(staff_of(request), site, decided=decided)

    @post("/campaigns/{campaign_id:int}/decision", status_code=200,
          summary="Reject (or approve) a campaign's waiting comments; optionally ban their authors",
          description="Decides the campaign's comments held for being part of it (copy_campaign). A rejection "
                      "leaves out its original (the first text written: perhaps a reader's comment the others "
                      "copied); a copy left published and one held for another reason are left to decide one by "
                      "one. ban_authors (with reject) bans the authors of the rejected ones. Each comment's "
                      "decision is audited as a moderator's decision.")
    async def decide(self, campaigns: NamedDependency[Campaigns], request: Request, campaign_id: FromPath[int],
                     data: JSONBody[CampaignDecisionRequest]) -> CampaignDecision:
        return await campaigns.decide(staff_of(request), campaign_id, data.action, reason=data.reason,
                                      note=data.note, ban_authors=data.ban_authors)
