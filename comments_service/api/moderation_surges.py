"""Moderator routes about surges of new accounts (services/surge.py): the articles of a site in one
now, for the console's banner."""

from __future__ import annotations

from litestar import Request, get
from litestar.di import NamedDependency

from ..services.surge import SurgeList, Surges
from .auth import ModeratorRoutes, staff_of
from .params import SiteParam


class SurgesController(ModeratorRoutes):
    path = "/api/v1/moderation"

    @get("/surges", summary="The site's articles in a surge of new accounts",
         description="Articles where many new accounts (guests, or accounts younger than the site's "
                     "moderation.surge.new_account_hours) commented within the surge window: new accounts' "
                     "comments there are held (surge_premoderation) until the surge has passed. Newest "
                     "first, at most 100, each with how many of those comments wait.")
    async def surges(self, surges: NamedDependency[Surges], request: Request, site: SiteParam = None) -> SurgeList:
        return await surges.listed(staff_of(request), site)
