"""Fixtures: a respx mock of Stripe's API and billing adapters built against it (no network).

respx patches httpx's transports, so it sees every request of the ``stripe.HTTPXClient`` the
adapter hands the SDK.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import respx

from ghostart.models import Plan
from ghostart.testing import ManualClock
from ghostart_stripe.billing import StripeBilling
from ghostart_stripe.settings import StripeSettings
from ghostart_stripe.testing import STRIPE_API_BASE

#: Fake secrets, long and distinctive so that a leak anywhere is easy to find.
KEY = "sk_test_51Ghostart0123456789DO-NOT-LEAK"
WHSEC = "whsec_ghostartNewSecret0123456789DO-NOT-LEAK"
OLD_WHSEC = "whsec_ghostartOldSecret9876543210DO-NOT-LEAK"
#: 2026-01-01T00:00:00Z, the time of the documented objects in ghostart_stripe.testing.
T0 = 1767225600

PLANS: dict[str, Any] = {
    "pro": {
        "prices": ["price_pro_monthly", "price_pro_yearly"],
        "monthly_generations": 500,
        "seats": 5,
        "campaigns": 10,
        "trial_days": 14,
    },
    "team": {"prices": ["price_team_monthly"], "monthly_generations": 2000, "seats": 20},
    "scale": {
        "prices": ["price_scale_base"],
        "metered_price": "price_scale_per_generation",
        "meter_event_name": "ghostart_generation",
        "seats": 50,
    },
}
DEFAULT = Plan(name="free", monthly_generations=100)

# Never let a developer's environment leak into the tests (nor their real key out of them).
for _name in list(os.environ):
    if (
        _name.startswith("GHOSTART_")
        and not _name.startswith(("GHOSTART_TEST_", "GHOSTART_REQUIRE"))
    ) or _name.startswith("STRIPE_"):
        del os.environ[_name]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The SDK's HTTPXClient posts with ``data=<bytes>``, which httpx deprecates: not ours."""
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(
                pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
            )


@pytest.fixture
def clock() -> ManualClock:
    """Now is 2026-01-01T00:00:00Z until a test moves it."""
    return ManualClock(datetime.fromtimestamp(T0, UTC))


def make_settings(**values: Any) -> StripeSettings:
    """Settings with the fake key and secrets, the test plans and return URLs."""
    defaults: dict[str, Any] = {
        "api_key": KEY,
        "webhook_secret": f"{WHSEC},{OLD_WHSEC}",
        "plans": PLANS,
        "success_url": "https://app.example.com/billing?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://app.example.com/billing",
        "portal_return_url": "https://app.example.com/settings",
        "customer_search": False,
    }
    return StripeSettings.load(**(defaults | values))


@pytest.fixture
def stripe_mock() -> Iterator[respx.MockRouter]:
    """Stripe's API, mocked; every request must match a route (nothing reaches a network)."""
    with respx.mock(base_url=STRIPE_API_BASE, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
async def make_billing(clock: ManualClock) -> AsyncIterator[Callable[..., StripeBilling]]:
    """Build adapters on the mock (keyword arguments are settings); closed after the test."""
    made: list[StripeBilling] = []

    def make(**values: Any) -> StripeBilling:
        billing = StripeBilling(make_settings(**values), default_plan=DEFAULT, clock=clock)
        made.append(billing)
        return billing

    yield make
    for billing in made:
        await billing.aclose()


@pytest.fixture
def billing(make_billing: Callable[..., StripeBilling]) -> StripeBilling:
    """An adapter with the default test settings."""
    return make_billing()


#: The default plan, refined: few generations, one campaign a month, two seats, no API.
TEST_PLANS = PLANS | {
    "free": {"monthly_generations": 2, "campaigns": 1, "seats": 2, "api_access": False}
}


def stripe_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """GHOSTART_BILLING=stripe's settings through the environment, as an operator sets them."""
    monkeypatch.setenv("GHOSTART_STRIPE_API_KEY", KEY)
    monkeypatch.setenv("GHOSTART_STRIPE_WEBHOOK_SECRET", f"{WHSEC},{OLD_WHSEC}")
    monkeypatch.setenv("GHOSTART_STRIPE_PLANS", json.dumps(TEST_PLANS))
    monkeypatch.setenv("GHOSTART_STRIPE_SUCCESS_URL", "https://app.example.com/billing")
    monkeypatch.setenv("GHOSTART_STRIPE_CANCEL_URL", "https://app.example.com/billing")
    monkeypatch.setenv("GHOSTART_STRIPE_PORTAL_RETURN_URL", "https://app.example.com/settings")
    monkeypatch.setenv("GHOSTART_STRIPE_CUSTOMER_SEARCH", "false")
