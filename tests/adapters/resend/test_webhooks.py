"""Svix signatures (valid, tampered, stale, rotated) and events normalised to DeliveryEvent."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import pytest
import resend

from ghostart.email import BounceKind, DeliveryEventType, WebhookRejected
from ghostart.errors import ConfigurationError
from ghostart_resend.settings import ResendSettings
from ghostart_resend.testing import sign_webhook, webhook_payload
from ghostart_resend.webhooks import ResendWebhooks, SvixVerifier, parse_event

NOW = 1_764_000_000


def _secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


SECRET, OLD_SECRET = _secret(), _secret()


def _hooks(*secrets: str, tolerance: float = 300) -> ResendWebhooks:
    return ResendWebhooks(SvixVerifier(secrets or [SECRET], tolerance=tolerance, clock=lambda: NOW))


def _signed(
    payload: dict[str, Any], secret: str = SECRET, **kw: Any
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    return body, sign_webhook(body, secret, timestamp=kw.pop("timestamp", NOW), **kw)


def test_a_valid_bounce_is_verified_and_normalised() -> None:
    body, headers = _signed(webhook_payload("email.bounced", to="ada@example.com"))
    event = _hooks().handle(body, headers)
    assert event.type is DeliveryEventType.BOUNCED and event.provider_type == "email.bounced"
    assert event.provider == "resend" and event.event_id == headers["svix-id"]
    assert event.message_id == "56761188-7520-42d8-8898-ff6fc54ce618"
    assert event.recipients == ["ada@example.com"]
    assert event.bounce_kind is BounceKind.PERMANENT and event.suppresses
    assert event.tags == {"category": "notifications", "template": "draft_ready"}
    assert event.occurred_at is not None and event.occurred_at.year == 2026
    assert event.raw == json.loads(body)  # the payload as sent, kept
    assert "ada@example.com" not in repr(event)


@pytest.mark.parametrize(
    ("kind", "expected", "suppresses"),
    [
        ("email.delivered", DeliveryEventType.DELIVERED, False),
        ("email.complained", DeliveryEventType.COMPLAINED, True),
        ("email.delivery_delayed", DeliveryEventType.DELIVERY_DELAYED, False),
        ("email.opened", DeliveryEventType.OPENED, False),
    ],
)
def test_event_types(kind: str, expected: DeliveryEventType, suppresses: bool) -> None:
    event = _hooks().handle(*_signed(webhook_payload(kind)))
    assert event.type is expected and event.suppresses is suppresses and event.bounce_kind is None


def test_a_transient_bounce_does_not_suppress() -> None:
    event = _hooks().handle(*_signed(webhook_payload("email.bounced", bounce_type="Transient")))
    assert event.bounce_kind is BounceKind.TRANSIENT and not event.suppresses


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "inbox.thread.created", "created_at": "2026-11-22T23:41:12Z", "data": {"x": 1}},
        {"type": "email.bounced", "data": {"to": "one@example.com", "bounce": "odd", "tags": 3}},
        {"type": 42, "data": None, "created_at": "not a date"},
        {},
    ],
)
def test_unknown_or_odd_payloads_never_crash(payload: dict[str, Any]) -> None:
    event = _hooks().handle(*_signed(payload))
    assert event.raw == payload
    if payload.get("type") == "email.bounced":
        assert event.type is DeliveryEventType.BOUNCED
        assert event.recipients == ["one@example.com"] and not event.suppresses
    else:
        assert event.type is DeliveryEventType.UNKNOWN


def test_a_tampered_body_is_rejected() -> None:
    body, headers = _signed(webhook_payload("email.delivered"))
    tampered = body.replace(b"email.delivered", b"email.complained")
    with pytest.raises(WebhookRejected, match="signature does not match"):
        _hooks().handle(tampered, headers)


def test_a_tampered_signature_or_id_is_rejected() -> None:
    body, headers = _signed(webhook_payload())
    sig = headers["svix-signature"]
    flipped = sig[:-3] + ("A" if sig[-3] != "A" else "B") + sig[-2:]
    with pytest.raises(WebhookRejected):
        _hooks().handle(body, headers | {"svix-signature": flipped})
    with pytest.raises(WebhookRejected):
        _hooks().handle(body, headers | {"svix-id": "msg_other"})


@pytest.mark.parametrize("offset", [-301, 301, -86_400])
def test_a_timestamp_out_of_tolerance_is_rejected(offset: int) -> None:
    # Correctly signed, but old (a replay) or from the future: both are refused.
    body, headers = _signed(webhook_payload(), timestamp=NOW + offset)
    with pytest.raises(WebhookRejected, match="tolerance"):
        _hooks().handle(body, headers)


def test_a_timestamp_within_tolerance_is_accepted() -> None:
    body, headers = _signed(webhook_payload(), timestamp=NOW - 299)
    assert _hooks().handle(body, headers).type is DeliveryEventType.BOUNCED


def test_rotated_secrets_both_verify_and_a_retired_one_does_not() -> None:
    body, old_headers = _signed(webhook_payload(), secret=OLD_SECRET)
    # During a rotation the endpoint is configured with the new and the old secret.
    assert _hooks(SECRET, OLD_SECRET).handle(body, old_headers).message_id
    # Svix may send one signature per active secret, space-separated: any match is enough.
    new_sig = sign_webhook(body, SECRET, timestamp=NOW)["svix-signature"]
    both = old_headers | {"svix-signature": f"v1,bm90LWEtc2lnbmF0dXJl {new_sig}"}
    assert _hooks(SECRET).handle(body, both).message_id
    # Once the old secret is removed, what it signed is refused.
    with pytest.raises(WebhookRejected):
        _hooks(SECRET).handle(body, old_headers)


def test_only_v1_signatures_count() -> None:
    body, headers = _signed(webhook_payload())
    v2 = headers["svix-signature"].replace("v1,", "v2,")
    with pytest.raises(WebhookRejected):
        _hooks().handle(body, headers | {"svix-signature": v2})


@pytest.mark.parametrize("missing", ["svix-id", "svix-timestamp", "svix-signature"])
def test_missing_headers_are_rejected(missing: str) -> None:
    body, headers = _signed(webhook_payload())
    headers.pop(missing)
    with pytest.raises(WebhookRejected, match=missing):
        _hooks().handle(body, headers)


def test_white_labelled_headers_and_any_case_work() -> None:
    body, headers = _signed(webhook_payload())
    renamed = {k.replace("svix-", "Webhook-").title(): v for k, v in headers.items()}
    assert _hooks().handle(body, renamed).type is DeliveryEventType.BOUNCED


def test_a_verified_body_that_is_not_a_json_object_is_rejected() -> None:
    body = b"[1, 2]"
    with pytest.raises(WebhookRejected, match="JSON object"):
        _hooks().handle(body, sign_webhook(body, SECRET, timestamp=NOW))


def test_our_signatures_match_the_sdk_verifier(monkeypatch: pytest.MonkeyPatch) -> None:
    # resend.Webhooks.verify is Resend's reference (one secret, the real clock).
    body, headers = _signed(webhook_payload("email.complained"), timestamp=None)
    verified = resend.Webhooks.verify(
        {
            "payload": body.decode(),
            "headers": {
                "id": headers["svix-id"],
                "timestamp": headers["svix-timestamp"],
                "signature": headers["svix-signature"],
            },
            "webhook_secret": SECRET,
        }
    )
    assert verified["type"] == "email.complained"
    assert SvixVerifier([SECRET]).verify(body, headers) == headers["svix-id"]


@pytest.mark.parametrize("bad", ["whsec_not base64!", "whsec_QUFBQQ==", "c2hvcnQ="])
def test_malformed_secrets_are_configuration_errors_that_do_not_echo(bad: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        SvixVerifier([bad])
    assert bad not in str(info.value) and "GHOSTART_RESEND_WEBHOOK_SECRETS" in str(info.value)


def test_from_settings_reads_comma_separated_secrets() -> None:
    settings = ResendSettings.load(webhook_secrets=f"{SECRET}, {OLD_SECRET}", webhook_tolerance=60)
    hooks = ResendWebhooks.from_settings(settings, clock=lambda: NOW)
    body, headers = _signed(webhook_payload(), secret=OLD_SECRET, timestamp=NOW - 59)
    assert hooks.handle(body, headers).suppresses
    assert SECRET not in repr(hooks.verifier) and SECRET not in repr(settings)
    with pytest.raises(ConfigurationError, match="GHOSTART_RESEND_WEBHOOK_SECRETS"):
        ResendWebhooks.from_settings(ResendSettings.load())


def test_parse_event_redacts_addresses_in_reasons() -> None:
    payload = webhook_payload("email.bounced")
    payload["data"]["bounce"]["message"] = "550 5.1.1 <ada@example.com>: user unknown"
    event = parse_event(payload)
    assert event.reason == "550 5.1.1 <a***@example.com>: user unknown"
