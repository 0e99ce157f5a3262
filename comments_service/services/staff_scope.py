"""Who may moderate where: every moderation service checks the staff member's sites here."""

from __future__ import annotations

from typing import Any, Protocol

from ..errors import DomainError
from .sites import SiteDirectory


class StaffLike(Protocol):
    """A verified moderator or admin (api.auth.Staff, a frozen Struct: hence read-only members)."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def role(self) -> str: ...

    @property
    def site_id(self) -> str | None: ...

    def can_act_on(self, site_id: str) -> bool: ...


def require_site(staff: StaffLike, site_id: str) -> None:
    if not staff.can_act_on(site_id):
        raise DomainError("forbidden", "This moderator may not act on that site.")


def scope_of(staff: StaffLike, site_id: str | None) -> str | None:
    """The site a listing covers: the one asked for, else the staff's own, else all sites."""
    if site_id is not None:
        require_site(staff, site_id)
        return site_id
    return staff.site_id


def one_site(staff: StaffLike, site_id: str | None, detail: str | None = None) -> str:
    """The one site a per-site view covers: as scope_of, but an admin of every site must name one
    (400 site_required)."""
    scope = scope_of(staff, site_id)
    if scope is None:
        raise DomainError("site_required", detail)
    return scope


async def site_settings(sites: SiteDirectory, site_id: str | None) -> dict[str, Any]:
    return (await sites.get(site_id)).site.settings if site_id else {}
