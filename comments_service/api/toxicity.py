"""POST /api/v1/toxicity/check: warn a reader before posting text that would likely be held."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, post
from litestar.di import Provide
from msgspec import Meta

from ..domain.models import Base
from ..services.comments import Actor
from ..services.sites import SiteEntry
from .deps import provide_actor, provide_site_entry, services_of


class ToxicityCheck(Base):
    body: Annotated[str, Meta(max_length=100_000, description="The draft comment (Markdown).")]


class ToxicityCheckResult(Base):
    likely_held: bool
    message: Annotated[str | None, Meta(description="What the widget shows when likely_held.")] = None


class ToxicityController(Controller):
    path = "/api/v1/toxicity"
    tags = ["comments"]
    dependencies = {"site_entry": Provide(provide_site_entry), "actor": Provide(provide_actor)}

    @post("/check", summary="Would this draft likely be held for review?", status_code=200)
    async def check(self, request: Request, site_entry: SiteEntry, actor: Actor,
                    data: ToxicityCheck) -> ToxicityCheckResult:
        result = await services_of(request).nudge.check(site_entry, actor, data.body)
        return ToxicityCheckResult(likely_held=result.likely_held, message=result.message)
