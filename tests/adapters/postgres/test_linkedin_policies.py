"""The policies of migration 0008: a member sees and disconnects only their own LinkedIn rows.

The services already read and delete a connection only for its own member; these are the
database's second line. The system (``service_role``: the callback's write, token refreshes,
reminders) reaches every row; ``authenticated`` reads and deletes its own rows in its own
organizations, reads only their own spent OAuth states, and writes neither table otherwise.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from tests.adapters.postgres.world import T0, World, refused


async def _visible(store: Any, actor: Any) -> set[tuple[UUID, UUID]]:
    async with store.unit_of_work(actor, readonly=True) as uow:
        rows = await uow.connection.execute(
            sa.text("select organization_id, user_id from linkedin_connections")
        )
        return {(r[0], r[1]) for r in rows}


async def test_a_member_sees_only_their_own_connection(store: Any, world: World) -> None:
    a, b = world.a, world.b
    assert await _visible(store, a.principal(a.employee)) == {(a.org.id, a.employee.id)}
    # An admin sees no one else's either (the services never ask for it).
    assert await _visible(store, a.principal(a.admin)) == {(a.org.id, a.admin.id)}
    # A member of two organizations sees their row of the organization they act in.
    assert await _visible(store, b.principal(world.both)) == {(b.org.id, world.both.id)}
    assert await _visible(store, a.principal(world.both)) == {(a.org.id, world.both.id)}
    async with store.unit_of_work(a.principal(a.employee), readonly=True) as uow:
        assert await uow.linkedin_connections.get(a.org.id, a.admin.id, "member") is None
        [mine] = await uow.linkedin_connections.expiring(T0 + timedelta(days=365))
        assert mine.user_id == a.employee.id
        states = await uow.connection.execute(sa.text("select user_id from oauth_states"))
        assert [r[0] for r in states] == [a.employee.id]
    async with store.unit_of_work(readonly=True) as uow:  # the system sees all eight
        assert len(await uow.linkedin_connections.expiring(T0 + timedelta(days=365))) == 8


async def test_a_member_disconnects_only_themselves(store: Any, world: World) -> None:
    a = world.a
    employee = a.principal(a.employee)
    async with store.unit_of_work(employee) as uow:
        assert not await uow.linkedin_connections.delete(a.org.id, a.admin.id, "member")
        assert not await uow.linkedin_connections.delete(
            world.b.org.id, world.b.employee.id, "member"
        )
        assert await uow.linkedin_connections.delete(a.org.id, a.employee.id, "member")
    async with store.unit_of_work(readonly=True) as uow:
        left = await uow.linkedin_connections.expiring(T0 + timedelta(days=365))
    assert len(left) == 7 and (a.org.id, a.employee.id) not in {
        (c.organization_id, c.user_id) for c in left
    }


@pytest.mark.parametrize(
    "statement",
    [
        "update linkedin_connections set needs_reconnect = false",
        "update linkedin_connections set access_token = 'gsb1.k1.forged'",
        "insert into linkedin_connections (organization_id, user_id, app, member_urn,"
        " access_token, access_expires_at, connected_at, updated_at) values"
        " (:org, :user, 'organization', 'urn:li:person:x', 't', now(), now(), now())",
        "insert into oauth_states (nonce, organization_id, user_id, expires_at)"
        " values ('mine', :org, :user, now())",
        "delete from oauth_states",
        "update oauth_states set expires_at = now()",
    ],
)
async def test_a_member_writes_no_connection_and_touches_no_oauth_state(
    store: Any, world: World, statement: str
) -> None:
    a = world.a
    with pytest.raises(DBAPIError) as exc:
        async with store.unit_of_work(a.principal(a.employee)) as uow:
            await uow.connection.execute(
                sa.text(statement), {"org": a.org.id, "user": a.employee.id}
            )
    assert refused(exc)


async def test_the_system_saves_with_compare_and_set(store: Any, world: World) -> None:
    a = world.a
    async with store.unit_of_work() as uow:
        row = await uow.linkedin_connections.get(a.org.id, a.employee.id, "member")
        assert row is not None and row.version == 0
        flagged = row.model_copy(update={"needs_reconnect": True, "reconnect_reason": "revoked"})
        assert await uow.linkedin_connections.save(flagged, expected_version=0)
        assert not await uow.linkedin_connections.save(flagged, expected_version=0)  # stale
        spent = f"nonce-{a.org.id.hex}-{a.employee.id.hex}"
        assert not await uow.oauth_states.claim(
            spent, expires_at=T0, organization_id=a.org.id, user_id=a.employee.id
        )
        assert await uow.oauth_states.purge(before=T0 + timedelta(seconds=1)) == 8
