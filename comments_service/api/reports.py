"""The reader route that flags a comment for moderators."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, Request, post
from litestar.di import Provide
from msgspec import Meta

from ..domain.models import Base
from ..domain.moderation_models import ReportReceipt
from ..services.comments import Actor
from ..services.sites import SiteEntry
from .deps import provide_actor, provide_site_entry, services_of


class ReportCreate(Base):
    reason: Literal["offensive", "spam", "off_topic", "other"]
    note: Annotated[str, Meta(max_length=1000, pattern=r"^[^\x00]*$")] | None = None


class ReportsController(Controller):
    path = "/api/v1"
    tags = ["comments"]
    dependencies = {"site_entry": Provide(provide_site_entry), "actor": Provide(provide_actor)}

    @post("/comments/{comment_id:int}/reports", summary="Report a comment to the moderators (once per reader)",
          status_code=201)
    async def report(self, request: Request, site_entry: SiteEntry, actor: Actor, comment_id: int,
                     data: ReportCreate) -> ReportReceipt:
        return await services_of(request).moderation.report(site_entry, actor, comment_id, data.reason, data.note)
