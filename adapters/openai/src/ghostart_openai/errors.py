"""The OpenAI SDK's exceptions translated onto ghostart's provider taxonomy, once, at the boundary.

=====================================================  =====  ===============================
SDK exception                                          HTTP   ghostart error
=====================================================  =====  ===============================
``RateLimitError``                                     429    ``RateLimited(retry_after)``
``RateLimitError``, type ``insufficient_quota``        429    ``PermanentError`` (no credit)
``APITimeoutError``, ``APIConnectionError``            -      ``TransientError``
``InternalServerError``                                5xx    ``TransientError``
``AuthenticationError``                                401    ``PermanentError`` (wrong key)
``PermissionDeniedError``                              403    ``PermanentError`` (no access)
``BadRequestError``, code ``content_filter``           400    ``ContentRejected`` (Azure)
``BadRequestError`` (``context_length_exceeded``...)   400    ``PermanentError``
``NotFoundError``                                      404    ``PermanentError`` (model, URL)
other ``APIStatusError``                               408    ``TransientError`` (and 409)
other ``APIStatusError``                               4xx    ``PermanentError``
=====================================================  =====  ===============================

``retry_after`` comes from ``retry-after-ms``, else ``retry-after``, else the
``x-ratelimit-reset-*`` header of the limit that is exhausted.

Every error carries ``provider="openai"``, ``status``, ``raw`` (the error body), ``code`` and
``request_id``. The API key never appears in a message or body: some compatible servers echo it,
so it is masked in the SDK's exception too, which is kept as ``__cause__``.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Mapping
from typing import Any

import openai

from ghostart.errors import (
    ContentRejected,
    PermanentError,
    ProviderError,
    RateLimited,
    TransientError,
)

__all__ = ["PROVIDER", "map_error", "retry_after", "scrub"]

PROVIDER = "openai"
_KEY_ENV = "GHOSTART_OPENAI_API_KEY (or OPENAI_API_KEY)"
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
#: 429s that mean "no credit left" (error.type ``insufficient_quota``): waiting will not help.
_QUOTA_CODES = frozenset(
    {
        "insufficient_quota",
        "credit_balance_exhausted",
        "organization_spend_limit_exceeded",
        "project_spend_limit_exceeded",
        "organization_usage_limit_exceeded",
    }
)


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


def _duration(value: str | None) -> float | None:
    """``"1s"``, ``"6m0s"``, ``"20ms"``, ``"1h2m3.5s"`` (OpenAI's reset headers) in seconds."""
    if not value:
        return None
    value = value.strip()
    try:  # Azure OpenAI sends plain seconds
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 else None
    parts = _DURATION.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        return None
    return sum(float(number) * _UNITS[unit] for number, unit in parts)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait, from a 429's headers; ``None`` when they don't say."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    seconds = headers.get("retry-after")
    if seconds:
        try:
            return max(0.0, float(seconds))
        except ValueError:
            when = email.utils.parsedate_to_datetime(seconds) if "," in seconds else None
            if when is not None:
                return max(0.0, when.timestamp() - time.time())
    # No retry-after: wait for the limit that is exhausted (both, if both are).
    waits = [
        _duration(headers.get(f"x-ratelimit-reset-{kind}"))
        for kind in ("requests", "tokens")
        if headers.get(f"x-ratelimit-remaining-{kind}", "").strip() == "0"
    ]
    known = [w for w in waits if w is not None]
    return max(known) if known else None


def _body_message(exc: openai.APIError) -> str:
    """The error's own message (``error.message`` of OpenAI's body), bounded."""
    body = exc.body
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str) or not message:
        message = exc.message
    return " ".join(message.split())[:500]


def _mask_sdk_error(exc: BaseException, secret: str | None) -> None:
    """Mask the key inside the SDK's exception, which stays chained as ``__cause__``."""
    if not secret:
        return
    exc.args = tuple(scrub(a, secret) if isinstance(a, str) else a for a in exc.args)
    if isinstance(exc, openai.APIError):
        exc.message = scrub(exc.message, secret)
        exc.body = scrub(exc.body, secret)


def map_error(
    exc: openai.OpenAIError,
    *,
    secret: str | None = None,
    model: str = "",
    base_url: str = "",
    operation: str = "chat completion",
) -> ProviderError:
    """The ghostart error for an SDK exception (raise it ``from exc``)."""
    _mask_sdk_error(exc, secret)
    if isinstance(exc, openai.APITimeoutError):  # before APIConnectionError, its base
        return TransientError(
            f"openai: the {operation} request timed out", provider=PROVIDER, timeout=True
        )
    if isinstance(exc, openai.APIConnectionError):
        return TransientError(
            f"openai: could not reach {base_url or 'the endpoint'} ({operation})",
            provider=PROVIDER,
        )
    if not isinstance(exc, openai.APIStatusError):
        return PermanentError(f"openai: {scrub(str(exc), secret)}", provider=PROVIDER)

    status = exc.status_code
    message = scrub(_body_message(exc), secret)
    details: dict[str, Any] = {
        "provider": PROVIDER,
        "status": status,
        "raw": scrub(exc.body, secret),
        "code": exc.code,
        "request_id": exc.request_id,
    }
    if isinstance(exc, openai.RateLimitError):
        if exc.type == "insufficient_quota" or exc.code in _QUOTA_CODES:
            return PermanentError(
                "openai: the account has no quota left (insufficient_quota); check the plan "
                "and billing of the key's organization",
                **details,
            )
        wait = retry_after(exc.response.headers)
        return RateLimited(
            f"openai: rate limited (429), retry after {wait if wait is not None else '?'} s",
            retry_after=wait,
            **details,
        )
    if isinstance(exc, openai.AuthenticationError):
        return PermanentError(
            f"openai: the API key was refused (401): it is wrong, revoked, or not valid for "
            f"this endpoint; check {_KEY_ENV}",
            **details,
        )
    if isinstance(exc, openai.PermissionDeniedError):
        return PermanentError(
            f"openai: the API key lacks access (403) to {model or 'this model'} or to this "
            f"endpoint (project, role or region); check {_KEY_ENV} and its permissions. "
            f"The endpoint said: {message}",
            **details,
        )
    if isinstance(exc, openai.BadRequestError):
        if exc.code == "content_filter":
            return ContentRejected(
                f"the provider's content filter refused the request: {message}", **details
            )
        if exc.code == "context_length_exceeded":
            return PermanentError(
                f"openai: the prompt is longer than {model or 'the model'}'s context window "
                "(context_length_exceeded); shorten the brand voice's example posts or use a "
                "model with a longer context",
                **details,
            )
        return PermanentError(f"openai: the request was refused (400): {message}", **details)
    if isinstance(exc, openai.NotFoundError):
        hint = (
            f"the model {model!r} does not exist or the key has no access to it"
            if exc.code == "model_not_found" or "model" in message.lower()
            else f"{base_url or 'the endpoint'} has no {operation} API"
        )
        return PermanentError(f"openai: not found (404): {hint}. {message}", **details)
    if isinstance(exc, openai.InternalServerError) or status >= 500 or status in (408, 409):
        return TransientError(f"openai: server error {status} ({operation})", **details)
    return PermanentError(f"openai: the request was refused ({status}): {message}", **details)
