"""Processing verified events, from the organization to the domain events.

The organization is found, the state folded, doubts re-read from Stripe, and plan changes,
payment failures and trial ends reported once as domain events.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
import respx

from ghostart.testing import ManualClock
from ghostart_stripe.billing import StripeBilling
from ghostart_stripe.events import BillingEvent, SubscriptionStatus, normalise
from ghostart_stripe.outcome import (
    BILLING_PAYMENT_FAILED,
    BILLING_PLAN_CHANGED,
    BILLING_TRIAL_ENDING,
)
from ghostart_stripe.states import MemorySubscriptionStates
from ghostart_stripe.testing import (
    checkout_session,
    event,
    event_body,
    invoice,
    sign_header,
    subscription,
)
from tests.adapters.stripe.conftest import T0, WHSEC

_n = itertools.count()


def ev(kind: str, obj: dict[str, Any], created: int = T0) -> BillingEvent:
    return normalise(event(kind, obj, id=f"evt_p{next(_n)}", created=created))


def sub(org: UUID | None, **kw: Any) -> dict[str, Any]:
    return subscription("sub_P", organization_id=org, **kw)


async def test_checkout_completed_entitles_at_once_by_re_reading_the_subscription(
    billing: StripeBilling, stripe_mock: respx.MockRouter
) -> None:
    org = uuid4()
    read = stripe_mock.get("/v1/subscriptions/sub_P").mock(
        return_value=httpx.Response(200, json=sub(org, status="active"))
    )
    done = ev(
        "checkout.session.completed",
        checkout_session(
            "cs_1",
            organization_id=org,
            plan="pro",
            subscription="sub_P",
            status="complete",
            payment_status="paid",
        ),
    )
    outcome = await billing.process_event(done)
    assert read.call_count == 1 and outcome.refreshed == "sub_P"
    assert outcome.before is not None and outcome.before.plan.name == "free"
    assert outcome.after is not None and outcome.after.plan.name == "pro"
    assert [e.name for e in outcome.events] == [BILLING_PLAN_CHANGED]
    change = outcome.events[0]
    assert change.organization_id == org
    assert change.payload == {
        "from": "free",
        "to": "pro",
        "status": "active",
        "subscription_id": "sub_P",
        "stripe_event_id": done.id,
    }
    assert (await billing.plan_for(org)).name == "pro"
    # The created event arriving later changes nothing and re-reads nothing.
    created = ev("customer.subscription.created", sub(org, status="incomplete"), T0 - 1)
    later = await billing.process_event(created)
    assert later.events == [] and read.call_count == 1
    assert (await billing.plan_for(org)).name == "pro"


async def test_the_same_event_delivered_five_times_concurrently_changes_the_plan_once(
    billing: StripeBilling, stripe_mock: respx.MockRouter
) -> None:
    org = uuid4()
    updated = ev("customer.subscription.updated", sub(org, prices=("price_team_monthly",)))
    outcomes = await asyncio.gather(*(billing.process_event(updated) for _ in range(5)))
    assert sum(len(o.events) for o in outcomes) == 1
    assert sum(o.plan_changed for o in outcomes) == 1
    assert (await billing.plan_for(org)).name == "team"
    assert not stripe_mock.calls


async def test_an_invoice_without_metadata_finds_its_organization_by_customer(
    billing: StripeBilling, stripe_mock: respx.MockRouter
) -> None:
    org = uuid4()
    await billing.process_event(ev("customer.subscription.updated", sub(org, status="active")))
    stripe_mock.get("/v1/subscriptions/sub_P").mock(
        return_value=httpx.Response(200, json=sub(org, status="past_due", period_start=T0 + 100))
    )
    failed = ev(
        "invoice.payment_failed",
        invoice(
            "in_9",
            subscription="sub_P",
            status="open",
            attempt_count=1,
            next_payment_attempt=T0 + 86400,
        ),
        T0 + 100,
    )
    outcome = await billing.process_event(failed)
    assert outcome.organization_id == org and outcome.refreshed == "sub_P"
    [notice] = outcome.events  # still in grace: no plan change
    assert notice.name == BILLING_PAYMENT_FAILED and notice.organization_id == org
    assert notice.payload["invoice_id"] == "in_9" and notice.payload["plan"] == "pro"
    assert notice.payload["grace_until"] is not None
    assert outcome.after is not None and outcome.after.status is SubscriptionStatus.PAST_DUE
    assert (await billing.plan_for(org)).name == "pro"


async def test_a_payment_failure_older_than_a_paid_invoice_is_not_news(
    billing: StripeBilling, stripe_mock: respx.MockRouter
) -> None:
    org = uuid4()
    await billing.process_event(ev("customer.subscription.updated", sub(org), T0 + 50))
    await billing.process_event(
        ev("invoice.paid", invoice("in_2", subscription="sub_P", organization_id=org), T0 + 60)
    )
    stale = ev(
        "invoice.payment_failed",
        invoice("in_1", subscription="sub_P", organization_id=org, status="open"),
        T0 + 10,
    )
    outcome = await billing.process_event(stale)
    assert outcome.events == [] and not stripe_mock.calls


async def test_an_invoice_naming_nothing_known_asks_stripe_whose_subscription_it_is(
    billing: StripeBilling, stripe_mock: respx.MockRouter
) -> None:
    org = uuid4()
    read = stripe_mock.get("/v1/subscriptions/sub_P").mock(
        return_value=httpx.Response(200, json=sub(org, status="active"))
    )
    paid = ev("invoice.paid", invoice("in_1", subscription="sub_P", customer="cus_unknown"))
    outcome = await billing.process_event(paid)
    assert outcome.organization_id == org and read.call_count == 1
    assert (await billing.plan_for(org)).name == "pro"


async def test_events_for_no_organization_and_unknown_types_are_ignored(
    billing: StripeBilling, stripe_mock: respx.MockRouter
) -> None:
    nobody = ev("customer.subscription.updated", sub(None, customer="cus_stranger"))
    assert (
        await billing.process_event(nobody)
    ).ignored == "no ghostart organization for this event"
    unknown = ev("charge.refunded", {"id": "ch_1", "object": "charge"})
    outcome = await billing.process_event(unknown)
    assert outcome.ignored == "unhandled event type charge.refunded" and outcome.events == []
    assert not stripe_mock.calls


async def test_a_trial_ending_is_reported_while_the_subscription_is_trialing(
    billing: StripeBilling, stripe_mock: respx.MockRouter
) -> None:
    org = uuid4()
    trial_end = T0 + 3 * 86400
    will_end = ev(
        "customer.subscription.trial_will_end", sub(org, status="trialing", trial_end=trial_end)
    )
    outcome = await billing.process_event(will_end)
    assert [e.name for e in outcome.events] == [BILLING_PLAN_CHANGED, BILLING_TRIAL_ENDING]
    assert outcome.events[1].payload["trial_end"] == "2026-01-04T00:00:00+00:00"
    # Already converted to active by a later event: the trial's end is no news.
    other = uuid4()
    await billing.process_event(
        ev("customer.subscription.updated", subscription("sub_Q", organization_id=other), T0 + 9)
    )
    stale = ev(
        "customer.subscription.trial_will_end",
        subscription("sub_Q", organization_id=other, status="trialing", trial_end=trial_end),
    )
    assert (await billing.process_event(stale)).events == []


async def test_a_same_second_tie_is_settled_by_a_re_read(
    billing: StripeBilling, stripe_mock: respx.MockRouter, clock: ManualClock
) -> None:
    org = uuid4()
    clock.advance(10)
    read = stripe_mock.get("/v1/subscriptions/sub_P").mock(
        return_value=httpx.Response(200, json=sub(org, status="canceled", ended_at=T0 + 5))
    )
    await billing.process_event(ev("customer.subscription.updated", sub(org), T0 + 5))
    outcome = await billing.process_event(
        ev("customer.subscription.updated", sub(org, status="past_due"), T0 + 5)
    )
    assert read.call_count == 1 and outcome.refreshed == "sub_P"
    assert outcome.after is not None and outcome.after.status is SubscriptionStatus.CANCELED
    assert (await billing.plan_for(org)).name == "free"


async def test_a_signed_webhook_upgrade_lifts_the_plan_at_once(
    billing: StripeBilling, clock: ManualClock
) -> None:
    org = uuid4()
    assert (await billing.plan_for(org)).monthly_generations == 100
    body = event_body(
        event("customer.subscription.updated", sub(org, prices=("price_team_monthly",)), id="evt_u")
    )
    parsed = billing.verify_webhook(body, sign_header(body, [WHSEC], T0))
    await billing.process_event(parsed)
    plan = await billing.plan_for(org)
    assert (plan.name, plan.monthly_generations, plan.seats) == ("team", 2000, 20)


@pytest.mark.parametrize("days", [0.0, 3.0])
async def test_past_due_keeps_the_plan_for_the_configured_grace(
    make_billing: Any, clock: ManualClock, days: float
) -> None:
    billing: StripeBilling = make_billing(past_due_grace_days=days)
    org = uuid4()
    await billing.process_event(
        ev("customer.subscription.updated", sub(org, status="past_due", period_start=T0), T0)
    )
    clock.advance(2 * 86400)
    assert (await billing.plan_for(org)).name == ("pro" if days else "free")
    clock.advance(2 * 86400)
    assert (await billing.plan_for(org)).name == "free"


async def test_refresh_subscription_merges_stripes_current_view(
    billing: StripeBilling, stripe_mock: respx.MockRouter, clock: ManualClock
) -> None:
    org = uuid4()
    await billing.process_event(ev("customer.subscription.updated", sub(org), T0))
    clock.advance(60)
    read = stripe_mock.get("/v1/subscriptions/sub_P").mock(
        return_value=httpx.Response(200, json=sub(org, status="unpaid"))
    )
    outcome = await billing.refresh_subscription(org, "sub_P")
    assert read.call_count == 1 and outcome.refreshed == "sub_P"
    assert outcome.before is not None and outcome.before.plan.name == "pro"
    assert outcome.after is not None and outcome.after.status is SubscriptionStatus.UNPAID
    assert [e.payload["to"] for e in outcome.events] == ["free"]
    # A delivery older than the re-read does not undo it.
    await billing.process_event(ev("customer.subscription.updated", sub(org), T0 + 30))
    assert (await billing.plan_for(org)).name == "free"


async def test_the_worker_can_fold_a_stored_event_into_states_of_its_own_transaction(
    billing: StripeBilling, stripe_mock: respx.MockRouter
) -> None:
    org = uuid4()
    raw = event("customer.subscription.updated", sub(org), id="evt_stored", created=T0)
    stored = json.loads(json.dumps(raw))  # as a JSON column gives it back
    mine = MemorySubscriptionStates()
    outcome = await billing.process_event(billing.parse_event(stored), states=mine)
    assert outcome.plan_changed and outcome.organization_id == org
    assert (await mine.get(org)) is not None and await billing.states.get(org) is None
