"""The single mapper from errors to HTTP problem responses (application/problem+json)."""

from __future__ import annotations

import logging
import os

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from .. import i18n
from ..errors import CATALOGUE, DomainError
from ..logs import access, request_id
from ..metrics import record_error

# the problem body is shared with the listeners that answer off the socket (raw_http.py); the
# middleware and the streams, which answer before a route, take it from here like the app
from ..raw_http import PROBLEM_JSON as PROBLEM_JSON
from ..raw_http import Problem
from ..raw_http import problem_bytes as problem_bytes
from ..services.database_errors import database_failure

log = logging.getLogger("comments_service.api")


def problem_response(code: str, detail: str | None = None, *, headers: dict[str, str] | None = None,
                     locale: str = i18n.DEFAULT, **extra) -> Response:
    info = CATALOGUE[code]
    record_error(code)  # diagnostics' "recent errors by code" and comments_errors_total
    known = {k: v for k, v in extra.items() if k in Problem.__struct_fields__}
    title, detail = i18n.problem_text(code, info.message, detail, locale)
    body = Problem(code=code, title=title, status=info.status, detail=detail, request_id=request_id.get(), **known)
    # the words follow the reader's language (i18n.py): a shared cache must keep one answer per language
    localised_headers = dict(headers or {})
    vary = [v.strip() for v in localised_headers.get("Vary", "").split(",") if v.strip()]
    localised_headers["Vary"] = ", ".join(vary + ["Accept-Language"] if "Accept-Language" not in vary else vary)
    # said only where the words are in it: staff codes and untranslated messages stay English
    localised_headers["Content-Language"] = i18n.problem_language(code, info.message, locale)
    return Response(content=body, status_code=info.status, media_type=PROBLEM_JSON, headers=localised_headers)


def _locale(request: Request | None) -> str:
    # the last-resort handlers answer even without a request to read a language from
    return i18n.scope_locale(request.scope) if request is not None else i18n.DEFAULT


def on_domain_error(request: Request, exc: DomainError) -> Response:
    return problem_response(exc.code, exc.message, headers=exc.headers, locale=_locale(request), **exc.extra)


def on_validation_error(request: Request, exc: ValidationException) -> Response:
    detail = str(exc.detail)
    extra = exc.extra if isinstance(exc.extra, list) else None
    code = "invalid_json" if "JSON" in detail or "UTF-8" in detail or "utf-8" in detail else "invalid_request"
    message = "; ".join(f"{e.get('key', '')}: {e.get('message', '')}".strip(": ") for e in (extra or [])) or detail
    errors = [{"key": str(e.get("key")), "message": str(e.get("message"))} for e in (extra or [])]
    return problem_response(code, message, locale=_locale(request), errors=errors or None)


_STATUS_CODES = {400: "invalid_request", 401: "auth_required", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 413: "request_too_large", 429: "rate_limited", 503: "service_unavailable"}


def on_http_exception(request: Request, exc: HTTPException) -> Response:
    if exc.detail == "client disconnected prematurely":
        # a client that hung up (or was cut off by the body deadline) mid-body: nobody reads this
        # answer, and it is no fault of ours to log as one
        return problem_response("request_timeout", locale=_locale(request))
    code = _STATUS_CODES.get(exc.status_code)
    if code is None:
        log.error("unmapped http exception", extra={"status": exc.status_code, "detail": exc.detail})
        return problem_response("internal_error", locale=_locale(request))
    detail = str(exc.detail) if exc.status_code == 400 else None
    if code == "invalid_request" and detail and ("JSON" in detail or "decode" in detail.lower()):
        code = "invalid_json"
    headers = dict(exc.headers or {})
    if "request_id" not in request.scope.get("state", {}):
        # answered before any route (no route matches the path), so without the edge middleware
        # that gives every other answer its security headers, request id and access log line
        # (api/middleware.py)
        headers["X-Content-Type-Options"] = "nosniff"
        rid = os.urandom(16).hex()
        headers["X-Request-Id"] = rid
        token = request_id.set(rid)
        try:
            response = problem_response(code, detail, headers=headers, locale=_locale(request))
        finally:
            request_id.reset(token)
        access(request.scope["method"], "unmatched", CATALOGUE[code].status, None, rid, None, code)
        return response
    return problem_response(code, detail, headers=headers, locale=_locale(request))


def on_undecodable(request: Request, exc: UnicodeDecodeError) -> Response:
    # Litestar's JSON reader lets a body that is not UTF-8 escape as a bare UnicodeDecodeError
    return problem_response("invalid_json", f"The request body is not valid UTF-8 ({exc.reason} at byte {exc.start}).",
                            locale=_locale(request))


def on_recursion(request: Request, exc: RecursionError) -> Response:
    # JSON nested deeper than the interpreter's stack: msgspec ("while deserializing") and the json
    # module ("while decoding") say so; any other RecursionError is a fault of ours
    if "deserializing" in str(exc) or "decoding" in str(exc):
        return problem_response("invalid_json", "The JSON is nested too deeply.", locale=_locale(request))
    return on_unexpected(request, exc)


def on_unexpected(request: Request, exc: Exception) -> Response:
    failure = database_failure(exc)
    if failure == "invalid_characters":
        return problem_response("invalid_characters", locale=_locale(request))
    if failure == "site_deleted":
        return problem_response("unknown_site", locale=_locale(request))
    if failure == "out_of_range":
        log.warning("data exception", extra={"error": f"{type(exc).__name__}: {exc}"})
        return problem_response("invalid_request", "A value in the request is out of range.",
                                locale=_locale(request))
    if failure == "unavailable":
        log.warning("database unavailable", extra={"error": f"{type(exc).__name__}: {exc}"})
        return problem_response("service_unavailable", "The database is unreachable; try again shortly.",
                                headers={"Retry-After": "5"}, locale=_locale(request))
    log.exception("unhandled error", exc_info=exc)
    return problem_response("internal_error", locale=_locale(request))


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: on_domain_error,
    ValidationException: on_validation_error,
    HTTPException: on_http_exception,
    UnicodeDecodeError: on_undecodable,
    RecursionError: on_recursion,
    Exception: on_unexpected,
}
