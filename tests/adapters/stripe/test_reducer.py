"""The subscription-state reducer, and status to entitlement.

Any delivery order of a lifecycle, with duplicates, ends in the same state; an older event never
overwrites newer state; doubts ask for a re-read.
"""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from ghostart_stripe.events import BillingEvent, SubscriptionStatus, normalise
from ghostart_stripe.plans import PlanCatalog
from ghostart_stripe.settings import PlanConfig
from ghostart_stripe.state import BillingState, entitlement, reduce
from ghostart_stripe.testing import checkout_session, event, invoice, subscription
from tests.adapters.stripe.conftest import DEFAULT, PLANS, T0

ORG = uuid4()
DAY = 86400
CATALOG = PlanCatalog({k: PlanConfig.model_validate(v) for k, v in PLANS.items()}, DEFAULT)
GRACE = timedelta(days=7)
_n = itertools.count()


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def sub_event(kind: str, created: int, **fields: Any) -> BillingEvent:
    obj = subscription("sub_L", organization_id=ORG, **fields)
    return normalise(
        event(f"customer.subscription.{kind}", obj, id=f"evt_{next(_n)}", created=created)
    )


def other_event(kind: str, obj: dict[str, Any], created: int) -> BillingEvent:
    return normalise(event(kind, obj, id=f"evt_{next(_n)}", created=created))


def fold(events: list[BillingEvent]) -> BillingState:
    state: BillingState | None = None
    for e in events:
        state = reduce(state, e, ORG).state
    assert state is not None
    return state


def plan_at(state: BillingState, seconds: int) -> str:
    return entitlement(state, now=at(seconds), catalog=CATALOG, grace=GRACE).plan.name


def canceled_lifecycle() -> list[BillingEvent]:
    """Checkout, created (incomplete), paid, active, past due at renewal, deleted."""
    renewal = T0 + 30 * DAY
    pro = ("price_pro_monthly",)
    return [
        other_event(
            "checkout.session.completed",
            checkout_session("cs_L", organization_id=ORG, plan="pro", subscription="sub_L"),
            T0 + 10,
        ),
        sub_event("created", T0 + 10, status="incomplete", prices=pro, period_start=T0 + 10),
        other_event(
            "invoice.paid", invoice("in_1", subscription="sub_L", organization_id=ORG), T0 + 11
        ),
        sub_event("updated", T0 + 11, status="active", prices=pro, period_start=T0 + 10),
        sub_event("updated", renewal + 3600, status="past_due", prices=pro, period_start=renewal),
        sub_event(
            "deleted",
            T0 + 45 * DAY,
            status="canceled",
            prices=pro,
            period_start=renewal,
            canceled_at=T0 + 45 * DAY,
            ended_at=T0 + 45 * DAY,
        ),
    ]


def upgrade_lifecycle() -> list[BillingEvent]:
    """Created, active on pro, paid, upgraded to team, renewal fails: past due on team."""
    renewal = T0 + 30 * DAY
    return [
        sub_event("created", T0, status="incomplete", prices=("price_pro_monthly",)),
        sub_event("updated", T0 + 2, status="active", prices=("price_pro_monthly",)),
        other_event(
            "invoice.paid", invoice("in_1", subscription="sub_L", organization_id=ORG), T0 + 2
        ),
        sub_event("updated", T0 + 20 * DAY, status="active", prices=("price_team_monthly",)),
        other_event(
            "invoice.payment_failed",
            invoice("in_2", subscription="sub_L", organization_id=ORG, status="open"),
            renewal + 3600,
        ),
        sub_event(
            "updated",
            renewal + 3600,
            status="past_due",
            prices=("price_team_monthly",),
            period_start=renewal,
        ),
    ]


@pytest.mark.parametrize("lifecycle", [canceled_lifecycle, upgrade_lifecycle])
def test_fifty_random_delivery_orders_with_duplicates_end_in_the_same_state(
    lifecycle: Any,
) -> None:
    events = lifecycle()
    expected = fold(events)
    rng = random.Random(8)
    finals = set()
    for _ in range(50):
        delivered = [e for e in events for _ in range(rng.randint(1, 3))]
        rng.shuffle(delivered)
        final = fold(delivered)
        assert final == expected
        finals.add(final.model_dump_json())
    assert len(finals) == 1


