"""What processing one Stripe event did: the entitlement before and after, and domain events.

The core's worker emits :attr:`Outcome.events` through the ``ghostart_handle_event`` hook after
its transaction commits (the email issue turns them into mail).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from ghostart.models import DomainEvent
from ghostart.models.events import EventName
from ghostart_stripe.events import BillingEvent, BillingEventType, SubscriptionStatus
from ghostart_stripe.state import BillingState, Entitlement

__all__ = [
    "BILLING_PAYMENT_FAILED",
    "BILLING_PLAN_CHANGED",
    "BILLING_TRIAL_ENDING",
    "Outcome",
    "notifications",
    "plan_changed",
]

#: The core owns the names (``ghostart.models.events.EventName``).
BILLING_PLAN_CHANGED = EventName.BILLING_PLAN_CHANGED
BILLING_PAYMENT_FAILED = EventName.BILLING_PAYMENT_FAILED
BILLING_TRIAL_ENDING = EventName.BILLING_TRIAL_ENDING


@dataclass(frozen=True)
class Outcome:
    """The result of :meth:`ghostart_stripe.StripeBilling.process_event`."""

    event_id: str
    organization_id: UUID | None
    before: Entitlement | None = None
    after: Entitlement | None = None
    #: The subscription re-read from Stripe because the events left a doubt.
    refreshed: str | None = None
    #: Why the event changed nothing (unknown type, no organization...).
    ignored: str | None = None
    events: list[DomainEvent] = field(default_factory=list)

    @property
    def plan_changed(self) -> bool:
        """Whether the organization's plan is not what it was."""
        return any(e.name == BILLING_PLAN_CHANGED for e in self.events)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def plan_changed(
    organization_id: UUID,
    before: Entitlement,
    after: Entitlement,
    *,
    cause: str,
    now: datetime,
) -> list[DomainEvent]:
    """``billing.plan_changed`` when one atomic change moved the organization to another plan."""
    if before.plan.name == after.plan.name:
        return []
    payload: dict[str, Any] = {
        "from": before.plan.name,
        "to": after.plan.name,
        "status": after.status.value if after.status else None,
        "subscription_id": after.subscription_id,
        "stripe_event_id": cause,
    }
    return [
        DomainEvent(
            name=BILLING_PLAN_CHANGED,
            organization_id=organization_id,
            payload=payload,
            occurred_at=now,
        )
    ]


def notifications(
    event: BillingEvent,
    organization_id: UUID,
    before: BillingState | None,
    after: BillingState,
    entitled: Entitlement,
    *,
    now: datetime,
) -> list[DomainEvent]:
    """``billing.payment_failed`` and ``billing.trial_ending``, unless the news is stale.

    A payment failure is news unless a later invoice was paid; a trial's end is news while the
    subscription is still trialing.
    """
    base: dict[str, Any] = {"stripe_event_id": event.id, "subscription_id": event.subscription_id}
    if event.type is BillingEventType.INVOICE_PAYMENT_FAILED and event.invoice is not None:
        paid = before.last_paid_at if before else None
        if paid is not None and paid > event.created:
            return []
        invoice = event.invoice
        payload = base | {
            "invoice_id": invoice.id,
            "amount_due": invoice.amount_due,
            "currency": invoice.currency,
            "attempt_count": invoice.attempt_count,
            "next_payment_attempt": _iso(invoice.next_payment_attempt),
            "plan": entitled.subscribed_plan,
            "grace_until": _iso(entitled.grace_until),
        }
        name = BILLING_PAYMENT_FAILED
    elif event.type is BillingEventType.SUBSCRIPTION_TRIAL_WILL_END and event.subscription_id:
        snap = after.subscriptions.get(event.subscription_id)
        if snap is None or snap.status is not SubscriptionStatus.TRIALING:
            return []
        payload = base | {"trial_end": _iso(snap.trial_end), "plan": entitled.subscribed_plan}
        name = BILLING_TRIAL_ENDING
    else:
        return []
    return [
        DomainEvent(name=name, organization_id=organization_id, payload=payload, occurred_at=now)
    ]
