"""Webhook signatures as Stripe signs them: valid ones accepted, every kind of tampering refused.

Headers are made by the SDK's own ``WebhookSignature.generate_signature_header`` (Stripe's
scheme, independent of our code) and, for several ``v1`` values, by our ``sign_header``, which
is checked against the SDK first.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import stripe
from pydantic import SecretStr

from ghostart.errors import ConfigurationError, DomainError
from ghostart.testing import ManualClock
from ghostart_stripe.billing import StripeBilling
from ghostart_stripe.events import BillingEventType
from ghostart_stripe.testing import event, event_body, sign_header, subscription
from ghostart_stripe.webhook import (
    PayloadMalformed,
    SignatureMalformed,
    SignatureMismatch,
    SignatureMissing,
    TimestampOutOfTolerance,
    WebhookRejected,
    verify_signature,
)
from tests.adapters.stripe.conftest import OLD_WHSEC, T0, WHSEC

BODY = event_body(event("customer.subscription.updated", subscription(), created=T0))


def _sdk_header(body: bytes, secret: str, timestamp: int) -> str:
    return str(
        stripe.WebhookSignature.generate_signature_header(
            body.decode("utf-8"), secret, timestamp=timestamp
        )
    )


def _verify(header: str | None, *, now: float = T0, body: bytes = BODY) -> int:
    return verify_signature(body, header, [WHSEC, OLD_WHSEC], now=now, tolerance=300)


def test_our_signer_matches_stripes() -> None:
    assert sign_header(BODY, [WHSEC], T0) == _sdk_header(BODY, WHSEC, T0)


def test_a_valid_signature_is_accepted() -> None:
    assert _verify(_sdk_header(BODY, WHSEC, T0)) == T0


@pytest.mark.parametrize("index", [0, len(BODY) // 2, len(BODY) - 1])
def test_a_body_changed_by_one_byte_is_refused(index: int) -> None:
    header = _sdk_header(BODY, WHSEC, T0)
    changed = bytearray(BODY)
    changed[index] ^= 0x01
    with pytest.raises(SignatureMismatch):
        _verify(header, body=bytes(changed))


def test_a_missing_header_is_refused() -> None:
    with pytest.raises(SignatureMissing):
        _verify(None)
    with pytest.raises(SignatureMissing):
        _verify("  ")


@pytest.mark.parametrize(("offset", "when"), [(-301, "old"), (301, "in the future")])
def test_a_timestamp_301_s_away_either_way_is_refused(offset: int, when: str) -> None:
    header = _sdk_header(BODY, WHSEC, T0 + offset)
    with pytest.raises(TimestampOutOfTolerance, match=when) as err:
        _verify(header)
    assert err.value.skew == -offset and err.value.tolerance == 300


@pytest.mark.parametrize("offset", [-300, 300])
def test_a_timestamp_300_s_away_is_still_accepted(offset: int) -> None:
    assert _verify(_sdk_header(BODY, WHSEC, T0 + offset)) == T0 + offset


def test_the_sdk_itself_accepts_a_future_timestamp_which_is_why_we_check() -> None:
    # The SDK compares against the real clock: sign an hour past real time.
    future = int(time.time()) + 3600
    header = _sdk_header(BODY, WHSEC, future)
    assert stripe.WebhookSignature.verify_header(BODY.decode(), header, WHSEC, tolerance=300)
    with pytest.raises(TimestampOutOfTolerance):
        verify_signature(BODY, header, [WHSEC], now=time.time(), tolerance=300)


def test_two_v1_values_old_and_new_secret_are_accepted() -> None:
    header = sign_header(BODY, [WHSEC, OLD_WHSEC], T0)
    assert header.count("v1=") == 2
    # Each of the two secrets alone is enough, whichever of the v1 values it signed.
    assert verify_signature(BODY, header, [OLD_WHSEC], now=T0) == T0
    assert verify_signature(BODY, header, [WHSEC], now=T0) == T0
    # And a header signed with the old secret only, while both are configured.
    assert _verify(_sdk_header(BODY, OLD_WHSEC, T0)) == T0


def test_a_signature_under_another_secret_is_refused() -> None:
    with pytest.raises(SignatureMismatch):
        _verify(_sdk_header(BODY, "whsec_someone_else", T0))


@pytest.mark.parametrize(
    "header",
    [
        "v1=abc",  # no timestamp
        f"t={T0}",  # no v1
        f"t={T0},v0=deadbeef",  # only the legacy scheme
        f"t=soon,v1={'0' * 64}",
        f"t={T0},t={T0 + 1},v1={'0' * 64}",
        "garbage",
    ],
)
def test_malformed_headers_are_refused(header: str) -> None:
    with pytest.raises(SignatureMalformed):
        _verify(header)


def test_a_non_ascii_signature_is_a_mismatch_not_a_crash() -> None:
    with pytest.raises(SignatureMismatch):
        _verify(f"t={T0},v1=ünïcödé")


def test_the_raw_body_is_required() -> None:
    with pytest.raises(TypeError, match="raw request body"):
        verify_signature(BODY.decode(), "t=1,v1=x", [WHSEC], now=T0)  # type: ignore[arg-type]


def test_no_secret_configured_is_a_configuration_error_naming_the_setting() -> None:
    with pytest.raises(ConfigurationError, match="GHOSTART_STRIPE_WEBHOOK_SECRET"):
        verify_signature(BODY, _sdk_header(BODY, WHSEC, T0), [], now=T0)


def test_refusals_are_domain_errors_that_leak_no_secret_nor_expected_signature() -> None:
    expected = sign_header(BODY, [WHSEC], T0).split("v1=")[1]
    for header in (None, "garbage", _sdk_header(BODY, "whsec_x", T0), _sdk_header(BODY, WHSEC, 0)):
        with pytest.raises(WebhookRejected) as err:
            verify_signature(BODY, header, [SecretStr(WHSEC)], now=T0)
        assert isinstance(err.value, DomainError) and err.value.code == "webhook_rejected"
        text = f"{err.value} {err.value.details}"
        assert WHSEC not in text and expected not in text


def test_the_adapter_verifies_with_its_clock_and_secrets_then_normalises(
    make_billing: Callable[..., StripeBilling], clock: ManualClock
) -> None:
    billing = make_billing()
    header = _sdk_header(BODY, OLD_WHSEC, T0)
    parsed = billing.verify_webhook(BODY, header)
    assert parsed.type is BillingEventType.SUBSCRIPTION_UPDATED and parsed.raw["created"] == T0
    clock.advance(301)
    with pytest.raises(TimestampOutOfTolerance):
        billing.verify_webhook(BODY, header)
    with pytest.raises(SignatureMismatch):
        make_billing(webhook_secret="whsec_other").verify_webhook(
            BODY, _sdk_header(BODY, WHSEC, int(clock.now().timestamp()))
        )


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"id": "evt_1", "type": "x"}'])
def test_a_signed_body_that_is_no_event_is_refused(
    billing: StripeBilling, clock: ManualClock, body: bytes
) -> None:
    with pytest.raises(PayloadMalformed):
        billing.verify_webhook(body, sign_header(body, [WHSEC], T0))
