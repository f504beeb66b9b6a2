"""The Billing contract, passed by Stripe billing (entitled through signed webhooks)."""

from __future__ import annotations

import itertools
from uuid import UUID

import pytest

from ghostart.testing import ManualClock
from ghostart.testing.contracts.billing import (
    Entitle,
    EntitlingBillingContract,
)
from ghostart_stripe.billing import StripeBilling
from ghostart_stripe.testing import event, event_body, sign_header, subscription
from tests.adapters.stripe.conftest import T0, WHSEC

_ids = itertools.count(1)


class TestStripeBilling(EntitlingBillingContract):
    @pytest.fixture
    def billing(self, billing: StripeBilling) -> StripeBilling:
        return billing

    @pytest.fixture
    def entitle(self, billing: StripeBilling, clock: ManualClock) -> Entitle:
        async def entitle(org: UUID, plan: str | None) -> None:
            n = next(_ids)
            sub_id = f"sub_contract{org.hex[:12]}"
            if plan is None:
                obj = subscription(sub_id, status="canceled", organization_id=org, ended_at=T0 + n)
                kind = "customer.subscription.deleted"
            else:
                config = billing.catalog.config(plan)
                assert config is not None
                obj = subscription(sub_id, prices=config.prices[:1], organization_id=org)
                kind = "customer.subscription.updated"
            body = event_body(event(kind, obj, id=f"evt_contract{n}", created=T0 + n))
            header = sign_header(body, [WHSEC], int(clock.now().timestamp()))
            outcome = await billing.process_event(billing.verify_webhook(body, header))
            assert outcome.organization_id == org

        return entitle
