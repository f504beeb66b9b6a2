"""Stripe events become typed models, the raw event kept.

The seven types ghostart handles are typed, ``unknown`` covers the rest, and a shape this
release does not expect never crashes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from ghostart_stripe.events import BillingEventType, SubscriptionStatus, normalise
from ghostart_stripe.testing import checkout_session, event, invoice, subscription
from tests.adapters.stripe.conftest import T0

ORG = uuid4()


def test_a_subscription_event_carries_a_snapshot_of_the_subscription() -> None:
    obj = subscription(
        "sub_A",
        status="trialing",
        prices=("price_pro_monthly", "price_scale_per_generation"),
        organization_id=ORG,
        period_start=T0,
        period_end=T0 + 86400,
        trial_end=T0 + 86400,
    )
    raw = event("customer.subscription.created", obj, id="evt_A", created=T0 + 5)
    parsed = normalise(raw)
    assert parsed.type is BillingEventType.SUBSCRIPTION_CREATED and parsed.raw == raw
    snap = parsed.subscription
    assert snap is not None
    assert (snap.id, snap.status, snap.organization_id) == ("sub_A", "trialing", ORG)
    assert snap.price_ids == ("price_pro_monthly", "price_scale_per_generation")
    assert snap.current_period_start == datetime.fromtimestamp(T0, UTC)
    assert snap.trial_end == datetime.fromtimestamp(T0 + 86400, UTC)
    assert (snap.observed_at, snap.source) == (datetime.fromtimestamp(T0 + 5, UTC), "evt_A")
    assert (parsed.customer_id, parsed.organization_id) == ("cus_NffrFeUfNV2Hib", ORG)


def test_periods_are_read_from_the_subscription_in_older_api_versions() -> None:
    obj = subscription("sub_old")
    obj["current_period_start"], obj["current_period_end"] = T0 - 100, T0 + 100
    for item in obj["items"]["data"]:
        del item["current_period_start"], item["current_period_end"]
    snap = normalise(event("customer.subscription.updated", obj)).subscription
    assert snap is not None and snap.current_period_start == datetime.fromtimestamp(T0 - 100, UTC)


@pytest.mark.parametrize(
    "kind",
    [
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "customer.subscription.trial_will_end",
    ],
)
def test_every_subscription_event_type_is_typed(kind: str) -> None:
    parsed = normalise(event(kind, subscription(status="canceled")))
    assert parsed.type == kind and parsed.subscription is not None


def test_an_invoice_names_its_subscription_and_organization_under_parent() -> None:
    obj = invoice(
        "in_1",
        subscription="sub_A",
        organization_id=ORG,
        status="open",
        attempt_count=2,
        next_payment_attempt=T0 + 3600,
    )
    parsed = normalise(event("invoice.payment_failed", obj))
    assert parsed.type is BillingEventType.INVOICE_PAYMENT_FAILED
    assert parsed.invoice is not None and parsed.invoice.attempt_count == 2
    assert (parsed.subscription_id, parsed.organization_id) == ("sub_A", ORG)
    assert parsed.invoice.next_payment_attempt == datetime.fromtimestamp(T0 + 3600, UTC)


def test_an_invoice_of_an_older_api_version_names_its_subscription_at_the_top() -> None:
    obj: dict[str, Any] = invoice("in_2", subscription=None)
    obj["subscription"] = "sub_B"
    obj["subscription_details"] = {"metadata": {"ghostart_organization_id": str(ORG)}}
    parsed = normalise(event("invoice.paid", obj))
    assert (parsed.subscription_id, parsed.organization_id) == ("sub_B", ORG)


def test_a_checkout_session_names_the_organization_and_the_plan() -> None:
    obj = checkout_session(
        "cs_1",
        organization_id=ORG,
        plan="pro",
        subscription="sub_A",
        status="complete",
        payment_status="paid",
    )
    parsed = normalise(event("checkout.session.completed", obj))
    assert parsed.checkout is not None and parsed.checkout.plan == "pro"
    assert (parsed.organization_id, parsed.subscription_id) == (ORG, "sub_A")


def test_client_reference_id_names_the_organization_when_metadata_does_not() -> None:
    obj = checkout_session("cs_2", subscription="sub_A")
    obj["client_reference_id"] = str(ORG)
    assert normalise(event("checkout.session.completed", obj)).organization_id == ORG


@pytest.mark.parametrize(
    "kind", ["charge.refunded", "customer.created", "v2.core.account.updated", "x" * 500]
)
def test_unknown_types_are_unknown_and_keep_their_stripe_type(kind: str) -> None:
    raw = event(kind, {"id": "ch_1", "object": "charge"})
    parsed = normalise(raw)
    assert parsed.type is BillingEventType.UNKNOWN
    assert parsed.stripe_type == kind[:200] and parsed.raw == raw and parsed.problem is None


def test_an_unknown_subscription_status_is_unknown() -> None:
    snap = normalise(event("customer.subscription.updated", subscription(status="frozen")))
    assert snap.subscription is not None and snap.subscription.status is SubscriptionStatus.UNKNOWN


@pytest.mark.parametrize(
    ("kind", "obj"),
    [
        ("customer.subscription.updated", {"object": "subscription"}),  # no id
        ("customer.subscription.updated", {"id": "in_1", "object": "invoice"}),
        ("invoice.paid", {"object": "invoice", "customer": 42}),
        ("checkout.session.completed", "not an object"),
    ],
)
def test_a_known_event_with_an_unreadable_object_keeps_its_type_and_says_why(
    kind: str, obj: Any
) -> None:
    raw = event(kind, {})
    raw["data"]["object"] = obj
    parsed = normalise(raw)
    assert parsed.type == kind and parsed.problem and parsed.subscription is None


def test_odd_values_inside_a_known_object_are_ignored_not_fatal() -> None:
    obj = subscription("sub_odd", organization_id="not-a-uuid")
    obj["created"], obj["trial_end"], obj["items"] = "yesterday", True, {"data": "none"}
    obj["metadata"] = ["not", "a", "mapping"]
    snap = normalise(event("customer.subscription.updated", obj)).subscription
    assert snap is not None
    assert (snap.created, snap.trial_end, snap.price_ids, snap.organization_id) == (
        None,
        None,
        (),
        None,
    )


def test_an_object_that_is_no_event_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="needs id, type and created"):
        normalise({"type": "invoice.paid"})
