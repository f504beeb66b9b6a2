"""An organization's billing state and the pure reducer that folds Stripe events into it.

Stripe delivers events at least once, late and in any order. The state is built so that this does
not matter: for each subscription it keeps the *greatest* snapshot under one total order, and
every other field is a maximum too, so :func:`reduce` is commutative, associative and idempotent.
Any delivery order of the same events, with any duplicates, ends in the same state, and an older
event never overwrites newer state.

The order of two snapshots of one subscription compares, in turn:

1. whether it has ended (``canceled``/``incomplete_expired`` or ``ended_at`` set): Stripe never
   revives an ended subscription, so the end wins whatever the clocks say;
2. the event's ``created`` second (or the time of a re-read);
3. the subscription's own progress: ``current_period_start``, then the status's lifecycle rank;
4. the event id, so that the order is total.

Only steps 3 and 4 decide between two *different* snapshots seen in the same second; such a tie
is a doubt, reported as ``refresh``: the worker re-reads the subscription from Stripe
(:meth:`ghostart_stripe.StripeBilling.refresh_subscription`), and the re-read is merged like any
snapshot.

:func:`entitlement` turns a state into a plan at a given time: ``active`` and ``trialing`` are
entitled, ``past_due`` keeps the plan for a grace period from the start of the unpaid period, and
every other status (``canceled``, ``unpaid``, ``incomplete``, ``incomplete_expired``, ``paused``)
falls back to the default plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from ghostart.models import Plan
from ghostart_stripe.events import (
    BillingEvent,
    BillingEventType,
    SubscriptionSnapshot,
    SubscriptionStatus,
)
from ghostart_stripe.plans import PlanCatalog

__all__ = [
    "ENTITLED",
    "BillingState",
    "Entitlement",
    "Reduction",
    "entitlement",
    "link_customer",
    "merge_snapshot",
    "reduce",
]

S = SubscriptionStatus
ENTITLED = frozenset({S.ACTIVE, S.TRIALING})
_ENDED = frozenset({S.CANCELED, S.INCOMPLETE_EXPIRED})
#: Where a status sits in a subscription's life, for ties within one second and one period.
_LIFECYCLE = {
    S.UNKNOWN: 0,
    S.INCOMPLETE: 1,
    S.TRIALING: 2,
    S.ACTIVE: 3,
    S.PAST_DUE: 4,
    S.UNPAID: 5,
    S.PAUSED: 6,
    S.INCOMPLETE_EXPIRED: 7,
    S.CANCELED: 8,
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class BillingState(BaseModel):
    """What ghostart knows of one organization's billing; stored as JSON by the core."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    organization_id: UUID
    customer_id: str | None = None
    #: When ``customer_id`` was seen (max wins, ties by id), so that merging is order-free.
    customer_seen_at: datetime | None = None
    #: Every subscription seen, by id: the greatest snapshot of each.
    subscriptions: dict[str, SubscriptionSnapshot] = Field(default_factory=dict)
    last_paid_at: datetime | None = None
    last_payment_failed_at: datetime | None = None

    def dump(self) -> dict[str, Any]:
        """JSON-ready data, as the core stores it."""
        return self.model_dump(mode="json")

    @classmethod
    def load(cls, data: dict[str, Any]) -> BillingState:
        """Read what :meth:`dump` wrote."""
        return cls.model_validate(data)


@dataclass(frozen=True)
class Reduction:
    """The new state, and a subscription to re-read when the events left a doubt."""

    state: BillingState
    refresh: str | None = None


@dataclass(frozen=True)
class Entitlement:
    """The plan an organization has at one moment, and why."""

    plan: Plan
    subscription_id: str | None = None
    status: SubscriptionStatus | None = None
    #: Until when a ``past_due`` subscription keeps its plan.
    grace_until: datetime | None = None
    #: The plan the subscription's prices name, even when it does not entitle now.
    subscribed_plan: str | None = None
    #: The start of the subscription's current billing period (when it entitles).
    period_start: datetime | None = None

    @property
    def subscribed(self) -> bool:
        """Whether the plan comes from a subscription rather than the default."""
        return self.subscription_id is not None and self.plan.name == self.subscribed_plan


def _ended(snap: SubscriptionSnapshot) -> bool:
    return snap.status in _ENDED or snap.ended_at is not None


def _order(snap: SubscriptionSnapshot) -> tuple[bool, int, datetime, int, str, str]:
    return (
        _ended(snap),
        int(snap.observed_at.timestamp()),
        snap.current_period_start or _EPOCH,
        _LIFECYCLE[snap.status],
        snap.source,
        snap.model_dump_json(),  # two re-reads in one second: still a total order
    )


