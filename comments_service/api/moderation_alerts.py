"""A moderator's own email alerts on a site (services/moderator_alerts.py)."""

from __future__ import annotations

from litestar import Request, delete, get, put
from litestar.di import NamedDependency
from litestar.params import JSONBody

from ..services.moderator_alerts import AlertSettings, AlertUpdate, ModeratorAlerts
from .auth import ModeratorRoutes, staff_of
from .params import RequiredSiteParam


class ModeratorAlertsController(ModeratorRoutes):
    path = "/api/v1/moderation/alerts"

    @get("", summary="The caller's email alerts on a site (null: none)")
    async def mine(self, moderator_alerts: NamedDependency[ModeratorAlerts], request: Request,
                   site: RequiredSiteParam) -> AlertSettings | None:
        return await moderator_alerts.get(staff_of(request), site)

    @put("", summary="Set the caller's email alerts on a site: problem reports, reports over a threshold, "
                     "a digest of the held queue", status_code=200)
    async def save(self, moderator_alerts: NamedDependency[ModeratorAlerts], request: Request,
                   site: RequiredSiteParam, data: JSONBody[AlertUpdate]) -> AlertSettings:
        return await moderator_alerts.save(staff_of(request), site, data)

    @delete("", summary="Turn the caller's email alerts on a site off", status_code=204)
    async def off(self, moderator_alerts: NamedDependency[ModeratorAlerts], request: Request,
                  site: RequiredSiteParam) -> None:
        await moderator_alerts.delete(staff_of(request), site)

