"""The policies of migration 0009: billing state is read by members, written by the system only.

The webhook events are nobody's but the system's: they are written before their organization is
known. A member reads their own organizations' billing state and nothing else, and writes none.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from ghostart.ports.billing import StoredBillingState, WebhookEventRow
from tests.adapters.postgres.world import T0, World, refused


def _customer(org: UUID) -> str:
    return f"cus_{org.hex}"


def _state(org: UUID, customer: str, version: int = 1) -> StoredBillingState:
    return StoredBillingState(
        organization_id=org,
        state={"organization_id": str(org), "customer_id": customer},
        version=version,
        customer_id=customer,
        plan="pro",
        status="active",
        updated_at=T0,
    )


def _event(event_id: str, at: datetime) -> WebhookEventRow:
    return WebhookEventRow(
        id=event_id,
        type="customer.subscription.updated",
        livemode=False,
        created=at,
        payload={"id": event_id},
        status="received",
        received_at=at,
    )


async def test_members_read_their_own_organizations_billing_state_only(
    store: Any, world: World
) -> None:
    a, b = world.a, world.b
    for user in (a.employee, a.creator, a.admin):
        async with store.unit_of_work(a.principal(user), readonly=True) as uow:
            mine = await uow.billing.get_state(a.org.id)
            assert mine is not None and mine.customer_id == _customer(a.org.id)
            assert await uow.billing.get_state(b.org.id) is None
            assert await uow.billing.organization_for_customer(_customer(b.org.id)) is None
    async with store.unit_of_work(b.principal(world.both), readonly=True) as uow:
        # A member of both sees each organization's row only while acting in it.
        assert await uow.billing.get_state(b.org.id) is not None
        assert await uow.billing.get_state(a.org.id) is None
    async with store.unit_of_work(a.principal(a.admin), readonly=True) as uow:
        count = await uow.connection.execute(sa.text("select count(*) from billing_states"))
        assert count.scalar() == 1  # of the two rows, A's


async def test_no_member_writes_billing_state_not_even_an_admin(store: Any, world: World) -> None:
    a = world.a
    admin = a.principal(a.admin)
    with pytest.raises(DBAPIError) as exc:
        async with store.unit_of_work(admin) as uow:
            await uow.billing.save_state(
                _state(a.org.id, _customer(a.org.id), version=2), expected_version=1
            )
    assert refused(exc)
    for statement in (
        "update billing_states set plan = 'scale'",
        "delete from billing_states",
    ):
        with pytest.raises(DBAPIError) as exc:
            async with store.unit_of_work(admin) as uow:
                await uow.connection.execute(sa.text(statement))
        assert refused(exc)
    async with store.unit_of_work(readonly=True) as uow:
        kept = await uow.billing.get_state(a.org.id)
    assert kept is not None and kept.version == 1 and kept.plan == "free"


async def test_webhook_events_are_written_by_the_system_and_read_by_admins(
    store: Any, world: World
) -> None:
    a, b = world.a, world.b
    mine, theirs = f"evt_{a.org.id.hex}", f"evt_{b.org.id.hex}"
    async with store.unit_of_work(a.principal(a.admin), readonly=True) as uow:
        assert await uow.billing.get_webhook_event(mine) is not None  # the audit trail
        assert await uow.billing.get_webhook_event(theirs) is None
    for user in (a.creator, a.employee):
        async with store.unit_of_work(a.principal(user), readonly=True) as uow:
            assert await uow.billing.get_webhook_event(mine) is None
    for user in (a.admin, a.employee):
        with pytest.raises(DBAPIError) as exc:
            async with store.unit_of_work(a.principal(user)) as uow:
                await uow.billing.record_webhook_event(_event("evt_forged", T0))
        assert refused(exc)
        with pytest.raises(DBAPIError) as exc:
            async with store.unit_of_work(a.principal(user)) as uow:
                await uow.billing.mark_webhook_event(mine, status="failed", now=T0)
        assert refused(exc)
    async with store.unit_of_work() as uow:
        assert await uow.billing.record_webhook_event(_event("evt_new", T0))
        assert await uow.billing.get_webhook_event("evt_forged") is None
        assert not await uow.billing.record_webhook_event(_event("evt_new", T0))  # duplicate
        await uow.billing.mark_webhook_event(
            "evt_new", status="processed", now=T0, organization_id=a.org.id
        )
        row = await uow.billing.get_webhook_event("evt_new")
    assert row is not None
    assert (row.status, row.attempts, row.organization_id) == ("processed", 1, a.org.id)
