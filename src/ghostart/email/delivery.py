"""What an email provider reports after a send, in one provider-neutral shape.

Provider adapters verify their webhooks and normalise each event into a :class:`DeliveryEvent`
(after anymail's ``AnymailTrackingEvent``): an enum ``type``, the provider's own name for it in
``provider_type``, and the verified payload kept in ``raw``. An event type this version does not
know becomes :attr:`DeliveryEventType.UNKNOWN`, never an error, so a provider adding events breaks
nothing. :attr:`DeliveryEvent.suppresses` says whether the recipients must get no more optional
mail (a hard bounce or a spam complaint).

Email addresses are personal data: they stay out of reprs, and :func:`redact_addresses` is what
log lines and messages show instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from ghostart.errors import Unauthenticated

__all__ = [
    "BounceKind",
    "DeliveryEvent",
    "DeliveryEventType",
    "DeliveryWebhooks",
    "WebhookRejected",
    "redact_addresses",
]

_ADDRESS = re.compile(r"([A-Za-z0-9._%+'-])[A-Za-z0-9._%+'-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")


class DeliveryEventType(StrEnum):
    """What happened to a sent email."""

    SENT = "sent"
    DELIVERED = "delivered"
    DELIVERY_DELAYED = "delivery_delayed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    FAILED = "failed"
    SUPPRESSED = "suppressed"
    OPENED = "opened"
    CLICKED = "clicked"
    #: A type this version does not know; ``provider_type`` and ``raw`` say what it was.
    UNKNOWN = "unknown"


class BounceKind(StrEnum):
    """Whether a bounce is final (the address does not exist) or may pass (a full mailbox)."""

    PERMANENT = "permanent"
    TRANSIENT = "transient"
    UNDETERMINED = "undetermined"


class DeliveryEvent(BaseModel):
    """One verified delivery event from a provider's webhook."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: str
    #: The provider's id for this delivery of the event (Svix's ``svix-id``): the same on every
    #: retry of the webhook, so a handler can ignore a second delivery.
    event_id: str | None = None
    type: DeliveryEventType
    #: The provider's own name for the event (``email.bounced``).
    provider_type: str
    #: The provider's id of the email, as ``Mailer.send`` returned it.
    message_id: str | None = None
    #: The recipients the event is about (personal data: not in the repr).
    recipients: list[str] = Field(default_factory=list, repr=False)
    occurred_at: datetime | None = None
    bounce_kind: BounceKind | None = None
    #: The receiving server's words, with addresses redacted.
    reason: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    #: The verified payload exactly as the provider sent it (personal data: not in the repr).
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)

    @property
    def suppresses(self) -> bool:
        """Whether the recipients must get no more optional mail: a hard bounce or a complaint."""
        if self.type is DeliveryEventType.COMPLAINED:
            return True
        return self.type is DeliveryEventType.BOUNCED and self.bounce_kind is BounceKind.PERMANENT


@runtime_checkable
class DeliveryWebhooks(Protocol):
    """A mailer whose provider reports deliveries by webhook (``ghostart-resend``).

    The service's route ``POST /v1/email/webhooks/{webhook_provider}`` hands it the raw body
    and the headers; it verifies them and returns the event.
    """

    webhook_provider: str

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> DeliveryEvent:
        """The verified event; :class:`WebhookRejected` when the signature does not check out.

        Raises ``ConfigurationError`` when no webhook secret is configured.
        """
        ...


class WebhookRejected(Unauthenticated):
    """A webhook failed verification: no, a malformed or a wrong signature, or a stale timestamp.

    The message says which check failed in general terms only; never a secret or a signature.
    """

    code = "webhook_rejected"


def redact_addresses(text: str) -> str:
    """``text`` with every email address in it redacted: ``p***@example.com``.

    The first character and the domain stay, enough to tell addresses apart in a log.
    """
    return _ADDRESS.sub(r"\1***@\2", text)
