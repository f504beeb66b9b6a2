"""Stripe events normalised into ghostart's models, the raw payload kept.

:func:`normalise` never raises for an event it does not know: its type is ``unknown``. A known
event whose object can not be read keeps its type, gets ``problem`` set and no snapshot, so the
caller can re-read the subscription instead of guessing. Both the API shapes before and after
Stripe's 2025-03-31 version are read: billing periods on the subscription or on its items, an
invoice's subscription at its top level or under ``parent.subscription_details``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ORGANIZATION_KEY",
    "PLAN_KEY",
    "BillingEvent",
    "BillingEventType",
    "CheckoutFacts",
    "InvoiceFacts",
    "SubscriptionSnapshot",
    "SubscriptionStatus",
    "normalise",
    "snapshot_from_subscription",
]

#: The metadata key that names the ghostart organization on Stripe objects ghostart creates.
ORGANIZATION_KEY = "ghostart_organization_id"
#: The metadata key that names the plan a Checkout Session sold.
PLAN_KEY = "ghostart_plan"


class BillingEventType(StrEnum):
    """The Stripe events ghostart acts on; anything else is ``unknown``."""

    CHECKOUT_COMPLETED = "checkout.session.completed"
    SUBSCRIPTION_CREATED = "customer.subscription.created"
    SUBSCRIPTION_UPDATED = "customer.subscription.updated"
    SUBSCRIPTION_DELETED = "customer.subscription.deleted"
    SUBSCRIPTION_TRIAL_WILL_END = "customer.subscription.trial_will_end"
    INVOICE_PAID = "invoice.paid"
    INVOICE_PAYMENT_FAILED = "invoice.payment_failed"
    UNKNOWN = "unknown"


SUBSCRIPTION_EVENTS = frozenset(
    {
        BillingEventType.SUBSCRIPTION_CREATED,
        BillingEventType.SUBSCRIPTION_UPDATED,
        BillingEventType.SUBSCRIPTION_DELETED,
        BillingEventType.SUBSCRIPTION_TRIAL_WILL_END,
    }
)


class SubscriptionStatus(StrEnum):
    """A Stripe subscription's status; a status this release does not know is ``unknown``."""

    INCOMPLETE = "incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired"
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELED = "canceled"
    UNPAID = "unpaid"
    PAUSED = "paused"
    UNKNOWN = "unknown"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SubscriptionSnapshot(_Frozen):
    """A subscription as one event (or one re-read) saw it, at ``observed_at``."""

    id: str
    customer_id: str | None = None
    organization_id: UUID | None = None
    status: SubscriptionStatus
    #: The prices of its items, in Stripe's order.
    price_ids: tuple[str, ...] = ()
    created: datetime | None = None
    current_period_start: datetime | None = None
    current_period_end: datetime | None = None
    trial_end: datetime | None = None
    cancel_at_period_end: bool = False
    cancel_at: datetime | None = None
    canceled_at: datetime | None = None
    ended_at: datetime | None = None
    #: The ``created`` time of the event that carried it, or the time of the re-read.
    observed_at: datetime
    #: The event's id, or ``"fetch"`` for a re-read from the API.
    source: str


class InvoiceFacts(_Frozen):
    """What ghostart uses of an invoice."""

    id: str
    subscription_id: str | None = None
    customer_id: str | None = None
    status: str | None = None
    billing_reason: str | None = None
    amount_due: int | None = None
    currency: str | None = None
    attempt_count: int | None = None
    next_payment_attempt: datetime | None = None


class CheckoutFacts(_Frozen):
    """What ghostart uses of a completed Checkout Session."""

    id: str
    mode: str | None = None
    customer_id: str | None = None
    subscription_id: str | None = None
    payment_status: str | None = None
    plan: str | None = None


class BillingEvent(_Frozen):
    """One Stripe event, normalised; ``raw`` is the event exactly as Stripe sent it."""

    id: str
    type: BillingEventType
    #: Stripe's own type, also for ``unknown`` events.
    stripe_type: str
    created: datetime
    livemode: bool = False
    api_version: str | None = None
    organization_id: UUID | None = None
    customer_id: str | None = None
    subscription_id: str | None = None
    subscription: SubscriptionSnapshot | None = None
    invoice: InvoiceFacts | None = None
    checkout: CheckoutFacts | None = None
    #: Why a known event could not be read completely.
    problem: str | None = None
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)


