"""Readers' data rights (services/privacy.py, PRIVACY.md): a signed-in reader's export of everything
held about them on the site, and its erasure; and the same erasure by a site's admin for one of its
readers who asked some other way."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, delete, get
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from msgspec import Meta

from ..domain.privacy_models import ErasureReceipt, ReaderData
from ..domain.structs import Struct
from ..services.privacy import DataRights
from .auth import ModeratorRoutes, requires_admin, staff_of
from .deps import reader_of
from .params import SiteParam

_NO_STORE = {"Cache-Control": "private, no-store"}


class ErasureRequest(Struct, forbid_unknown_fields=True):
    confirm: Annotated[str, Meta(max_length=20, description=(
        'Must be "erase": a request without it erases nothing (400 erasure_not_confirmed).'))] | None = None


class MyDataController(Controller):
    path = "/api/v1/me/data"
    tags = ["privacy"]

    @get("", summary="Everything held about the signed-in reader on this site",
         description="Profile, comments (any status, with their text and the address each came from until "
                     "the retention sweep clears it), votes, reports, email subscriptions, problem reports, "
                     "a ban in force. Each list holds at most the newest `limit` rows; `truncated` names "
                     "those cut. Never cached.")
    async def export(self, data_rights: NamedDependency[DataRights], request: Request,
                     site: SiteParam = None) -> Response[ReaderData]:
        entry, actor = await reader_of(request)
        return Response(await data_rights.export(entry, actor), headers=_NO_STORE)

    @delete("", summary="Erase the signed-in reader's data on this site", status_code=200,
             description='Needs the body {"confirm": "erase"}. Comments become tombstones (or go, on sites whose '
                         "erasure setting is remove), the name and email go, votes go (totals stay), reports "
                         "stay without the reporter, subscriptions go, problem reports are cleared. Erasing "
                         "again changes nothing more.")
    async def erase(self, data_rights: NamedDependency[DataRights], request: Request,
                    data: JSONBody[ErasureRequest | None] = None,
                    site: SiteParam = None) -> Response[ErasureReceipt]:
        entry, actor = await reader_of(request)
        receipt = await data_rights.erase_own(entry, actor, data.confirm if data is not None else None)
        return Response(receipt, headers=_NO_STORE)


class UserDataController(ModeratorRoutes):
    path = "/api/v1/moderation"

    @delete("/users/{user_id:int}/data", summary="Erase a reader's data, as they could themselves (admins)",
            guards=[requires_admin], status_code=200,
            description='Needs the body {"confirm": "erase"}; a reader of another site answers 404 user_not_found.')
    async def erase_user(self, data_rights: NamedDependency[DataRights], request: Request, user_id: FromPath[int],
                         data: JSONBody[ErasureRequest | None] = None, site: SiteParam = None) -> ErasureReceipt:
        return await data_rights.erase_user(staff_of(request), site, user_id,
                                            data.confirm if data is not None else None)
