"""Email in ghostart core: templates, one-click unsubscribe, delivery events, the routing table.

No provider is named here. A mailer adapter (``ghostart-resend``, the console mailer) sends the
:class:`~ghostart.ports.mailer.Email` that :meth:`RenderedEmail.to_email` builds, and normalises
its webhooks into :class:`DeliveryEvent`. ``docs/email.md`` describes the whole flow.
"""

from __future__ import annotations

from ghostart.email.catalog import TEMPLATES, EmailContext, TemplateSpec
from ghostart.email.delivery import (
    BounceKind,
    DeliveryEvent,
    DeliveryEventType,
    DeliveryWebhooks,
    WebhookRejected,
    redact_addresses,
)
from ghostart.email.routing import (
    EVENT_EMAILS,
    EmailRule,
    Recipients,
    digest_idempotency_key,
    email_idempotency_key,
    rules_for,
)
from ghostart.email.sending import BatchMailer, batch_idempotency_key, send_many
from ghostart.email.settings import EmailSettings, load_email_settings
from ghostart.email.templates import EmailRenderer, RenderedEmail
from ghostart.email.unsubscribe import (
    ONE_CLICK,
    Unsubscribe,
    UnsubscribeSigner,
    UnsubscribeTokenExpired,
    UnsubscribeTokenInvalid,
    unsubscribe_headers,
    unsubscribe_url,
)

__all__ = [
    "EVENT_EMAILS",
    "ONE_CLICK",
    "TEMPLATES",
    "BatchMailer",
    "BounceKind",
    "DeliveryEvent",
    "DeliveryEventType",
    "DeliveryWebhooks",
    "EmailContext",
    "EmailRenderer",
    "EmailRule",
    "EmailSettings",
    "Recipients",
    "RenderedEmail",
    "TemplateSpec",
    "Unsubscribe",
    "UnsubscribeSigner",
    "UnsubscribeTokenExpired",
    "UnsubscribeTokenInvalid",
    "WebhookRejected",
    "batch_idempotency_key",
    "digest_idempotency_key",
    "email_idempotency_key",
    "load_email_settings",
    "redact_addresses",
    "rules_for",
    "send_many",
    "unsubscribe_headers",
    "unsubscribe_url",
]