def _ts(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _id(value: Any) -> str | None:
    """An expandable field's id: the string itself, or the expanded object's ``id``."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _organization(*candidates: Any) -> UUID | None:
    for value in candidates:
        if isinstance(value, str) and value:
            try:
                return UUID(value)
            except ValueError:
                continue
    return None


def _metadata(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, Mapping) else {}


def _items(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    items = obj.get("items")
    data = items.get("data") if isinstance(items, Mapping) else None
    return [i for i in data if isinstance(i, Mapping)] if isinstance(data, list) else []


def _period(obj: Mapping[str, Any], key: str) -> datetime | None:
    """A period bound: on the subscription (before 2025-03-31) or the latest of its items'."""
    value = _ts(obj.get(key))
    if value is not None:
        return value
    found = [t for t in (_ts(i.get(key)) for i in _items(obj)) if t is not None]
    return max(found) if found else None


def snapshot_from_subscription(
    obj: Mapping[str, Any], *, observed_at: datetime, source: str
) -> SubscriptionSnapshot:
    """A :class:`SubscriptionSnapshot` of a subscription object (``ValueError`` if not one)."""
    sub_id = _str(obj.get("id"))
    if sub_id is None or obj.get("object", "subscription") != "subscription":
        raise ValueError("not a subscription object")
    try:
        status = SubscriptionStatus(str(obj.get("status")))
    except ValueError:
        status = SubscriptionStatus.UNKNOWN
    prices = []
    for item in _items(obj):
        price = _id(item.get("price")) or _id(item.get("plan"))
        if price:
            prices.append(price)
    return SubscriptionSnapshot(
        id=sub_id,
        customer_id=_id(obj.get("customer")),
        organization_id=_organization(_metadata(obj).get(ORGANIZATION_KEY)),
        status=status,
        price_ids=tuple(prices),
        created=_ts(obj.get("created")),
        current_period_start=_period(obj, "current_period_start"),
        current_period_end=_period(obj, "current_period_end"),
        trial_end=_ts(obj.get("trial_end")),
        cancel_at_period_end=obj.get("cancel_at_period_end") is True,
        cancel_at=_ts(obj.get("cancel_at")),
        canceled_at=_ts(obj.get("canceled_at")),
        ended_at=_ts(obj.get("ended_at")),
        observed_at=observed_at,
        source=source,
    )


def _invoice(obj: Mapping[str, Any]) -> tuple[InvoiceFacts, UUID | None]:
    invoice_id = _str(obj.get("id"))
    if invoice_id is None:
        raise ValueError("not an invoice object")
    parent = obj.get("parent")
    details = parent.get("subscription_details") if isinstance(parent, Mapping) else None
    if not isinstance(details, Mapping):
        details = obj.get("subscription_details")  # before 2025-03-31
    details = details if isinstance(details, Mapping) else {}
    subscription = _id(details.get("subscription")) or _id(obj.get("subscription"))
    facts = InvoiceFacts(
        id=invoice_id,
        subscription_id=subscription,
        customer_id=_id(obj.get("customer")),
        status=_str(obj.get("status")),
        billing_reason=_str(obj.get("billing_reason")),
        amount_due=_int(obj.get("amount_due")),
        currency=_str(obj.get("currency")),
        attempt_count=_int(obj.get("attempt_count")),
        next_payment_attempt=_ts(obj.get("next_payment_attempt")),
    )
    return facts, _organization(_metadata(details).get(ORGANIZATION_KEY))


def _checkout(obj: Mapping[str, Any]) -> tuple[CheckoutFacts, UUID | None]:
    session_id = _str(obj.get("id"))
    if session_id is None:
        raise ValueError("not a checkout session object")
    metadata = _metadata(obj)
    facts = CheckoutFacts(
        id=session_id,
        mode=_str(obj.get("mode")),
        customer_id=_id(obj.get("customer")),
        subscription_id=_id(obj.get("subscription")),
        payment_status=_str(obj.get("payment_status")),
        plan=_str(metadata.get(PLAN_KEY)),
    )
    return facts, _organization(metadata.get(ORGANIZATION_KEY), obj.get("client_reference_id"))


def normalise(raw: Mapping[str, Any]) -> BillingEvent:
    """The :class:`BillingEvent` for a Stripe event object (as :func:`parse_payload` returns).

    Raises ``ValueError`` only when ``raw`` is no event at all (no ``id``, ``type`` or
    ``created``); see :func:`ghostart_stripe.webhook.parse_payload`, which checks that first.
    """
    event_id, stripe_type, created = raw.get("id"), raw.get("type"), _ts(raw.get("created"))
    if not isinstance(event_id, str) or not isinstance(stripe_type, str) or created is None:
        raise ValueError("not a Stripe event: it needs id, type and created")
    try:
        kind = BillingEventType(stripe_type)
    except ValueError:
        kind = BillingEventType.UNKNOWN
    if kind is BillingEventType.UNKNOWN:
        stripe_type = stripe_type[:200]
    data = raw.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    fields: dict[str, Any] = {}
    if kind is not BillingEventType.UNKNOWN:
        if not isinstance(obj, Mapping):
            fields["problem"] = "the event has no data.object"
        else:
            try:
                fields |= _read(kind, obj, created=created, event_id=event_id)
            except (ValueError, TypeError) as exc:
                fields["problem"] = f"data.object could not be read: {exc}"[:300]
                fields["subscription_id"] = (
                    _str(obj.get("id")) if kind in SUBSCRIPTION_EVENTS else None
                )
    return BillingEvent(
        id=event_id,
        type=kind,
        stripe_type=stripe_type,
        created=created,
        livemode=raw.get("livemode") is True,
        api_version=_str(raw.get("api_version")),
        raw=dict(raw),
        **fields,
    )


def _read(
    kind: BillingEventType, obj: Mapping[str, Any], *, created: datetime, event_id: str
) -> dict[str, Any]:
    if kind in SUBSCRIPTION_EVENTS:
        snap = snapshot_from_subscription(obj, observed_at=created, source=event_id)
        return {
            "subscription": snap,
            "subscription_id": snap.id,
            "customer_id": snap.customer_id,
            "organization_id": snap.organization_id,
        }
    if kind is BillingEventType.CHECKOUT_COMPLETED:
        checkout, org = _checkout(obj)
        return {
            "checkout": checkout,
            "subscription_id": checkout.subscription_id,
            "customer_id": checkout.customer_id,
            "organization_id": org,
        }
    invoice, org = _invoice(obj)
    return {
        "invoice": invoice,
        "subscription_id": invoice.subscription_id,
        "customer_id": invoice.customer_id,
        "organization_id": org,
    }
