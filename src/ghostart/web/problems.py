"""Errors as RFC 9457 problem details (``application/problem+json``).

Every :class:`~ghostart.errors.GhostartError` maps to one status by its class; request validation
errors are 422 and name the field; anything unexpected is a 500 whose body says nothing about
the cause (the Monitor gets the exception).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ghostart import errors

__all__ = ["PROBLEM_JSON", "install_problem_handlers", "problem", "status_for"]

log = logging.getLogger("ghostart.web")

PROBLEM_JSON = "application/problem+json"

#: Most specific first: the first class an error is an instance of decides its status.
_STATUS: tuple[tuple[type[errors.GhostartError], int], ...] = (
    (errors.Unauthenticated, 401),
    (errors.PermissionDenied, 403),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.InvalidInput, 422),
    (errors.QuotaExceeded, 402),
    (errors.TooManyRequests, 429),
    (errors.DomainError, 400),
    (errors.RateLimited, 503),
    (errors.TransientError, 503),
    (errors.ConfigurationError, 500),
    (errors.GhostartError, 502),  # a provider failed for good
)

_TITLES = {
    400: "Bad request",
    401: "Unauthenticated",
    402: "Quota exceeded",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal error",
    502: "Upstream provider failed",
    503: "Temporarily unavailable",
}


def status_for(exc: errors.GhostartError) -> int:
    """The HTTP status of a ghostart error."""
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def problem(
    status: int,
    detail: str,
    *,
    code: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem+json response."""
    body: dict[str, Any] = {
        "type": f"https://ghostart.dev/problems/{code}" if code else "about:blank",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if code:
        body["code"] = code
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def _ghostart_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.GhostartError)
    status = status_for(exc)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="ghostart"'
    retry_after = getattr(exc, "retry_after", None)
    if status in (429, 503) and retry_after is not None:
        headers["Retry-After"] = str(max(1, round(float(retry_after))))
    if status >= 500:
        log.warning("%s %s -> %d (%s)", request.method, request.url.path, status, exc.code)
        detail = {
            500: "the service is misconfigured",
            502: "a provider failed; try again later",
            503: "a dependency is unavailable; try again shortly",
        }[status]
        return problem(status, detail, code=exc.code, headers=headers)
    field = exc.details.get("field") if isinstance(exc.details.get("field"), str) else None
    extra: dict[str, Any] = {}
    if isinstance(exc, errors.QuotaExceeded):  # which limit, so that a client can show it
        extra = {k: exc.details.get(k) for k in ("plan", "limit", "used", "period_start")}
    return problem(status, exc.message, code=exc.code, headers=headers, field=field, **extra)


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for err in exc.errors():
        location = [str(part) for part in err.get("loc", ()) if part != "body"]
        problems.append({"field": ".".join(location) or None, "message": err.get("msg", "")})
    first = problems[0] if problems else {"field": None, "message": "invalid request"}
    detail = f"{first['field']}: {first['message']}" if first["field"] else str(first["message"])
    return problem(422, detail, code="invalid_input", field=first["field"], errors=problems)


_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return problem(exc.status_code, str(exc.detail), code=code, headers=dict(exc.headers or {}))


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    monitor = getattr(request.app.state, "monitor", None)
    if monitor is not None:
        monitor.capture_exception(exc, path=request.url.path)
    return problem(500, "an unexpected error occurred", code="internal_error")


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` as problem+json."""
    app.add_exception_handler(errors.GhostartError, _ghostart_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
