"""Resend's errors translated onto ghostart's provider taxonomy, once, at the boundary.

Resend answers an error with ``{"statusCode", "name", "message"}``; the SDK raises a
``ResendError`` with ``code`` (the status), ``error_type`` (the name) and the response headers.

=======  ==================================  ============================================
HTTP     ``name``                            ghostart error
=======  ==================================  ============================================
429      ``rate_limit_exceeded``             ``RateLimited(retry_after)``
429      ``daily_quota_exceeded``            ``RateLimited(retry_after)`` (the outbox waits)
429      ``monthly_quota_exceeded``          ``PermanentError``: waiting will not help
5xx      ``application_error``, any          ``TransientError``
-        (timeout, connection failure)       ``TransientError`` (``timeout=True`` if so)
408      any                                 ``TransientError``
409      ``concurrent_idempotent_requests``  ``TransientError``: the first is still running
409      ``invalid_idempotent_request``      ``PermanentError``: same key, other payload
401      ``missing_api_key``, any            ``PermanentError`` naming the API key setting
403      ``invalid_api_key``                 ``PermanentError`` naming the API key setting
403      ``validation_error`` (domain)       ``PermanentError`` naming the sender setting
400/422  ``validation_error``, any           ``PermanentError``
other    any                                 ``PermanentError``
=======  ==================================  ============================================

``retry_after`` comes from ``retry-after`` (seconds or an HTTP date), else ``ratelimit-reset``.
Every error carries ``provider="resend"``, ``status``, ``raw`` (the error body) and ``code`` (the
``name``). The API key never appears, and email addresses in Resend's messages are redacted
(``p***@example.com``), in our error and in the SDK's, which stays chained as ``__cause__``.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from typing import Any

from resend.exceptions import ResendError

from ghostart.email.delivery import redact_addresses
from ghostart.errors import PermanentError, ProviderError, RateLimited, TransientError
from ghostart_resend._sdk import TransportFailure
from ghostart_resend.settings import FROM_SETTING, KEY_SETTING

__all__ = ["PROVIDER", "map_error", "retry_after", "scrub"]

PROVIDER = "resend"


def scrub(text: str, secret: str | None) -> str:
    """``text`` with the key masked and email addresses redacted, bounded to 500 characters."""
    if secret:
        text = text.replace(secret, "***")
    return " ".join(redact_addresses(text).split())[:500]


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait, from a 429's headers; ``None`` when they don't say."""
    lowered = {k.lower(): v for k, v in headers.items()}
    value = lowered.get("retry-after", "").strip()
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                return max(0.0, when.timestamp() - time.time())
    reset = lowered.get("ratelimit-reset", "").strip()
    try:
        return max(0.0, float(reset)) if reset else None
    except ValueError:
        return None


def _status(exc: ResendError) -> int:
    try:
        return int(exc.code)
    except (TypeError, ValueError):
        return 500


def map_error(
    exc: ResendError, *, secret: str | None = None, operation: str = "send"
) -> ProviderError:
    """The ghostart error for a ``ResendError`` (raise it ``from exc``)."""
    message = scrub(exc.message or str(exc), secret)
    # The SDK's exception stays chained as __cause__: mask it too.
    exc.message = message
    exc.args = (message,)
    if isinstance(exc, TransportFailure):
        what = "timed out" if exc.timeout else f"failed ({message})"
        return TransientError(
            f"resend: the {operation} request {what}", provider=PROVIDER, timeout=exc.timeout
        )
    status = _status(exc)
    name = exc.error_type or ""
    raw = {"statusCode": status, "name": name, "message": message}
    details: dict[str, Any] = {"provider": PROVIDER, "status": status, "raw": raw, "code": name}
    said = f"resend: {message} ({status} {name})"
    if status == 429:
        if name == "monthly_quota_exceeded":
            return PermanentError(
                f"{said}: the account's monthly email quota is used up; upgrade the Resend plan "
                "(waiting will not help until the next billing month)",
                **details,
            )
        return RateLimited(said, retry_after=retry_after(exc.headers), **details)
    if status >= 500 or status == 408:
        return TransientError(said, **details)
    if status == 409 and name == "concurrent_idempotent_requests":
        return TransientError(said, **details)
    if status == 401 or (status == 403 and name in {"invalid_api_key", "restricted_api_key"}):
        return PermanentError(
            f"{said}: the API key was refused; check {KEY_SETTING}", setting=KEY_SETTING, **details
        )
    if status == 403:
        return PermanentError(
            f"{said}: the sender's domain is not verified for this key; check {FROM_SETTING} "
            "and the domain's status in Resend",
            setting=FROM_SETTING,
            **details,
        )
    if status == 409:
        return PermanentError(
            f"{said}: the idempotency key was used for a different email; an email's retry must "
            "carry the very payload of its first attempt",
            **details,
        )
    return PermanentError(said, **details)
