"""Stripe billing inside a running app: a signed upgrade lifts the quota at once."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ghostart.app import Ghostart
from ghostart.errors import QuotaExceeded
from ghostart.models import Principal, Role
from ghostart_stripe.billing import StripeBilling
from ghostart_stripe.testing import event, event_body, sign_header, subscription
from tests.adapters.stripe.conftest import KEY, PLANS, WHSEC
from tests.support import make_settings


@pytest.fixture
async def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Ghostart]:
    """An embedded app whose billing is chosen by name, as in production."""
    monkeypatch.setenv("GHOSTART_STRIPE_API_KEY", KEY)
    monkeypatch.setenv("GHOSTART_STRIPE_WEBHOOK_SECRET", WHSEC)
    monkeypatch.setenv("GHOSTART_STRIPE_PLANS", json.dumps(PLANS))
    settings = make_settings(tmp_path, billing="stripe", default_monthly_generations=1)
    application = Ghostart.from_settings(settings)
    async with application:
        yield application


async def test_an_upgrade_by_webhook_lifts_the_limit_at_once(app: Ghostart) -> None:
    assert isinstance(app.billing, StripeBilling)
    user = await app.organizations.ensure_user("ada@acme.example.com")
    _, admin = await app.organizations.create(user.id, "Acme")
    await app.brand_voices.create(admin, {"name": "House"})
    member = Principal(user_id=user.id, organization_id=admin.organization_id, role=Role.ADMIN)
    await app.generation.request(member, {"topic": "Onboarding engineers"})
    with pytest.raises(QuotaExceeded, match="plan 'free' allows 1"):
        await app.generation.request(member, {"topic": "Writing design docs"})

    now = int(time.time())
    obj = subscription(organization_id=member.organization_id, prices=("price_pro_monthly",))
    body = event_body(event("customer.subscription.updated", obj, id="evt_up", created=now))
    parsed = app.billing.verify_webhook(body, sign_header(body, [WHSEC], now))
    outcome = await app.billing.process_event(parsed)
    assert outcome.plan_changed

    await app.generation.request(member, {"topic": "Writing design docs"})
    quota = await app.generation.quota(member)
    assert (quota["plan"], quota["limit"], quota["used"]) == ("pro", 500, 2)
