"""The Stripe SDK's exceptions translated onto ghostart's provider taxonomy, once, at the boundary.

=========================================  ======  =========================================
SDK exception (Stripe error ``type``)      HTTP    ghostart error
=========================================  ======  =========================================
``APIConnectionError`` (timeout, network)  -       ``TransientError`` (``timeout=True`` if so)
``RateLimitError`` (``rate_limit``)        429     ``RateLimited(retry_after)``
``RateLimitError`` (``lock_timeout``)      429     ``RateLimited`` (the object is busy)
``APIError`` (``api_error``)               5xx     ``TransientError``
``APIError``                               409     ``TransientError`` (key in use: retry)
``AuthenticationError``                    401     ``PermanentError`` naming the setting
``PermissionError``                        403     ``PermanentError`` naming the setting
``CardError`` (``card_error``)             402     ``PermanentError`` with ``decline_code``
``IdempotencyError``                       400     ``PermanentError`` (same key, other params)
``InvalidRequestError``                    400/404 ``PermanentError`` (``code``, ``param``)
=========================================  ======  =========================================

Stripe's ``Stripe-Should-Retry`` header overrides the status when present (``false`` on a 5xx
that an idempotent replay would only repeat; ``true`` on a lock timeout). ``retry_after`` comes
from ``Retry-After`` when Stripe sends one; otherwise the RetryPolicy backs off.

Every error carries ``provider="stripe"``, ``status``, ``raw`` (the error body), ``code``,
``decline_code``, ``param`` and ``request_id``. The API key is masked in messages and bodies (Stripe
echoes a masked key in 401s; a proxy might echo more), also in the SDK's exception kept as
``__cause__``.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping
from typing import Any

import httpx
import stripe

from ghostart.errors import PermanentError, ProviderError, RateLimited, TransientError

__all__ = ["KEY_SETTING", "PROVIDER", "map_error", "retry_after", "scrub"]

PROVIDER = "stripe"
KEY_SETTING = "GHOSTART_STRIPE_API_KEY (or STRIPE_API_KEY)"


def scrub(value: Any, secret: str | None) -> Any:
    """``value`` (text, or JSON-like data) with every occurrence of ``secret`` masked."""
    if not secret or value is None:
        return value
    if isinstance(value, str):
        return value.replace(secret, "***")
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        return scrub(str(value), secret)
    return json.loads(text.replace(secret, "***")) if secret in text else value


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == name:
            return str(value)
    return None


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), if any."""
    value = _header(headers, "retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _body_error(exc: stripe.StripeError) -> Mapping[str, Any]:
    body = exc.json_body
    error = body.get("error") if isinstance(body, Mapping) else None
    return error if isinstance(error, Mapping) else {}


def _mask_sdk_error(exc: stripe.StripeError, secret: str | None) -> None:
    if not secret:
        return
    exc.args = tuple(scrub(a, secret) if isinstance(a, str | dict) else a for a in exc.args)
    exc._message = scrub(exc._message, secret)
    exc.http_body = scrub(exc.http_body, secret)
    exc.json_body = scrub(exc.json_body, secret)


def _timed_out(exc: BaseException) -> bool:
    cause = exc.__cause__ or exc.__context__
    return isinstance(cause, httpx.TimeoutException)


def map_error(
    exc: stripe.StripeError, *, secret: str | None = None, operation: str = "request"
) -> ProviderError:
    """The ghostart error for an SDK exception (raise it ``from exc``)."""
    _mask_sdk_error(exc, secret)
    if isinstance(exc, stripe.APIConnectionError):
        if _timed_out(exc):
            return TransientError(
                f"stripe: the {operation} request timed out", provider=PROVIDER, timeout=True
            )
        return TransientError(f"stripe: could not reach Stripe ({operation})", provider=PROVIDER)
    error = _body_error(exc)
    status = exc.http_status
    code = error.get("code") or exc.code
    message = " ".join(str(error.get("message") or exc.user_message or "").split())[:500]
    details: dict[str, Any] = {
        "provider": PROVIDER,
        "status": status,
        "raw": exc.json_body,
        "code": code,
        "decline_code": error.get("decline_code"),
        "param": error.get("param"),
        "request_id": exc.request_id,
        "operation": operation,
    }
    should_retry = (_header(exc.headers, "stripe-should-retry") or "").strip().lower()
    if isinstance(exc, stripe.RateLimitError):
        wait = retry_after(exc.headers)
        what = (
            "the object is locked by another request" if code == "lock_timeout" else "rate limited"
        )
        return RateLimited(
            f"stripe: {what} (429) during {operation}; retry after "
            f"{wait if wait is not None else 'a backoff'} s",
            retry_after=wait,
            **details,
        )
    if isinstance(exc, stripe.AuthenticationError):
        return PermanentError(
            f"stripe: the API key was refused (401): it is wrong, rolled or for the other mode "
            f"(test/live); check {KEY_SETTING}. Stripe said: {message}",
            **details,
        )
    if isinstance(exc, stripe.PermissionError):
        return PermanentError(
            f"stripe: the API key may not {operation} (403): a restricted key lacks a permission; "
            f"check {KEY_SETTING} and its permissions. Stripe said: {message}",
            **details,
        )
    if should_retry == "true" or (
        should_retry != "false" and status is not None and (status >= 500 or status == 409)
    ):
        return TransientError(f"stripe: {operation} failed ({status}), retry: {message}", **details)
    if isinstance(exc, stripe.CardError):
        decline = f", decline code {details['decline_code']}" if details["decline_code"] else ""
        return PermanentError(
            f"stripe: the card was refused ({code or 'card_error'}{decline}): {message}",
            **details,
        )
    if isinstance(exc, stripe.IdempotencyError):
        return PermanentError(
            f"stripe: the idempotency key of this {operation} was used with other parameters: "
            f"{message}",
            **details,
        )
    where = f" ({details['param']})" if details["param"] else ""
    return PermanentError(
        f"stripe: the {operation} request was refused ({status}, {code or 'invalid_request'})"
        f"{where}: {message}",
        **details,
    )
