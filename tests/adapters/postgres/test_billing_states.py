"""StoreSubscriptionStates on PostgreSQL: concurrent changes to one organization all apply once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ghostart.models import Organization
from ghostart.services.billing_states import StoreSubscriptionStates
from ghostart.testing import ManualClock
from tests.billing_support import CounterState, add


async def _organization(store: Any) -> Any:
    """A new organization, without billing state yet."""
    org = Organization(name="Billed")
    async with store.unit_of_work() as uow:
        await uow.organizations.add(org)
    return org.id


async def test_concurrent_changes_serialise_from_the_first_row_on(store: Any) -> None:
    org = await _organization(store)
    states = StoreSubscriptionStates(store, ManualClock())
    states.configure(load=CounterState.load, summary=lambda s: {"plan": f"n{len(s.changes)}"})
    # No row yet: the first inserts race (ON CONFLICT), the rest wait on the row lock.
    await asyncio.gather(*(states.update(org, add(org, n, "cus_a")) for n in range(12)))
    final = await states.get(org)
    assert isinstance(final, CounterState)
    assert sorted(final.changes) == list(range(12))  # every change once, none lost
    async with store.unit_of_work(readonly=True) as uow:
        row = await uow.billing.get_state(org)
    assert row is not None and (row.version, row.plan) == (12, "n12")
    assert await states.organization_for_customer("cus_a") == org
    assert await states.organization_for_customer("cus_nobody") is None


async def test_a_change_inside_a_unit_of_work_commits_or_rolls_back_with_it(store: Any) -> None:
    org = await _organization(store)
    states = StoreSubscriptionStates(store, ManualClock())
    states.configure(load=CounterState.load)

    async def change_then_fail() -> None:
        async with store.unit_of_work() as uow:
            await states.bound(uow).update(org, add(org, 1))
            raise RuntimeError("the job failed after the state changed")

    with pytest.raises(RuntimeError):
        await change_then_fail()
    assert await states.get(org) is None
    async with store.unit_of_work() as uow:
        await states.bound(uow).update(org, add(org, 2))
    final = await states.get(org)
    assert isinstance(final, CounterState) and final.changes == (2,)