def test_every_order_of_the_canceled_lifecycle_ends_canceled_on_the_default_plan() -> None:
    events = canceled_lifecycle()
    for order in itertools.permutations(events):
        state = fold(list(order))
        snap = state.subscriptions["sub_L"]
        assert snap.status is SubscriptionStatus.CANCELED
        assert state.customer_id == "cus_NffrFeUfNV2Hib"
        assert state.last_paid_at == at(T0 + 11)
        assert plan_at(state, T0 + 46 * DAY) == "free"


def test_every_order_of_the_upgrade_lifecycle_ends_past_due_on_team_with_grace() -> None:
    renewal = T0 + 30 * DAY
    for order in itertools.permutations(upgrade_lifecycle()):
        state = fold(list(order))
        snap = state.subscriptions["sub_L"]
        assert (snap.status, snap.price_ids) == (
            SubscriptionStatus.PAST_DUE,
            ("price_team_monthly",),
        )
        assert plan_at(state, renewal + 2 * 3600) == "team"  # within the grace period
        assert plan_at(state, renewal + 7 * DAY + 1) == "free"  # grace over


def test_updated_canceled_before_an_older_updated_active_ends_canceled() -> None:
    canceled = sub_event("updated", T0 + 100, status="canceled", ended_at=T0 + 100)
    active = sub_event("updated", T0 + 50, status="active")
    state = fold([canceled, active])
    assert state.subscriptions["sub_L"].status is SubscriptionStatus.CANCELED
    assert state == fold([active, canceled])
    assert plan_at(state, T0 + 101) == "free"


def test_an_ended_subscription_is_never_revived_even_by_a_later_stamped_event() -> None:
    deleted = sub_event("deleted", T0 + 100, status="canceled", ended_at=T0 + 100)
    late = sub_event("updated", T0 + 200, status="active")
    assert fold([deleted, late]).subscriptions["sub_L"].status is SubscriptionStatus.CANCELED
    assert fold([late, deleted]) == fold([deleted, late])


def test_an_older_event_never_overwrites_newer_state() -> None:
    newer = sub_event("updated", T0 + 200, status="past_due")
    older = sub_event("updated", T0 + 100, status="active")
    reduction = reduce(fold([newer]), older, ORG)
    assert reduction.state == fold([newer]) and reduction.refresh is None


def test_two_different_snapshots_in_one_second_agree_either_way_and_ask_for_a_re_read() -> None:
    a = sub_event("updated", T0 + 100, status="active", period_start=T0)
    b = sub_event("updated", T0 + 100, status="past_due", period_start=T0)
    first, second = (
        reduce(reduce(None, a, ORG).state, b, ORG),
        reduce(reduce(None, b, ORG).state, a, ORG),
    )
    assert first.state == second.state
    assert first.refresh == second.refresh == "sub_L"
    # The later period wins a tie, whatever the status says.
    c = sub_event("updated", T0 + 100, status="active", period_start=T0 + 50)
    assert fold([c, b]).subscriptions["sub_L"].status is SubscriptionStatus.ACTIVE


def test_the_same_event_twice_changes_nothing_and_raises_no_doubt() -> None:
    e = sub_event("updated", T0 + 100, status="active")
    once = reduce(None, e, ORG)
    twice = reduce(once.state, e, ORG)
    assert twice.state == once.state and twice.refresh is None


def test_checkout_completed_asks_for_the_subscription_until_it_is_known() -> None:
    done = other_event(
        "checkout.session.completed",
        checkout_session("cs_1", organization_id=ORG, subscription="sub_L"),
        T0,
    )
    first = reduce(None, done, ORG)
    assert first.refresh == "sub_L" and first.state.customer_id == "cus_NffrFeUfNV2Hib"
    known = fold([sub_event("created", T0, status="active")])
    assert reduce(known, done, ORG).refresh is None


@pytest.mark.parametrize(
    ("held", "kind", "created", "refresh"),
    [
        ("past_due", "invoice.paid", T0 + 200, True),  # paid after: the status is behind
        ("past_due", "invoice.paid", T0 + 50, False),  # paid before the past_due: nothing new
        ("active", "invoice.paid", T0 + 200, False),
        ("active", "invoice.payment_failed", T0 + 200, True),
        ("active", "invoice.payment_failed", T0 + 50, False),
        ("canceled", "invoice.paid", T0 + 200, False),  # nothing revives an ended subscription
    ],
)
def test_invoices_ask_for_a_re_read_only_when_newer_and_at_odds_with_the_status(
    held: str, kind: str, created: int, refresh: bool
) -> None:
    state = fold([sub_event("updated", T0 + 100, status=held)])
    inv = other_event(kind, invoice("in_9", subscription="sub_L", organization_id=ORG), created)
    reduction = reduce(state, inv, ORG)
    assert reduction.refresh == ("sub_L" if refresh else None)
    assert reduction.state.subscriptions == state.subscriptions  # invoices never set a status


