"""docs/adapters/stripe.md keeps up with the code: settings, event types and domain events."""

from __future__ import annotations

from pathlib import Path

import pytest

from ghostart_stripe.events import BillingEventType
from ghostart_stripe.outcome import (
    BILLING_PAYMENT_FAILED,
    BILLING_PLAN_CHANGED,
    BILLING_TRIAL_ENDING,
)
from ghostart_stripe.settings import StripeSettings

PAGE = Path(__file__).parents[3] / "docs" / "adapters" / "stripe.md"


def _page() -> str:
    if not PAGE.exists():
        pytest.skip(f"{PAGE} is not here (not a checkout of the ghostart repository)")
    return PAGE.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(StripeSettings.model_fields))
def test_every_setting_is_documented(name: str) -> None:
    assert f"GHOSTART_STRIPE_{name.upper()}" in _page()


@pytest.mark.parametrize("kind", [t for t in BillingEventType if t is not BillingEventType.UNKNOWN])
def test_every_handled_stripe_event_is_in_the_webhook_setup(kind: str) -> None:
    assert f"`{kind}`" in _page()


@pytest.mark.parametrize(
    "name", [BILLING_PLAN_CHANGED, BILLING_PAYMENT_FAILED, BILLING_TRIAL_ENDING]
)
def test_every_domain_event_is_documented(name: str) -> None:
    assert f"`{name}`" in _page()


def test_the_core_side_is_documented() -> None:
    from ghostart.web.routers.billing import router

    page = _page()
    assert "## In the core: storage, outbox, routes and quotas" in page
    assert "next step" not in page
    for word in ("billing_webhook_events", "billing_states", "billing_not_configured", "Quotas"):
        assert word in page
    for route in router.routes:
        path = getattr(route, "path", "").replace("{organization_id}", "{id}")
        assert path.replace("{provider}", "stripe").lstrip("/") in page, path
