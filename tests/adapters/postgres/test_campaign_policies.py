"""The policies of migration 0007: who starts campaigns, and who writes whose variants.

The services check ``campaign.manage`` first; these are the database's second line. A brand
creator or admin writes variants (posts) for co-members, naming a campaign of the same
organization; nobody else writes posts in another's name, and no post names another
organization's campaign.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from ghostart.models import Campaign, Post, Principal, Role
from tests.adapters.postgres.world import T0, Tenant, World, refused


async def _campaign_of(store: Any, tenant: Tenant) -> UUID:
    async with store.unit_of_work(readonly=True) as uow:
        [campaign] = await uow.campaigns.list(tenant.org.id)
    return campaign.id


def _variant(tenant: Tenant, author_id: UUID, campaign_id: UUID | None) -> Post:
    return Post(
        organization_id=tenant.org.id,
        author_id=author_id,
        campaign_id=campaign_id,
        created_at=T0,
        updated_at=T0,
    )


async def _refused(store: Any, actor: Principal, post: Post) -> bool:
    with pytest.raises(DBAPIError) as exc:
        async with store.unit_of_work(actor) as uow:
            await uow.posts.add(post)
    return refused(exc)


async def test_brand_creators_and_admins_start_campaigns_as_themselves(
    store: Any, world: World
) -> None:
    a = world.a

    def campaign(created_by: UUID) -> Campaign:
        return Campaign(organization_id=a.org.id, created_by=created_by, name="X", message="Xyz")

    for actor, created_by in (
        (a.principal(a.employee), a.employee.id),  # employees do not start campaigns
        (a.principal(a.creator), a.admin.id),  # nor does anyone in another's name
    ):
        with pytest.raises(DBAPIError) as exc:
            async with store.unit_of_work(actor) as uow:
                await uow.campaigns.add(campaign(created_by))
        assert refused(exc)
    for user in (a.creator, a.admin):
        async with store.unit_of_work(a.principal(user)) as uow:
            await uow.campaigns.add(campaign(user.id))
    async with store.unit_of_work(a.principal(a.employee), readonly=True) as uow:
        assert len(await uow.campaigns.list(a.org.id)) == 3  # members read them all
    for statement in ("update campaigns set name = 'renamed'", "delete from campaigns"):
        with pytest.raises(DBAPIError) as exc:  # and nobody changes or deletes one
            async with store.unit_of_work(a.principal(a.admin)) as uow:
                await uow.connection.execute(sa.text(statement))
        assert refused(exc)


async def test_editors_write_variants_for_co_members_of_their_own_campaigns(
    store: Any, world: World
) -> None:
    a, b = world.a, world.b
    mine, theirs = await _campaign_of(store, a), await _campaign_of(store, b)
    creator, employee = a.principal(a.creator), a.principal(a.employee)
    async with store.unit_of_work(creator) as uow:
        await uow.posts.add(_variant(a, a.employee.id, mine))
        await uow.posts.add(_variant(a, world.both.id, mine))  # a member of A (and B)
    async with store.unit_of_work(employee, readonly=True) as uow:
        assert len(await uow.campaigns.variants(a.org.id, mine, author_id=a.employee.id)) == 2

    assert await _refused(store, creator, _variant(a, a.employee.id, theirs))  # B's campaign
    assert await _refused(store, creator, _variant(a, world.outsider.id, mine))  # no member
    assert await _refused(store, creator, _variant(a, b.employee.id, mine))  # B's member
    assert await _refused(store, creator, _variant(a, a.employee.id, None))  # not a variant
    assert await _refused(store, employee, _variant(a, a.creator.id, mine))  # employees: no
    # One's own posts may name a campaign of one's own organization, and no other.
    assert await _refused(store, employee, _variant(a, a.employee.id, theirs))
    async with store.unit_of_work(employee) as uow:
        await uow.posts.add(_variant(a, a.employee.id, mine))


async def test_a_post_never_moves_to_another_campaign(store: Any, world: World) -> None:
    a = world.a
    spare = Campaign(organization_id=a.org.id, created_by=a.creator.id, name="Y", message="Yes")
    async with store.unit_of_work(a.principal(a.creator)) as uow:
        await uow.campaigns.add(spare)
    with pytest.raises(DBAPIError) as exc:
        async with store.unit_of_work(a.principal(a.admin, role=Role.ADMIN)) as uow:
            await uow.connection.execute(
                sa.text("update posts set campaign_id = :c"), {"c": spare.id}
            )
    assert refused(exc)