def test_unknown_events_change_nothing_and_unreadable_ones_ask_for_a_re_read() -> None:
    state = fold([sub_event("updated", T0, status="active")])
    unknown = other_event("charge.refunded", {"id": "ch_1"}, T0 + 5)
    assert reduce(state, unknown, ORG).state == state
    assert reduce(state, unknown, ORG).refresh is None
    # A subscription event whose object is not a subscription: re-read the one it names.
    unreadable = other_event(
        "customer.subscription.updated", {"id": "sub_L", "object": "invoice"}, T0 + 5
    )
    assert unreadable.problem
    reduction = reduce(state, unreadable, ORG)
    assert reduction.state == state and reduction.refresh == "sub_L"
    bad_invoice = other_event("invoice.paid", {"object": "invoice"}, T0 + 6)
    assert bad_invoice.problem and reduce(state, bad_invoice, ORG).state == state


@pytest.mark.parametrize(
    ("status", "plan"),
    [
        ("active", "pro"),
        ("trialing", "pro"),
        ("past_due", "pro"),  # in grace
        ("canceled", "free"),
        ("unpaid", "free"),
        ("incomplete", "free"),
        ("incomplete_expired", "free"),
        ("paused", "free"),
        ("something_new", "free"),
    ],
)
def test_status_to_entitlement(status: str, plan: str) -> None:
    state = fold([sub_event("updated", T0, status=status, period_start=T0)])
    assert plan_at(state, T0 + DAY) == plan


def test_the_grace_period_is_configurable_and_counts_from_the_unpaid_period() -> None:
    state = fold([sub_event("updated", T0 + DAY, status="past_due", period_start=T0)])
    now = at(T0 + 2 * DAY)
    three = entitlement(state, now=now, catalog=CATALOG, grace=timedelta(days=3))
    assert three.plan.name == "pro" and three.grace_until == at(T0 + 3 * DAY)
    assert entitlement(state, now=now, catalog=CATALOG, grace=timedelta(0)).plan.name == "free"


def test_a_price_no_plan_sells_gives_the_default_plan() -> None:
    state = fold([sub_event("updated", T0, status="active", prices=("price_retired",))])
    result = entitlement(state, now=at(T0 + 1), catalog=CATALOG, grace=GRACE)
    assert result.plan.name == "free" and result.subscribed_plan is None


def test_the_newest_entitling_subscription_wins() -> None:
    old = normalise(
        event(
            "customer.subscription.deleted",
            subscription(
                "sub_old", status="canceled", organization_id=ORG, created=T0, ended_at=T0 + 5
            ),
            id="evt_old",
            created=T0 + 5,
        )
    )
    new = normalise(
        event(
            "customer.subscription.created",
            subscription(
                "sub_new",
                status="active",
                organization_id=ORG,
                created=T0 + 9,
                prices=("price_team_monthly",),
            ),
            id="evt_new",
            created=T0 + 9,
        )
    )
    abandoned = normalise(
        event(
            "customer.subscription.created",
            subscription(
                "sub_abandoned", status="incomplete", organization_id=ORG, created=T0 + 20
            ),
            id="evt_abandoned",
            created=T0 + 20,
        )
    )
    for order in itertools.permutations([old, new, abandoned]):
        state = fold(list(order))
        result = entitlement(state, now=at(T0 + 30), catalog=CATALOG, grace=GRACE)
        assert (result.plan.name, result.subscription_id) == ("team", "sub_new")


def test_the_customer_merges_the_same_in_any_order() -> None:
    a = other_event("checkout.session.completed", checkout_session("cs_a", customer="cus_a"), T0)
    b = other_event(
        "checkout.session.completed", checkout_session("cs_b", customer="cus_b"), T0 + 1
    )
    assert fold([a, b]).customer_id == fold([b, a]).customer_id == "cus_b"


def test_the_state_round_trips_through_json() -> None:
    state = fold(canceled_lifecycle())
    assert BillingState.load(state.dump()) == state


def test_the_customer_of_a_losing_snapshot_still_merges_the_same_in_any_order() -> None:
    # Contrived (a subscription keeps its customer), but the merge must be order-free anyway.
    ended = sub_event("deleted", T0 + 5, status="canceled", ended_at=T0 + 5, customer="cus_1")
    later = sub_event("updated", T0 + 10, status="active", customer="cus_2")
    assert fold([ended, later]) == fold([later, ended])
