"""Checkout, the portal, one customer per organization and metered usage, on respx.

Requests and responses follow Stripe's documented shapes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs
from uuid import UUID, uuid4

import httpx
import pytest
import respx

from ghostart.errors import ConfigurationError, Conflict, InvalidInput, TransientError
from ghostart.retry import RetryPolicy
from ghostart_stripe.billing import StripeBilling
from ghostart_stripe.events import BillingEvent, normalise
from ghostart_stripe.testing import (
    checkout_session,
    customer,
    event,
    meter_event,
    portal_session,
    search_result,
    subscription,
)
from tests.adapters.stripe.conftest import T0


def form(request: httpx.Request) -> dict[str, str]:
    """A form-encoded Stripe request body, flattened (``line_items[0][price]`` -> value)."""
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


class FakeStripeCustomers:
    """``POST /v1/customers`` as Stripe behaves: a repeated Idempotency-Key replays the reply.

    ``lose_first`` answers the first request with a timeout *after* creating the customer, as
    when the response is lost on the way back.
    """

    def __init__(self, *, lose_first: bool = False) -> None:
        self.customers: list[dict[str, Any]] = []
        self.replies: dict[str, dict[str, Any]] = {}
        self.lose_first = lose_first

    def __call__(self, request: httpx.Request) -> httpx.Response:
        key = request.headers["Idempotency-Key"]
        if key not in self.replies:
            data = form(request)
            created = customer(
                f"cus_{len(self.customers) + 1:014d}",
                organization_id=data.get("metadata[ghostart_organization_id]"),
                name=data.get("name"),
            )
            self.customers.append(created)
            self.replies[key] = created
            if self.lose_first:
                self.lose_first = False
                raise httpx.ReadTimeout("the response was lost", request=request)
        return httpx.Response(200, json=self.replies[key], headers={"Idempotent-Replayed": "true"})


def _session_reply(request: httpx.Request) -> httpx.Response:
    data = form(request)
    return httpx.Response(
        200,
        json=checkout_session(
            f"cs_test_{abs(hash(request.headers['Idempotency-Key'])) % 10**12}",
            customer=data["customer"],
            organization_id=data["metadata[ghostart_organization_id]"],
            plan=data["metadata[ghostart_plan]"],
        ),
    )


def _policy() -> RetryPolicy:
    return RetryPolicy(max_attempts=4, initial_backoff=0.001, max_backoff=0.002)


async def _subscribe(billing: StripeBilling, org: UUID, prices: tuple[str, ...], **kw: Any) -> None:
    obj = subscription(f"sub_{org.hex[:10]}", prices=prices, organization_id=org, **kw)
    await billing.process_event(billing_event("customer.subscription.updated", obj, created=T0))


def billing_event(kind: str, obj: dict[str, Any], *, created: int) -> BillingEvent:
    return normalise(event(kind, obj, id=f"evt_{uuid4().hex[:16]}", created=created))


async def test_a_checkout_retried_after_a_timeout_makes_one_customer_and_one_session(
    billing: StripeBilling, stripe_mock: respx.MockRouter
) -> None:
    org = uuid4()
    fake = FakeStripeCustomers(lose_first=True)
    customers = stripe_mock.post("/v1/customers").mock(side_effect=fake)
    sessions = stripe_mock.post("/v1/checkout/sessions").mock(side_effect=_session_reply)
    link = await _policy().call(
        lambda: billing.create_checkout(org, "pro", operation_id="req-7", organization_name="Acme"),
        operation="checkout",
    )
    keys = [c.request.headers["Idempotency-Key"] for c in customers.calls]
    assert len(keys) == 2 and keys[0] == keys[1] and str(org) in keys[0]
    assert len(fake.customers) == 1 and link.customer_id == fake.customers[0]["id"]
    assert fake.customers[0]["metadata"] == {"ghostart_organization_id": str(org)}
    assert sessions.call_count == 1 and link.url.startswith("https://checkout.stripe.com/")
    # Asked again (a second click, a job run twice): the same customer, no new POST.
    again = await billing.create_checkout(org, "pro", operation_id="req-7")
    assert customers.call_count == 2 and again.customer_id == link.customer_id
    assert [c.request.headers["Idempotency-Key"] for c in sessions.calls] == [
        f"ghostart:checkout:{org}:pro:price_pro_monthly:req-7"
    ] * 2


async def test_a_checkout_post_that_timed_out_is_resent_with_the_same_key(
    billing: StripeBilling, stripe_mock: respx.MockRouter
) -> None:
    org = uuid4()
    stripe_mock.post("/v1/customers").mock(side_effect=FakeStripeCustomers())
    sessions = stripe_mock.post("/v1/checkout/sessions").mock(
        side_effect=[httpx.ConnectTimeout("slow"), _session_reply]
    )
    with pytest.raises(TransientError):
        await billing.create_checkout(org, "team", operation_id="job-1")
    await billing.create_checkout(org, "team", operation_id="job-1")
    first, second = (c.request for c in sessions.calls)
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert first.content == second.content


async def test_the_session_asks_stripe_for_what_the_plan_sells(
    billing: StripeBilling, stripe_mock: respx.MockRouter
) -> None:
    org = uuid4()
    stripe_mock.post("/v1/customers").mock(side_effect=FakeStripeCustomers())
    sessions = stripe_mock.post("/v1/checkout/sessions").mock(side_effect=_session_reply)
    await billing.create_checkout(org, "pro", operation_id="a", price="price_pro_yearly")
    await billing.create_checkout(
        org, "scale", operation_id="b", success_url="https://x.example/ok"
    )
    pro, scale = (form(c.request) for c in sessions.calls)
    assert pro["mode"] == "subscription" and pro["client_reference_id"] == str(org)
    assert (pro["line_items[0][price]"], pro["line_items[0][quantity]"]) == (
        "price_pro_yearly",
        "1",
    )
    assert pro["subscription_data[metadata][ghostart_organization_id]"] == str(org)
    assert pro["subscription_data[trial_period_days]"] == "14"
    assert pro["success_url"].endswith("session={CHECKOUT_SESSION_ID}")
    assert scale["line_items[1][price]"] == "price_scale_per_generation"
    assert "line_items[1][quantity]" not in scale  # metered prices take no quantity
    assert "subscription_data[trial_period_days]" not in scale
    assert scale["success_url"] == "https://x.example/ok"


@pytest.mark.parametrize(
    ("plan", "price", "error", "says"),
    [
        ("enterprise", None, InvalidInput, "plans on sale: pro, team, scale"),
        ("free", None, InvalidInput, "can not be bought"),
        ("pro", "price_team_monthly", InvalidInput, "does not sell plan 'pro'"),
    ],
)
async def test_a_plan_or_price_that_is_not_on_sale_is_refused_before_any_call(
    billing: StripeBilling,
    stripe_mock: respx.MockRouter,
    plan: str,
    price: str | None,
    error: type,
    says: str,
) -> None:
    with pytest.raises(error, match=says):
        await billing.create_checkout(uuid4(), plan, operation_id="x", price=price)
    assert not stripe_mock.calls


async def test_checkout_without_return_urls_names_the_settings(
    make_billing: Callable[..., StripeBilling], stripe_mock: respx.MockRouter
) -> None:
    billing = make_billing(success_url=None, cancel_url=None)
    with pytest.raises(ConfigurationError, match="GHOSTART_STRIPE_SUCCESS_URL"):
        await billing.create_checkout(uuid4(), "pro", operation_id="x")
    assert not stripe_mock.calls


async def test_a_subscribed_organization_is_sent_to_the_portal_not_a_second_checkout(
    billing: StripeBilling, stripe_mock: respx.MockRouter
) -> None:
    org = uuid4()
    await _subscribe(billing, org, ("price_pro_monthly",), status="past_due", period_start=T0)
    with pytest.raises(Conflict, match="customer portal"):
        await billing.create_checkout(org, "team", operation_id="x")
    assert not stripe_mock.calls


async def test_an_existing_customer_is_found_by_search_instead_of_created(
    make_billing: Callable[..., StripeBilling], stripe_mock: respx.MockRouter
) -> None:
    billing, org = make_billing(customer_search=True), uuid4()
    search = stripe_mock.get("/v1/customers/search").mock(
        return_value=httpx.Response(
            200,
            json=search_result(
                customer("cus_newer", organization_id=org, created=T0 + 5),
                customer("cus_oldest", organization_id=org, created=T0),
            ),
        )
    )
    create = stripe_mock.post("/v1/customers")
    assert await billing.ensure_customer(org) == "cus_oldest"
    assert search.calls[0].request.url.params["query"] == (
        f"metadata['ghostart_organization_id']:'{org}'"
    )
    assert create.call_count == 0
    assert await billing.ensure_customer(org) == "cus_oldest" and search.call_count == 1


async def test_concurrent_first_checkouts_of_one_organization_share_one_customer(
    billing: StripeBilling, stripe_mock: respx.MockRouter
) -> None:
    org = uuid4()
    fake = FakeStripeCustomers()
    stripe_mock.post("/v1/customers").mock(side_effect=fake)
    stripe_mock.post("/v1/checkout/sessions").mock(side_effect=_session_reply)
    links = await asyncio.gather(
        *(billing.create_checkout(org, "pro", operation_id=f"click-{n}") for n in range(5))
    )
    assert len(fake.customers) == 1 and {link.customer_id for link in links} == {
        fake.customers[0]["id"]
    }


async def test_the_portal_opens_for_the_organizations_customer(
    billing: StripeBilling, stripe_mock: respx.MockRouter
) -> None:
    org = uuid4()
    with pytest.raises(Conflict, match="no Stripe customer yet"):
        await billing.create_portal(org, operation_id="p1")
    await _subscribe(billing, org, ("price_pro_monthly",))
    route = stripe_mock.post("/v1/billing_portal/sessions").mock(
        return_value=httpx.Response(200, json=portal_session(customer="cus_NffrFeUfNV2Hib"))
    )
    link = await billing.create_portal(org, operation_id="p1")
    sent = form(route.calls[0].request)
    assert sent == {
        "customer": "cus_NffrFeUfNV2Hib",
        "return_url": "https://app.example.com/settings",
    }
    assert route.calls[0].request.headers["Idempotency-Key"] == f"ghostart:portal:{org}:p1"
    assert link.url.startswith("https://billing.stripe.com/p/session/")


async def test_usage_on_a_metered_plan_goes_to_the_meter_once_per_source_row(
    billing: StripeBilling, stripe_mock: respx.MockRouter
) -> None:
    org, generation_id = uuid4(), uuid4()
    await _subscribe(billing, org, ("price_scale_base", "price_scale_per_generation"))
    seen: set[str] = set()

    def meter(request: httpx.Request) -> httpx.Response:
        data = form(request)
        seen.add(data["identifier"])  # Stripe counts one event per identifier
        return httpx.Response(
            200,
            json=meter_event(
                event_name=data["event_name"],
                customer=data["payload[stripe_customer_id]"],
                value=int(data["payload[value]"]),
                identifier=data["identifier"],
            ),
        )

    route = stripe_mock.post("/v1/billing/meter_events").mock(side_effect=meter)
    when = datetime.fromtimestamp(T0 + 60, UTC)
    first = await billing.report_usage(org, quantity=1, source_id=generation_id, timestamp=when)
    again = await billing.report_usage(org, quantity=1, source_id=generation_id, timestamp=when)
    other = await billing.report_usage(org, quantity=3, source_id=uuid4(), timestamp=when)
    assert first == again == f"ghostart:usage:ghostart_generation:{generation_id}"
    assert other != first and len(seen) == 2
    sent = form(route.calls[0].request)
    assert sent == {
        "event_name": "ghostart_generation",
        "identifier": first,
        "payload[stripe_customer_id]": "cus_NffrFeUfNV2Hib",
        "payload[value]": "1",
        "timestamp": str(T0 + 60),
    }
    keys = [c.request.headers["Idempotency-Key"] for c in route.calls]
    assert keys[0] == keys[1] == first


async def test_usage_is_not_reported_for_a_plan_without_a_meter_nor_without_a_subscription(
    billing: StripeBilling, stripe_mock: respx.MockRouter
) -> None:
    org = uuid4()
    assert await billing.report_usage(org, quantity=1, source_id="g1") is None
    await _subscribe(billing, org, ("price_pro_monthly",))
    assert await billing.report_usage(org, quantity=1, source_id="g1") is None
    ended = uuid4()
    await _subscribe(billing, ended, ("price_scale_base",), status="canceled", ended_at=T0)
    assert await billing.report_usage(ended, quantity=1, source_id="g1") is None
    assert not stripe_mock.calls
    with pytest.raises(InvalidInput, match="quantity"):
        await billing.report_usage(org, quantity=0, source_id="g1")
