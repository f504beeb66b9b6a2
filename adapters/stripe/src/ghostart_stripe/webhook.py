"""Webhook signatures, verified as Stripe signs them: pure functions, no SDK, no clock of their own.

Stripe sends ``Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...][,v0=...]`` where each
``v1`` is ``HMAC-SHA256(secret, f"{t}.{raw body}")``. While an endpoint's secret is being rolled,
Stripe signs with both the old and the new secret (two ``v1`` values); ghostart may also be
configured with several secrets. A request is accepted when any ``v1`` matches any secret, and
its timestamp is within ``tolerance`` seconds of now **either way**: the SDK rejects only old
timestamps, a signed timestamp from the future is refused here too.

Every refusal is a :class:`WebhookRejected` (a ``DomainError``, so the service answers 400) of
its own type; messages never contain a secret nor the signature that was expected.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Any

from pydantic import SecretStr

from ghostart.errors import ConfigurationError, DomainError

__all__ = [
    "DEFAULT_TOLERANCE",
    "PayloadMalformed",
    "SignatureMalformed",
    "SignatureMismatch",
    "SignatureMissing",
    "TimestampOutOfTolerance",
    "WebhookRejected",
    "compute_signature",
    "parse_payload",
    "sign_header",
    "verify_signature",
]

DEFAULT_TOLERANCE = 300
_SCHEME = "v1"
_MAX_HEADER = 8192


class WebhookRejected(DomainError):
    """The webhook request is refused; nothing in it was acted on."""

    code = "webhook_rejected"


class SignatureMissing(WebhookRejected):
    """The request has no ``Stripe-Signature`` header."""


class SignatureMalformed(WebhookRejected):
    """The header has no single integer ``t`` or no ``v1`` signature."""


class SignatureMismatch(WebhookRejected):
    """No ``v1`` signature matches the body under any configured secret."""


class TimestampOutOfTolerance(WebhookRejected):
    """The signed timestamp is more than the tolerance away from now (past or future)."""

    def __init__(self, message: str, *, skew: int, tolerance: int) -> None:
        super().__init__(message, skew=skew, tolerance=tolerance)
        self.skew = skew
        self.tolerance = tolerance


class PayloadMalformed(WebhookRejected):
    """The signed body is not a Stripe event (not JSON, or no ``id``, ``type``, ``created``)."""


def compute_signature(payload: bytes, secret: str, timestamp: int) -> str:
    """The ``v1`` signature Stripe computes for ``payload`` at ``timestamp``."""
    message = str(int(timestamp)).encode("ascii") + b"." + bytes(payload)
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign_header(payload: bytes, secrets: Sequence[str], timestamp: int) -> str:
    """A ``Stripe-Signature`` header signed with each of ``secrets`` (for tests and tools)."""
    signatures = ",".join(f"{_SCHEME}={compute_signature(payload, s, timestamp)}" for s in secrets)
    return f"t={int(timestamp)},{signatures}"


def _parse_header(header: str) -> tuple[int, list[bytes]]:
    if len(header) > _MAX_HEADER:
        raise SignatureMalformed("the Stripe-Signature header is too long")
    timestamps: list[str] = []
    signatures: list[bytes] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            timestamps.append(value.strip())
        elif key == _SCHEME:
            # bytes, so that compare_digest never meets a non-ASCII str
            signatures.append(value.strip().encode("utf-8", "replace"))
    if len(timestamps) != 1 or not timestamps[0].isascii() or not timestamps[0].isdigit():
        raise SignatureMalformed("the Stripe-Signature header has no single integer timestamp t")
    if not signatures:
        raise SignatureMalformed("the Stripe-Signature header has no v1 signature")
    return int(timestamps[0]), signatures


def verify_signature(
    payload: bytes,
    header: str | None,
    secrets: Sequence[str | SecretStr],
    *,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE,
) -> int:
    """Check ``header`` against the raw ``payload``; the signed timestamp, or a typed refusal.

    Args:
        payload: the request body exactly as received (bytes, never re-serialised JSON).
        header: the ``Stripe-Signature`` header, ``None`` when absent.
        secrets: the endpoint's signing secrets (``whsec_...``); any one may match.
        now: the current time, Unix seconds.
        tolerance: seconds the timestamp may be from ``now``, in the past or the future.
    """
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise TypeError("verify the raw request body (bytes), not a decoded or parsed one")
    keys = [s.get_secret_value() if isinstance(s, SecretStr) else s for s in secrets]
    keys = [k for k in keys if k]
    if not keys:
        raise ConfigurationError(
            "Stripe webhooks can not be verified: set GHOSTART_STRIPE_WEBHOOK_SECRET to the "
            "endpoint's signing secret (whsec_...)"
        )
    if not header or not header.strip():
        raise SignatureMissing("the request has no Stripe-Signature header")
    timestamp, signatures = _parse_header(header)
    body = bytes(payload)
    expected = [compute_signature(body, key, timestamp).encode("ascii") for key in keys]
    # Every pair is compared, so the time taken does not say which secret or signature matched.
    matched = False
    for signature in signatures:
        for candidate in expected:
            matched |= hmac.compare_digest(signature, candidate)
    if not matched:
        raise SignatureMismatch(
            "no v1 signature matches the body under the configured webhook secret(s)"
        )
    skew = now - timestamp
    if abs(skew) > tolerance:
        when = "old" if skew > 0 else "in the future"
        raise TimestampOutOfTolerance(
            f"the signature's timestamp is {abs(skew):.0f} s {when}; at most {tolerance} s is "
            "accepted",
            skew=round(skew),
            tolerance=tolerance,
        )
    return timestamp


def parse_payload(payload: bytes) -> dict[str, Any]:
    """The verified body as a Stripe event object, or :class:`PayloadMalformed`."""
    try:
        event = json.loads(bytes(payload))
    except (ValueError, UnicodeDecodeError):
        raise PayloadMalformed("the webhook body is not JSON") from None
    if not isinstance(event, dict):
        raise PayloadMalformed("the webhook body is not a JSON object")
    if not (
        isinstance(event.get("id"), str)
        and event["id"]
        and isinstance(event.get("type"), str)
        and isinstance(event.get("created"), int)
        and not isinstance(event.get("created"), bool)
    ):
        raise PayloadMalformed("the webhook body is not a Stripe event (id, type, created)")
    return event
