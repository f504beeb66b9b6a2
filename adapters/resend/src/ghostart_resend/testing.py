"""Resend's documented response, error and webhook shapes, for tests with respx (no network).

``respx`` comes with ``ghostart[test]``; this module is for tests only::

    fake = FakeResend()
    with respx.mock(base_url=RESEND_API_URL) as mock:
        fake.install(mock)
        ...

:class:`FakeResend` behaves as Resend documents idempotency keys: the same key with the same
payload answers the first answer again and sends nothing; the same key with another payload is
409 ``invalid_idempotent_request``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import respx

from ghostart_resend.settings import RESEND_API_URL

__all__ = [
    "DOCUMENTED_ERRORS",
    "RESEND_API_URL",
    "FakeResend",
    "error_response",
    "sign_webhook",
    "webhook_payload",
]

#: Errors as Resend documents them (api-reference/errors): status, name, message, headers.
DOCUMENTED_ERRORS: dict[str, tuple[int, str, str, dict[str, str]]] = {
    "validation_error": (
        422,
        "validation_error",
        "Invalid `to` field. The email address needs to follow the `email@example.com` or "
        "`Name <email@example.com>` format.",
        {},
    ),
    "missing_required_field": (
        422,
        "missing_required_field",
        "The request body is missing one or more required fields.",
        {},
    ),
    "invalid_idempotency_key": (
        400,
        "invalid_idempotency_key",
        "The key must be between 1-256 chars.",
        {},
    ),
    "bad_request": (
        400,
        "validation_error",
        "We found an error with one or more fields in the request.",
        {},
    ),
    "missing_api_key": (401, "missing_api_key", "Missing API key in the authorization header.", {}),
    "invalid_api_key": (403, "invalid_api_key", "API key is invalid.", {}),
    "testing_domain": (
        403,
        "validation_error",
        "You can only send testing emails to your own email address (owner@acme.example). To "
        "send emails to other recipients, please verify a domain at resend.com/domains, and "
        "change the `from` address to an email using this domain.",
        {},
    ),
    "domain_not_verified": (
        403,
        "validation_error",
        "The acme.example domain is not verified. Please, add and verify your domain.",
        {},
    ),
    "invalid_idempotent_request": (
        409,
        "invalid_idempotent_request",
        "Same idempotency key used with a different request payload.",
        {},
    ),
    "concurrent_idempotent_requests": (
        409,
        "concurrent_idempotent_requests",
        "Same idempotency key used while original request is still in progress.",
        {},
    ),
    "rate_limit_exceeded": (
        429,
        "rate_limit_exceeded",
        "Too many requests. Please limit the number of requests per second. Or contact support "
        "to increase rate limit.",
        {
            "retry-after": "1",
            "ratelimit-limit": "2",
            "ratelimit-remaining": "0",
            "ratelimit-reset": "1",
        },
    ),
    "daily_quota_exceeded": (
        429,
        "daily_quota_exceeded",
        "You have reached your daily email sending quota.",
        {"retry-after": "3600"},
    ),
    "monthly_quota_exceeded": (
        429,
        "monthly_quota_exceeded",
        "You have reached your monthly email sending quota.",
        {},
    ),
    "application_error": (
        500,
        "application_error",
        "An unexpected error occurred.",
        {},
    ),
    "internal_server_error": (500, "internal_server_error", "An unexpected error occurred.", {}),
}


def error_response(name: str, **headers: str) -> httpx.Response:
    """The documented error ``name`` as Resend answers it: ``{statusCode, name, message}``."""
    status, kind, message, documented = DOCUMENTED_ERRORS[name]
    return httpx.Response(
        status,
        json={"statusCode": status, "name": kind, "message": message},
        headers=documented | headers,
    )


@dataclass
class FakeResend:
    """``POST /emails`` and ``POST /emails/batch``, with Resend's idempotency behaviour."""

    #: Every email Resend accepted (a replayed key adds none), as sent.
    sent: list[dict[str, Any]] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    _answers: dict[str, tuple[str, httpx.Response]] = field(default_factory=dict)

    def install(self, mock: respx.MockRouter) -> tuple[respx.Route, respx.Route]:
        """Route both endpoints of ``mock`` to this fake."""
        return (
            mock.post("/emails", name="send").mock(side_effect=self._send),
            mock.post("/emails/batch", name="batch").mock(side_effect=self._batch),
        )

    def _replay(self, request: httpx.Request) -> httpx.Response | None:
        self.requests.append(request)
        key = request.headers.get("idempotency-key")
        if key is None or key not in self._answers:
            return None
        digest, answer = self._answers[key]
        if digest != hashlib.sha256(request.content).hexdigest():
            return error_response("invalid_idempotent_request")
        return httpx.Response(answer.status_code, json=json.loads(answer.content))

    def _remember(self, request: httpx.Request, answer: httpx.Response) -> httpx.Response:
        key = request.headers.get("idempotency-key")
        if key is not None:
            self._answers[key] = (hashlib.sha256(request.content).hexdigest(), answer)
        return answer

    def _send(self, request: httpx.Request) -> httpx.Response:
        replayed = self._replay(request)
        if replayed is not None:
            return replayed
        self.sent.append(json.loads(request.content))
        return self._remember(request, httpx.Response(200, json={"id": str(uuid.uuid4())}))

    def _batch(self, request: httpx.Request) -> httpx.Response:
        replayed = self._replay(request)
        if replayed is not None:
            return replayed
        emails = json.loads(request.content)
        self.sent += emails
        data = [{"id": str(uuid.uuid4())} for _ in emails]
        return self._remember(request, httpx.Response(200, json={"data": data}))


def webhook_payload(
    kind: str = "email.bounced",
    *,
    to: str = "delivered@resend.dev",
    bounce_type: str = "Permanent",
    email_id: str = "56761188-7520-42d8-8898-ff6fc54ce618",
) -> dict[str, Any]:
    """A webhook body as Resend documents it (webhooks/emails/*)."""
    data: dict[str, Any] = {
        "broadcast_id": "8b146471-e88e-4322-86af-016cd36fd216",
        "created_at": "2026-11-22T23:41:11.894719+00:00",
        "email_id": email_id,
        "from": "Acme <onboarding@resend.dev>",
        "to": [to],
        "subject": "Your draft is ready for review",
        "template_id": "43f68331-0622-4e15-8202-246a0388854b",
        "tags": {"category": "notifications", "template": "draft_ready"},
    }
    if kind == "email.bounced":
        data["bounce"] = {
            "message": "The recipient's email address is on the suppression list because it has "
            "a recent history of producing hard bounces.",
            "subType": "Suppressed",
            "type": bounce_type,
        }
    return {"type": kind, "created_at": "2026-11-22T23:41:12.126Z", "data": data}


def sign_webhook(
    body: bytes,
    secret: str,
    *,
    msg_id: str = "msg_p5jXN8AQM9LWM0D4loKWxJek",
    timestamp: int | None = None,
) -> dict[str, str]:
    """The ``svix-*`` headers Resend would send with ``body`` under ``secret`` (``whsec_...``)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return {
        "svix-id": msg_id,
        "svix-timestamp": str(stamp),
        "svix-signature": f"v1,{base64.b64encode(mac).decode()}",
    }
