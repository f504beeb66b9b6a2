"""The Mailer port on Resend: ``Emails.send_async`` and ``Batch.send_async`` of the official SDK.

Only the SDK's async API is used: its sync calls go through ``requests``, which neither respx nor
an injected client reaches. Every send carries ``Idempotency-Key``: the email's own key for one
email, a key derived from the emails' keys for a batch. Resend answers a repeated key (within 24
hours) with the first answer and sends nothing, so a retry, by ghostart's ``RetryPolicy`` or by
the outbox after a crash, never sends twice. The SDK makes no retries of its own.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any, cast

import httpx
import resend
from resend.exceptions import ResendError

from ghostart.email.delivery import DeliveryEvent
from ghostart.email.sending import batch_idempotency_key
from ghostart.errors import ConfigurationError, InvalidInput, TransientError
from ghostart.ports.mailer import Email
from ghostart_resend import _sdk
from ghostart_resend.errors import PROVIDER, map_error
from ghostart_resend.settings import FROM_SETTING, ResendSettings
from ghostart_resend.webhooks import ResendWebhooks

__all__ = ["MAX_BATCH", "ResendMailer"]

log = logging.getLogger("ghostart.resend")

#: Resend sends at most this many emails per batch request.
MAX_BATCH = 100
_TAG_CHARS = re.compile(r"[^A-Za-z0-9_-]")


def _tag(text: str) -> str:
    """A tag name or value as Resend accepts it: ASCII letters, digits, ``_`` and ``-``."""
    return _TAG_CHARS.sub("_", text)[:256] or "_"


class ResendMailer:
    """Sends email through Resend.

    Args:
        settings: The adapter's settings; the API key and a default sender are required.
        http_client: The ``httpx.AsyncClient`` requests go through (tests inject one; by default
            the mailer makes one with the settings' timeout and closes it in :meth:`aclose`).

    Raises:
        ConfigurationError: No API key, no sender, or another key already in use in this process.
    """

    max_batch = MAX_BATCH
    #: The route ``POST /v1/email/webhooks/resend`` reaches :meth:`verify_webhook`.
    webhook_provider = PROVIDER

    def __init__(
        self, settings: ResendSettings, *, http_client: httpx.AsyncClient | None = None
    ) -> None:
        key = settings.require_key()
        if not settings.sender:
            raise ConfigurationError(
                f"GHOSTART_MAILER=resend needs a sender on a domain verified in Resend: set "
                f"{FROM_SETTING}, e.g. 'Acme <notifications@mail.acme.com>'"
            )
        _sdk.configure(key, settings.base_url)
        self.settings = settings
        self._key = key
        self._owns_http = http_client is None
        self._webhooks: ResendWebhooks | None = None
        self._http = http_client or httpx.AsyncClient(
            timeout=httpx.Timeout(settings.timeout, connect=min(10.0, settings.timeout))
        )

    async def send(self, email: Email) -> str:
        """Send ``email`` with its idempotency key and return Resend's email id."""
        try:
            with _sdk.using(self._http):
                response = await resend.Emails.send_async(
                    cast(resend.Emails.SendParams, self._params(email)),
                    {"idempotency_key": email.idempotency_key},
                )
        except ResendError as exc:
            raise map_error(exc, secret=self._key, operation="send") from exc
        message_id = response.get("id")
        if not isinstance(message_id, str) or not message_id:
            raise TransientError("resend: the send answer has no email id", provider=PROVIDER)
        log.debug("resend: sent %s to %d recipient(s)", message_id, len(email.to))
        return message_id

    async def send_batch(
        self, emails: Sequence[Email], *, idempotency_key: str | None = None
    ) -> list[str]:
        """Send up to 100 emails in one request (all or none) and return their ids, in order.

        Without ``idempotency_key`` the key is derived from the emails' own keys, so retrying the
        same batch sends nothing twice.
        """
        if not 1 <= len(emails) <= MAX_BATCH:
            raise InvalidInput(
                f"a Resend batch holds 1 to {MAX_BATCH} emails, not {len(emails)}", field="emails"
            )
        key = idempotency_key or batch_idempotency_key(emails)
        params = [cast(resend.Emails.SendParams, self._params(e)) for e in emails]
        try:
            with _sdk.using(self._http):
                response = await resend.Batch.send_async(params, {"idempotency_key": key})
        except ResendError as exc:
            raise map_error(exc, secret=self._key, operation="batch send") from exc
        data = response.get("data")
        ids = [item.get("id") for item in data] if isinstance(data, list) else []
        if len(ids) != len(emails) or not all(isinstance(i, str) and i for i in ids):
            raise TransientError(
                f"resend: the batch answer holds {len(ids)} ids for {len(emails)} emails",
                provider=PROVIDER,
            )
        log.debug("resend: sent a batch of %d", len(ids))
        return ids

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> DeliveryEvent:
        """A webhook's event, verified under ``GHOSTART_RESEND_WEBHOOK_SECRETS`` (Svix).

        Raises:
            WebhookRejected: Missing, malformed or wrong signature, or a stale timestamp.
            ConfigurationError: No webhook secret is configured.
        """
        if self._webhooks is None:
            self._webhooks = ResendWebhooks.from_settings(self.settings)
        return self._webhooks.handle(body, headers)

    def _params(self, email: Email) -> dict[str, Any]:
        params: dict[str, Any] = {
            "from": email.sender or self.settings.sender,
            "to": list(email.to),
            "subject": email.subject,
            "text": email.text,
        }
        if email.html:
            params["html"] = email.html
        if email.headers:
            params["headers"] = dict(email.headers)
        if email.tags:
            params["tags"] = [
                {"name": _tag(name), "value": _tag(value)}
                for name, value in sorted(email.tags.items())
            ]
        return params

    async def aclose(self) -> None:
        """Close the HTTP client if the mailer made it."""
        if self._owns_http:
            await self._http.aclose()

    def __repr__(self) -> str:
        return f"ResendMailer(base_url={self.settings.base_url!r}, timeout={self.settings.timeout})"
