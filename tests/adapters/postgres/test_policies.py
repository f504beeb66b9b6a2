"""The role rules inside one organization that the policies keep against escalation.

The services check every permission first (``ghostart.rbac``); these rules are the database's
second line, so that a bug in a service (or direct access to the database) can not make an
employee an admin, hand out keys or rewrite a colleague's post.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from ghostart.models import BrandVoice, Job, JobKind, Role
from tests.adapters.postgres.world import T0, World, refused


async def test_any_member_may_lock_the_organization_but_only_admins_change_it(
    store: Any, world: World
) -> None:
    org = world.a.org
    async with store.unit_of_work(world.a.principal(world.a.employee)) as uow:
        locked = await uow.connection.execute(
            sa.text("select id from organizations where id = :id for update"), {"id": org.id}
        )
        assert locked.all() != []  # the quota check's lock holds for employees too
    with pytest.raises(DBAPIError) as exc:
        async with store.unit_of_work(world.a.principal(world.a.employee)) as uow:
            await uow.connection.execute(
                sa.text("update organizations set name = 'mine' where id = :id"), {"id": org.id}
            )
    assert refused(exc)
    async with store.unit_of_work(world.a.principal(world.a.admin)) as uow:
        await uow.organizations.update_settings(org.id, org.settings)


async def test_memberships_are_changed_by_admins_and_left_by_anyone(
    store: Any, world: World
) -> None:
    a = world.a
    employee, creator = a.principal(a.employee), a.principal(a.creator)
    with pytest.raises(DBAPIError) as exc:
        async with store.unit_of_work(creator) as uow:
            await uow.memberships.set_role(a.org.id, a.creator.id, Role.ADMIN)
    assert refused(exc)
    async with store.unit_of_work(employee) as uow:  # removing someone else: no such row
        await uow.memberships.remove(a.org.id, a.creator.id)
        assert await uow.memberships.get(a.org.id, a.creator.id) is not None
    async with store.unit_of_work(a.principal(a.admin)) as uow:
        await uow.memberships.set_role(a.org.id, a.creator.id, Role.ADMIN)
        assert await uow.memberships.lock_admins(a.org.id) == 2
    async with store.unit_of_work(employee) as uow:  # leaving
        await uow.memberships.remove(a.org.id, a.employee.id)
    async with store.unit_of_work(readonly=True) as uow:
        assert await uow.memberships.get(a.org.id, a.employee.id) is None


async def test_brand_voices_are_written_by_admins_and_brand_creators(
    store: Any, world: World
) -> None:
    a = world.a
    with pytest.raises(DBAPIError) as exc:
        async with store.unit_of_work(a.principal(a.employee)) as uow:
            await uow.brand_voices.add(BrandVoice(organization_id=a.org.id, name="rogue"))
    assert refused(exc)
    async with store.unit_of_work(a.principal(a.creator)) as uow:
        await uow.brand_voices.add(BrandVoice(organization_id=a.org.id, name="new"))
        assert len(await uow.brand_voices.list(a.org.id)) == 2


async def test_employees_change_their_own_posts_only(store: Any, world: World) -> None:
    a = world.a
    async with store.unit_of_work(a.principal(a.employee)) as uow:
        changed = await uow.connection.execute(sa.text("update posts set body = 'edited'"))
        assert changed.rowcount == 1  # their own; the others' are out of reach
    async with store.unit_of_work(a.principal(a.creator)) as uow:
        changed = await uow.connection.execute(sa.text("update posts set review_note = 'ok'"))
        assert changed.rowcount == len(a.members)
    with pytest.raises(DBAPIError) as exc:  # nor may anyone post in someone else's name
        async with store.unit_of_work(a.principal(a.admin)) as uow:
            await uow.connection.execute(
                sa.text(
                    "insert into posts (organization_id, author_id, status, revision, created_at,"
                    " updated_at) values (:org, :author, 'draft', 1, now(), now())"
                ),
                {"org": a.org.id, "author": a.employee.id},
            )
    assert refused(exc)


async def test_members_queue_and_cancel_jobs_and_nothing_more(store: Any, world: World) -> None:
    a = world.a
    employee = a.principal(a.employee)
    subject = uuid4()

    def job(**changes: Any) -> Job:
        values = {
            "kind": JobKind.PUBLISH,
            "organization_id": a.org.id,
            "subject_id": subject,
            "idempotency_key": f"publish:{uuid4()}",
            "run_at": T0,
        }
        return Job(**(values | changes))

    async with store.unit_of_work(employee) as uow:
        await uow.jobs.add(job())
        assert await uow.jobs.cancel_for_subject(subject, now=T0) == 1
    for forged in (job(status="running", lease_owner="me"), job(attempts=3)):
        with pytest.raises(DBAPIError) as exc:
            async with store.unit_of_work(employee) as uow:
                await uow.jobs.add(forged)
        assert refused(exc)
    queued = job()
    async with store.unit_of_work() as uow:
        await uow.jobs.add(queued)
    for attempt in (
        lambda uow: uow.jobs.claim(queued.id, owner="me", now=T0, lease_until=T0 + timedelta(1)),
        lambda uow: uow.jobs.get(queued.id),
        lambda uow: uow.connection.execute(sa.text("update jobs set status = 'done'")),
    ):
        with pytest.raises(DBAPIError) as exc:
            async with store.unit_of_work(employee) as uow:
                await attempt(uow)
        assert refused(exc)


async def test_a_key_creator_who_is_no_longer_admin_records_use_but_can_not_revoke(
    store: Any, world: World
) -> None:
    a = world.a
    async with store.unit_of_work() as uow:
        [key] = await uow.api_keys.list(a.org.id)
        await uow.memberships.set_role(a.org.id, a.admin.id, Role.EMPLOYEE)
        await uow.memberships.set_role(a.org.id, a.creator.id, Role.ADMIN)
    creator = a.principal(a.admin, role=Role.EMPLOYEE)  # the key acts as its creator
    async with store.unit_of_work(creator) as uow:
        assert await uow.api_keys.touch(a.org.id, key.id, at=T0, unless_since=T0)
    with pytest.raises(DBAPIError) as exc:
        async with store.unit_of_work(creator) as uow:
            await uow.api_keys.revoke(a.org.id, key.id, at=T0)
    assert refused(exc)
    async with store.unit_of_work(readonly=True) as uow:
        stored = await uow.api_keys.get(a.org.id, key.id)
    assert stored is not None and stored.last_used_at == T0 and stored.revoked_at is None
    async with store.unit_of_work() as uow:
        await uow.api_keys.revoke(a.org.id, key.id, at=T0)
    async with store.unit_of_work(creator) as uow:  # nor bring it back
        brought_back = await uow.connection.execute(
            sa.text("update api_keys set revoked_at = null where id = :id"), {"id": key.id}
        )
        assert brought_back.rowcount == 0
    with pytest.raises(DBAPIError) as exc:  # and only admins read the organization's secrets
        async with store.unit_of_work(creator) as uow:
            await uow.secrets.put(a.org.id, "pepper", uuid4(), "replaced")
    assert refused(exc)
