"""LinkedIn's answers translated onto ghostart's provider taxonomy, once, at the boundary.

=========================================  =====================================================
LinkedIn answer                            ghostart error
=========================================  =====================================================
401 (65600 invalid, 65601 revoked, ...)    ``AuthExpired``: refreshed once; then ``NeedsReconnect``
400 ``invalid_grant`` (token endpoint)     ``NeedsReconnect`` (one event, see :mod:`.tokens`)
429 (``... DAY limit ...``)                ``RateLimited``, ``retry_after`` = to midnight UTC
5xx, 408, 409, timeouts, dropped links     ``TransientError`` (``ambiguous`` if it may have landed)
422 ``DUPLICATE_POST``                     ``DuplicateContent``, ``existing_id`` from the message
426 ``NONEXISTENT_VERSION``                ``ConfigurationError`` naming GHOSTART_LINKEDIN_VERSION
400, 403, 404, other 4xx                   ``PermanentError`` with LinkedIn's own message
=========================================  =====================================================

LinkedIn's error body is ``{"status", "serviceErrorCode", "code", "message"}``, plus
``errorDetails.inputErrors[]`` on validation errors. Every error carries ``provider="linkedin"``,
``status``, ``raw`` (the body), ``service_error_code``, ``code`` and ``request_id``. Access and
refresh tokens never appear in a message or body: they are masked even if echoed.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

import httpx

from ghostart.errors import (
    AuthExpired,
    ConfigurationError,
    DuplicateContent,
    GhostartError,
    PermanentError,
    ProviderError,
    RateLimited,
    TransientError,
)

__all__ = [
    "PROVIDER",
    "NeedsReconnect",
    "NotConnected",
    "body_of",
    "map_response",
    "map_transport_error",
    "scrub",
    "seconds_to_utc_midnight",
]

PROVIDER = "linkedin"
VERSION_SETTING = "GHOSTART_LINKEDIN_VERSION"
_URN = re.compile(r"urn:li:(?:share|ugcPost|activity):\d+")


class NeedsReconnect(PermanentError):
    """The member's LinkedIn connection is dead (revoked, expired): they must connect again."""

    code = "linkedin_needs_reconnect"


class NotConnected(PermanentError):
    """The member never connected LinkedIn (for this app)."""

    code = "linkedin_not_connected"


def scrub(value: Any, *secrets: str | None) -> Any:
    """``value`` (text, or JSON-like data) with every secret masked as ``***``."""
    for secret in secrets:
        if not secret or value is None:
            continue
        if isinstance(value, str):
            value = value.replace(secret, "***")
            continue
        try:
            text = json.dumps(value)
        except (TypeError, ValueError):
            value = str(value).replace(secret, "***")
            continue
        if secret in text:
            value = json.loads(text.replace(secret, "***"))
    return value


def body_of(response: httpx.Response) -> dict[str, Any]:
    """The JSON error body, or ``{"message": <text>}`` when LinkedIn sent none."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        text = " ".join(response.text.split())[:500]
        return {"message": text} if text else {}
    return body if isinstance(body, dict) else {"message": str(body)[:500]}


def _message(body: dict[str, Any]) -> str:
    message = body.get("message") or body.get("error_description") or body.get("error") or ""
    return " ".join(str(message).split())[:500]


def _input_error_codes(body: dict[str, Any]) -> list[str]:
    details = body.get("errorDetails")
    errors = details.get("inputErrors") if isinstance(details, dict) else None
    if not isinstance(errors, list):
        return []
    return [str(e.get("code")) for e in errors if isinstance(e, dict) and e.get("code")]


def seconds_to_utc_midnight(now: datetime) -> float:
    """Seconds until LinkedIn's daily limits reset (midnight UTC), at least one."""
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1.0, (midnight - now).total_seconds())


def map_response(
    response: httpx.Response, *, operation: str, now: datetime, secrets: tuple[str, ...] = ()
) -> GhostartError:
    """The ghostart error for LinkedIn's non-2xx ``response`` (raise it, don't return it)."""
    status = response.status_code
    body = scrub(body_of(response), *secrets)
    message = _message(body) or response.reason_phrase
    details: dict[str, Any] = {
        "provider": PROVIDER,
        "status": status,
        "raw": body,
        "service_error_code": body.get("serviceErrorCode"),
        "code": body.get("code"),
        "request_id": response.headers.get("x-li-uuid") or response.headers.get("x-restli-id"),
    }
    codes = _input_error_codes(body)
    if status == 401:
        return AuthExpired(f"linkedin: the access token was refused (401): {message}", **details)
    if status == 426 or body.get("code") == "NONEXISTENT_VERSION":
        return ConfigurationError(
            f"{VERSION_SETTING}: LinkedIn no longer serves this API version ({message}); "
            f"set {VERSION_SETTING} to a current YYYYMM version",
            setting=VERSION_SETTING,
            provider=PROVIDER,
            status=status,
        )
    if status == 422 and "DUPLICATE_POST" in codes:
        found = _URN.search(str(body.get("message", "")))
        existing = found.group(0) if found else None
        return DuplicateContent(
            f"linkedin: the post is a duplicate of {existing or 'an earlier post'}",
            existing_id=existing,
            # Where the existing post is seen (the Publication a caller records instead).
            url=f"https://www.linkedin.com/feed/update/{existing}/" if existing else None,
            **details,
        )
    if status == 429:
        scope = "application" if "APPLICATION" in message.upper() else "member"
        wait = seconds_to_utc_midnight(now)
        return RateLimited(
            f"linkedin: the {scope} daily limit is reached ({operation}); "
            f"LinkedIn resets it at midnight UTC, in {wait:.0f} s",
            retry_after=wait,
            scope=scope,
            **details,
        )
    if status >= 500 or status in (408, 409):
        return TransientError(
            f"linkedin: server error {status} ({operation}): {message}", **details
        )
    if status == 403:
        return PermanentError(
            f"linkedin: not allowed (403) to {operation}: {message}. Check the app's products "
            "and the scopes the member granted (see docs/adapters/linkedin.md)",
            **details,
        )
    return PermanentError(f"linkedin: {operation} was refused ({status}): {message}", **details)


def map_transport_error(
    exc: httpx.TransportError, *, operation: str, may_have_landed: bool
) -> ProviderError:
    """A transient error for a timeout or dropped connection.

    ``ambiguous`` says whether LinkedIn may have acted on the request anyway (it was sent in
    full and no answer came back), so that the caller checks before trying again.
    """
    sent = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    ambiguous = may_have_landed and sent
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "lost its connection"
    return TransientError(
        f"linkedin: {operation} {kind}"
        + (" after it was sent; it may have taken effect" if ambiguous else ""),
        provider=PROVIDER,
        ambiguous=ambiguous,
        timeout=isinstance(exc, httpx.TimeoutException),
    )
