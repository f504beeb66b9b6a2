"""The policies of migration 0011: only an organization's admins read its usage analytics.

The service checks ``org.manage`` first; these are the database's second line. The system
(``service_role``) writes the events; no signed-in principal writes, changes or deletes one.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from ghostart.ports.analytics import AnalyticsEvent, AnalyticsKind
from tests.adapters.postgres.world import T0, Tenant, World, refused, seed

pytestmark = pytest.mark.postgres

SINCE, UNTIL = T0 - timedelta(days=1), T0 + timedelta(days=1)


def _events(tenant: Tenant, calls: int) -> list[AnalyticsEvent]:
    events = [
        AnalyticsEvent(
            kind=AnalyticsKind.PAGE_VIEW,
            organization_id=tenant.org.id,
            user_id=tenant.employee.id,
            name="/",
            at=T0,
        )
        for _ in range(calls)
    ]
    events.append(
        AnalyticsEvent(
            kind=AnalyticsKind.PUBLISH,
            organization_id=tenant.org.id,
            user_id=tenant.creator.id,
            name="linkedin",
            at=T0,
        )
    )
    return events


@pytest.fixture
async def world(store: Any) -> World:
    world = await seed(store)
    async with store.unit_of_work() as uow:  # the system writes them (batches, jobs)
        await uow.analytics.add_many(_events(world.a, 3) + _events(world.b, 5))
    return world


async def _read(store: Any, actor: Any, tenant: Tenant) -> dict[tuple[str, str], int]:
    """What ``actor`` reads of ``tenant``'s events (the seed's own API calls left out)."""
    async with store.unit_of_work(actor, readonly=True) as uow:
        rows = await uow.analytics.daily(tenant.org.id, since=SINCE, until=UNTIL)
    return {(str(r.user_id), r.kind.value): r.count for r in rows if r.kind.value != "api_call"}


async def test_admins_read_their_organizations_analytics(store: Any, world: World) -> None:
    a, b = world.a, world.b
    mine = await _read(store, a.principal(a.admin), a)
    assert mine == {(str(a.employee.id), "page_view"): 3, (str(a.creator.id), "publish"): 1}
    # "both" is an employee of A and an admin of B: B's analytics only.
    assert await _read(store, a.principal(world.both), a) == {}
    theirs = await _read(store, b.principal(world.both), b)
    assert theirs[(str(b.employee.id), "page_view")] == 5


async def test_members_who_are_not_admins_read_nothing(store: Any, world: World) -> None:
    a = world.a
    for user in (a.creator, a.employee):
        assert await _read(store, a.principal(user), a) == {}


async def test_another_organizations_admin_reads_nothing(store: Any, world: World) -> None:
    a, b = world.a, world.b
    # Claiming to act in A does not open A's rows to B's admin.
    claiming_a = b.principal(b.admin).model_copy(update={"organization_id": a.org.id})
    assert await _read(store, claiming_a, a) == {}


async def test_no_principal_writes_changes_or_deletes_events(store: Any, world: World) -> None:
    a = world.a
    admin = a.principal(a.admin)
    with pytest.raises(DBAPIError) as exc:
        async with store.unit_of_work(admin) as uow:
            await uow.analytics.add_many(_events(a, 1))
    assert refused(exc)
    for statement in (
        "update analytics_events set name = 'x'",
        "delete from analytics_events",
    ):
        with pytest.raises(DBAPIError) as exc:
            async with store.unit_of_work(admin) as uow:
                await uow.analytics._conn.execute(sa.text(statement))  # type: ignore[attr-defined]
        assert refused(exc)
    assert sum((await _read(store, admin, a)).values()) == 4  # nothing changed
