"""Contract suite for :class:`~ghostart.ports.billing.Billing` adapters.

Subclass :class:`BillingContract` and provide a ``billing`` fixture. An adapter that sells
plans subclasses :class:`EntitlingBillingContract` instead and also provides ``entitle``: an
async ``(organization_id, plan_name | None)`` that puts the organization on that plan by the
adapter's own means (``None`` ends its subscription).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from uuid import UUID, uuid4

import pytest

from ghostart.models import Plan
from ghostart.ports.billing import Billing

__all__ = ["BillingContract", "Entitle", "EntitlingBillingContract"]

Entitle = Callable[[UUID, str | None], Awaitable[None]]


class BillingContract:
    """Tests every Billing adapter must pass."""

    pytestmark = [pytest.mark.asyncio]

    @pytest.fixture
    def billing(self) -> Billing:
        """The adapter under test; override it in the subclass."""
        raise NotImplementedError("subclass must provide a `billing` fixture")

    async def test_it_is_a_billing_port(self, billing: Billing) -> None:
        assert isinstance(billing, Billing)

    async def test_an_unknown_organization_gets_an_offered_plan(self, billing: Billing) -> None:
        plan = await billing.plan_for(uuid4())
        offered = await billing.plans()
        assert isinstance(plan, Plan)
        assert plan in offered

    async def test_plans_are_listed_once_each_with_the_default_first(
        self, billing: Billing
    ) -> None:
        offered = await billing.plans()
        names = [p.name for p in offered]
        assert offered and len(names) == len(set(names))
        assert all(isinstance(p, Plan) for p in offered)
        assert offered[0] == await billing.plan_for(uuid4())

    async def test_answers_are_stable_and_concurrent_calls_agree(self, billing: Billing) -> None:
        org = uuid4()
        plans = await asyncio.gather(*(billing.plan_for(org) for _ in range(20)))
        assert len({p.model_dump_json() for p in plans}) == 1
        assert await billing.plan_for(org) == plans[0]


class EntitlingBillingContract(BillingContract):
    """The contract of an adapter that sells plans: :class:`BillingContract` and entitlement."""

    @pytest.fixture
    def entitle(self) -> Entitle:
        """Puts an organization on a plan (``None``: ends its subscription); override it."""
        raise NotImplementedError("subclass must provide an `entitle` fixture")

    async def test_an_organization_on_a_paid_plan_gets_it_and_no_one_else_does(
        self, billing: Billing, entitle: Entitle
    ) -> None:
        default = await billing.plan_for(uuid4())
        paid = [p for p in await billing.plans() if p.name != default.name]
        assert paid, "an adapter that entitles must offer a plan besides the default"
        org, other = uuid4(), uuid4()
        await entitle(org, paid[0].name)
        assert await billing.plan_for(org) == paid[0]
        assert await billing.plan_for(other) == default

    async def test_ending_the_subscription_returns_to_the_default_plan(
        self, billing: Billing, entitle: Entitle
    ) -> None:
        default = await billing.plan_for(uuid4())
        paid = [p for p in await billing.plans() if p.name != default.name]
        org = uuid4()
        await entitle(org, paid[-1].name)
        assert (await billing.plan_for(org)).name == paid[-1].name
        await entitle(org, None)
        assert await billing.plan_for(org) == default
