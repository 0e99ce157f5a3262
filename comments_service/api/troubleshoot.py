"""The reader's troubleshooter ("why can't I comment?"), the reader's problem report that carries its
checks to the site's moderators, and the catalogue of error codes."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter

from .. import i18n
from ..domain import article_ids
from ..domain.article_ids import ArticleId
from ..domain.structs import Struct
from ..errors import CATALOGUE, DomainError, ErrorInfo
from ..logs import request_id
from ..services.troubleshoot import Troubleshooter, TroubleshootQuery, TroubleshootResult
from .deps import bearer_token, client_ip
from .middleware import ANY_ORIGIN
from .params import ArticleQuery, SiteParam

CommentParam = Annotated[int | None, QueryParameter(required=False, ge=1, le=2**63 - 1)]
ClientCheckParam = Annotated[str | None, QueryParameter(
    required=False, max_length=200,
    description="The widget's own browser check, e.g. 'cookies=ok,local_storage=blocked'.")]
ClientTimeParam = Annotated[int | None, QueryParameter(
    required=False, ge=0, le=2**53,
    description="The reader's device clock in milliseconds since the epoch, to detect a skewed clock.")]


class ProblemReportCreate(Struct, forbid_unknown_fields=True):
    description: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
    article_id: ArticleId | None = None
    comment_id: Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)] | None = None
    client_check: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    client_time: Annotated[int, msgspec.Meta(ge=0, le=2**53)] | None = None

    def __post_init__(self) -> None:
        # msgspec turns this ValueError into a validation error (400 invalid_request)
        if self.article_id is not None and article_ids.first_invalid([self.article_id]) is not None:
            raise ValueError("article_id contains control characters")


class ProblemReportFiled(Struct):
    reference: str
    message: str
    troubleshoot: TroubleshootResult


class ErrorCodes(Struct):
    codes: dict[str, ErrorInfo]


def _query(request: Request, site: str | None, article_id: str | None, comment_id: int | None,
           client_check: str | None, client_time: int | None) -> TroubleshootQuery:
    token, header_error = None, None
    try:
        token = bearer_token(request)
    except DomainError as err:  # a malformed header is one of the things being diagnosed
        header_error = err
    return TroubleshootQuery(site=site, external_id=article_id or None, comment_id=comment_id,
                             origin=request.headers.get("origin"), token=token, token_header_error=header_error,
                             ip=client_ip(request), client_check=client_check,
                             client_time_ms=client_time, request_id=request_id.get(),
                             locale=i18n.scope_locale(request.scope))


class TroubleshootController(Controller):
    path = "/api/v1/troubleshoot"
    tags = ["troubleshooting"]
    # answers every origin: a page whose origin the site refuses is one of the things it explains
    opt = {ANY_ORIGIN: True}

    @get("", summary="Why can't I comment? Checks for this reader, article and comment")
    async def troubleshoot(self, request: Request, troubleshooter: NamedDependency[Troubleshooter],
                           site: SiteParam = None, article_id: ArticleQuery = None,
                           comment_id: CommentParam = None,
                           client_check: ClientCheckParam = None,
                           client_time: ClientTimeParam = None) -> Response[TroubleshootResult]:
        result = await troubleshooter.answer(_query(request, site, article_id, comment_id, client_check, client_time))
        # about this reader (their comment, its statement of reasons, their ban): never kept by a cache
        return Response(result, headers={"Cache-Control": "private, no-store"})


# The troubleshooter's other routes, which follow each site's own origins as every public route does.
class TroubleshootSiteController(Controller):
    path = "/api/v1/troubleshoot"
    tags = ["troubleshooting"]

    @post("/reports", summary="Report a commenting problem to the site's moderators", status_code=201)
    async def report(self, request: Request, troubleshooter: NamedDependency[Troubleshooter],
                     data: JSONBody[ProblemReportCreate], site: SiteParam = None) -> ProblemReportFiled:
        q = _query(request, site, data.article_id, data.comment_id, data.client_check, data.client_time)
        reference, result = await troubleshooter.file_report(
            q, description=data.description.strip() or data.description,
            user_agent=request.headers.get("user-agent"))
        return ProblemReportFiled(
            reference=reference, troubleshoot=result,
            message=i18n.translate("Thank you. Your report reached the site's moderators; quote {reference} if you "
                                   "contact them.", q.locale, reference=reference))

    @get("/codes", summary="Every error code the API returns, with its plain-language explanation",
         description="In the reader's language (the lang query parameter, else Accept-Language); the codes and "
                     "statuses are the same in every language.")
    async def codes(self, request: Request) -> Response[ErrorCodes]:
        locale = i18n.scope_locale(request.scope)
        codes = CATALOGUE if locale == i18n.DEFAULT else {
            code: ErrorInfo(info.status, i18n.translate(info.message, locale), i18n.translate(info.help, locale))
            for code, info in CATALOGUE.items()}
        return Response(ErrorCodes(codes=codes), headers={"Content-Language": locale, "Vary": "Accept-Language"})