def _content(snap: SubscriptionSnapshot) -> dict[str, Any]:
    return snap.model_dump(exclude={"observed_at", "source"})


def merge_snapshot(state: BillingState, snap: SubscriptionSnapshot) -> Reduction:
    """``state`` with ``snap`` merged: kept only if it is greater than the one held."""
    held = state.subscriptions.get(snap.id)
    doubt = (
        held is not None
        and _order(held)[:2] == _order(snap)[:2]
        and _content(held) != _content(snap)
    )
    refresh = snap.id if doubt else None
    if snap.customer_id:  # whether or not the snapshot wins, so that merging stays order-free
        state = link_customer(state, snap.customer_id, snap.observed_at)
    if held is not None and _order(held) >= _order(snap):
        return Reduction(state, refresh)
    subscriptions = {**state.subscriptions, snap.id: snap}
    return Reduction(state.model_copy(update={"subscriptions": subscriptions}), refresh)


def link_customer(state: BillingState, customer_id: str, seen_at: datetime) -> BillingState:
    """``state`` with ``customer_id`` as its customer, unless a later one is already known."""
    held = (state.customer_seen_at, state.customer_id)
    if held[0] is not None and held[1] is not None and (held[0], held[1]) >= (seen_at, customer_id):
        return state
    return state.model_copy(update={"customer_id": customer_id, "customer_seen_at": seen_at})


def _latest(current: datetime | None, seen: datetime) -> datetime:
    return seen if current is None or seen > current else current


def reduce(state: BillingState | None, event: BillingEvent, organization_id: UUID) -> Reduction:
    """The state after ``event`` (pure: no I/O, no clock).

    ``organization_id`` is the organization the caller resolved the event to.
    """
    state = state or BillingState(organization_id=organization_id)
    kind = event.type
    if kind is BillingEventType.UNKNOWN:
        return Reduction(state)
    if event.subscription is not None:
        return merge_snapshot(state, event.subscription)
    if event.customer_id:
        state = link_customer(state, event.customer_id, event.created)
    sub_id = event.subscription_id
    held = state.subscriptions.get(sub_id) if sub_id else None
    if event.problem is not None:
        # A known event we could not read: the subscription itself will tell.
        return Reduction(state, sub_id)
    if kind is BillingEventType.CHECKOUT_COMPLETED:
        # Entitle at once rather than waiting for customer.subscription.created.
        return Reduction(state, sub_id if sub_id and held is None else None)
    if kind is BillingEventType.INVOICE_PAID:
        state = state.model_copy(
            update={"last_paid_at": _latest(state.last_paid_at, event.created)}
        )
        stale = held is not None and held.status not in ENTITLED and not _ended(held)
    else:  # INVOICE_PAYMENT_FAILED
        failed = _latest(state.last_payment_failed_at, event.created)
        state = state.model_copy(update={"last_payment_failed_at": failed})
        stale = held is not None and held.status in ENTITLED
    newer = held is None or int(event.created.timestamp()) >= int(held.observed_at.timestamp())
    # The invoice says something the stored status does not reflect yet: re-read.
    return Reduction(state, sub_id if sub_id and (held is None or (stale and newer)) else None)


def _grace_until(snap: SubscriptionSnapshot, grace: timedelta) -> datetime:
    start = snap.current_period_start or snap.observed_at
    return start + grace


def _grants(snap: SubscriptionSnapshot, now: datetime, grace: timedelta) -> bool:
    if snap.status in ENTITLED:
        return True
    return snap.status is S.PAST_DUE and now < _grace_until(snap, grace)


def entitlement(
    state: BillingState | None, *, now: datetime, catalog: PlanCatalog, grace: timedelta
) -> Entitlement:
    """The plan ``state`` entitles to at ``now`` (the default plan without a subscription)."""
    if state is None or not state.subscriptions:
        return Entitlement(plan=catalog.default)

    # The newest subscription that grants access wins; else the newest one, for its status.
    def rank(s: SubscriptionSnapshot) -> tuple[bool, bool, datetime, str]:
        known = catalog.plan_for_prices(s.price_ids) is not None
        return (_grants(s, now, grace) and known, known, s.created or _EPOCH, s.id)

    snap = max(state.subscriptions.values(), key=rank)
    name = catalog.plan_for_prices(snap.price_ids)
    grace_until = _grace_until(snap, grace) if snap.status is S.PAST_DUE else None
    plan = catalog.plan(name) if name and _grants(snap, now, grace) else None
    return Entitlement(
        plan=plan or catalog.default,
        subscription_id=snap.id,
        status=snap.status,
        grace_until=grace_until,
        subscribed_plan=name,
        period_start=snap.current_period_start if plan is not None else None,
    )
