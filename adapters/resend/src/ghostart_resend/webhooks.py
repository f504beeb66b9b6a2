"""Resend's webhooks: Svix signatures verified, events normalised to ``DeliveryEvent``.

Resend signs each webhook the Svix way: ``svix-signature`` holds space-separated ``v1,<base64>``
entries, each an HMAC-SHA256, under the base64 secret after ``whsec_``, of
``{svix-id}.{svix-timestamp}.{raw body}``. The SDK's ``resend.Webhooks.verify`` does the same for
one secret and a fixed clock; this verifier takes several secrets (a rotation: the new one and
the old one both verify for a while), an injectable clock, rejects timestamps too far in the past
*or* the future, and raises the typed :class:`~ghostart.email.WebhookRejected`. The tests check it
against the SDK's verifier.

Verify the **raw** body, before anything parses it: re-serialised JSON is other bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import SecretStr

from ghostart.email.delivery import (
    BounceKind,
    DeliveryEvent,
    DeliveryEventType,
    WebhookRejected,
    redact_addresses,
)
from ghostart.errors import ConfigurationError
from ghostart_resend.settings import WEBHOOK_SETTING, ResendSettings

__all__ = ["EVENT_TYPES", "ResendWebhooks", "SvixVerifier", "parse_event"]

_PREFIX = "whsec_"
_MAX_BODY = 1_000_000

#: Resend's event names and what they become.
EVENT_TYPES: dict[str, DeliveryEventType] = {
    "email.sent": DeliveryEventType.SENT,
    "email.delivered": DeliveryEventType.DELIVERED,
    "email.delivery_delayed": DeliveryEventType.DELIVERY_DELAYED,
    "email.bounced": DeliveryEventType.BOUNCED,
    "email.complained": DeliveryEventType.COMPLAINED,
    "email.failed": DeliveryEventType.FAILED,
    "email.suppressed": DeliveryEventType.SUPPRESSED,
    "email.opened": DeliveryEventType.OPENED,
    "email.clicked": DeliveryEventType.CLICKED,
}
_BOUNCE_KINDS = {"permanent": BounceKind.PERMANENT, "transient": BounceKind.TRANSIENT}


def _key(secret: str) -> bytes:
    encoded = secret.strip()
    encoded = encoded[len(_PREFIX) :] if encoded.startswith(_PREFIX) else encoded
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) < 16:
        # Not echoed: the value is a secret even when malformed.
        raise ConfigurationError(
            f"{WEBHOOK_SETTING}: each secret must be 'whsec_' followed by base64 (copy it from "
            "the webhook's page in Resend)"
        )
    return key


class SvixVerifier:
    """Checks Svix signatures under one or more secrets.

    Args:
        secrets: ``whsec_...`` secrets; any of them may have signed.
        tolerance: Seconds a timestamp may be off from now, either way.
        clock: The current Unix time (tests pass a fixed one).
    """

    __slots__ = ("__keys", "clock", "tolerance")

    def __init__(
        self,
        secrets: Sequence[str | SecretStr],
        *,
        tolerance: float = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        values = [s.get_secret_value() if isinstance(s, SecretStr) else s for s in secrets]
        if not values:
            raise ConfigurationError(f"{WEBHOOK_SETTING}: at least one secret is required")
        self.__keys = [_key(v) for v in values]
        self.tolerance = tolerance
        self.clock = clock

    def verify(self, body: bytes, headers: Mapping[str, str]) -> str:
        """Check ``body`` against its headers; return the message id (``svix-id``).

        Raises:
            WebhookRejected: A header is missing or malformed, the timestamp is out of
                tolerance, or no signature matches.
        """
        lowered = {k.lower(): v for k, v in headers.items()}

        def header(name: str) -> str:
            # Svix white-labels its headers as webhook-*; both spellings are the same scheme.
            value = lowered.get(f"svix-{name}") or lowered.get(f"webhook-{name}")
            if not value:
                raise WebhookRejected(f"webhook without a svix-{name} header")
            return value.strip()

        msg_id, stamp, signatures = header("id"), header("timestamp"), header("signature")
        if len(body) > _MAX_BODY:
            raise WebhookRejected("webhook body too large")
        try:
            sent_at = int(stamp)
        except ValueError:
            raise WebhookRejected("webhook timestamp is not a number") from None
        if abs(self.clock() - sent_at) > self.tolerance:
            raise WebhookRejected("webhook timestamp is outside the tolerance (a replay?)")
        signed = f"{msg_id}.{sent_at}.".encode() + body
        expected = [
            base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()) for key in self.__keys
        ]
        for entry in signatures.split():
            version, _, signature = entry.partition(",")
            if version != "v1":
                continue
            given = signature.encode("ascii", "replace")
            if any(hmac.compare_digest(given, e) for e in expected):
                return msg_id
        raise WebhookRejected("webhook signature does not match")

    def __repr__(self) -> str:
        return f"SvixVerifier(secrets={len(self.__keys)}, tolerance={self.tolerance})"


def _when(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def parse_event(payload: Mapping[str, Any], *, event_id: str | None = None) -> DeliveryEvent:
    """A verified Resend payload as a :class:`DeliveryEvent`; unknown types are ``UNKNOWN``."""
    name = payload.get("type")
    provider_type = name if isinstance(name, str) else ""
    data = payload.get("data")
    data = data if isinstance(data, Mapping) else {}
    to = data.get("to")
    recipients = [to] if isinstance(to, str) else [r for r in to or [] if isinstance(r, str)]
    tags = data.get("tags")
    bounce = data.get("bounce")
    bounce_kind: BounceKind | None = None
    reason: str | None = None
    if isinstance(bounce, Mapping):
        kind = str(bounce.get("type", "")).lower()
        bounce_kind = _BOUNCE_KINDS.get(kind, BounceKind.UNDETERMINED)
        message = bounce.get("message")
        reason = redact_addresses(message)[:500] if isinstance(message, str) else None
    failed = data.get("failed")
    if reason is None and isinstance(failed, Mapping) and isinstance(failed.get("reason"), str):
        reason = redact_addresses(failed["reason"])[:500]
    message_id = data.get("email_id")
    return DeliveryEvent(
        provider="resend",
        event_id=event_id,
        type=EVENT_TYPES.get(provider_type, DeliveryEventType.UNKNOWN),
        provider_type=provider_type,
        message_id=message_id if isinstance(message_id, str) else None,
        recipients=recipients,
        occurred_at=_when(payload.get("created_at")),
        bounce_kind=bounce_kind,
        reason=reason,
        tags=({str(k): str(v) for k, v in tags.items()} if isinstance(tags, Mapping) else {}),
        raw=dict(payload),
    )


class ResendWebhooks:
    """The webhook endpoint's logic: verify, then normalise.

    A service route reads the raw body and the headers and calls :meth:`handle`; a
    :class:`~ghostart.email.WebhookRejected` becomes a 401 (Resend retries, then gives up).
    """

    def __init__(self, verifier: SvixVerifier) -> None:
        self.verifier = verifier

    @classmethod
    def from_settings(
        cls, settings: ResendSettings, *, clock: Callable[[], float] = time.time
    ) -> ResendWebhooks:
        """From ``GHOSTART_RESEND_WEBHOOK_SECRETS`` and ``..._WEBHOOK_TOLERANCE``."""
        verifier = SvixVerifier(
            settings.webhook_secret_list(), tolerance=settings.webhook_tolerance, clock=clock
        )
        return cls(verifier)

    def handle(self, body: bytes, headers: Mapping[str, str]) -> DeliveryEvent:
        """Verify ``body`` and return its event.

        Raises:
            WebhookRejected: The signature check failed, or the verified body is not a JSON
                object (then it is not Resend's).
        """
        event_id = self.verifier.verify(body, headers)
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            raise WebhookRejected("webhook body is not JSON") from None
        if not isinstance(payload, dict):
            raise WebhookRejected("webhook body is not a JSON object")
        return parse_event(payload, event_id=event_id)
