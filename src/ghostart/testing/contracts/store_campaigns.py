"""The Store contract's campaign, profile and monthly-usage part (mixed into ``StoreContract``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

from ghostart.models import (
    Campaign,
    Membership,
    MonthlyUsage,
    Organization,
    Post,
    PostStatus,
    Role,
    Usage,
    User,
)
from ghostart.ports.store import Store

__all__ = ["CampaignStoreContract"]

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def _org_with(store: Store, members: int) -> tuple[Organization, list[User]]:
    org = Organization(name="Campaigners")
    users = [User(email=f"{uuid4().hex[:10]}@example.com") for _ in range(members)]
    async with store.unit_of_work() as uow:
        await uow.organizations.add(org)
        for user in users:
            await uow.users.add(user)
            await uow.memberships.add(
                Membership(user_id=user.id, organization_id=org.id, role=Role.EMPLOYEE)
            )
    return org, users


def _campaign(org: Organization, creator: User, minutes: int = 0) -> Campaign:
    return Campaign(
        organization_id=org.id,
        created_by=creator.id,
        name=f"Campaign {minutes}",
        message="Our new region is live",
        link="https://example.com/Launch",
        brand_voice_id=uuid4(),
        created_at=T0 + timedelta(minutes=minutes),
    )


def _variant(campaign: Campaign, author: User, status: PostStatus) -> Post:
    return Post(
        organization_id=campaign.organization_id,
        author_id=author.id,
        campaign_id=campaign.id,
        status=status,
        created_at=T0,
        updated_at=T0,
    )


class CampaignStoreContract:
    """Campaigns, posts naming them, the profile fields and the ledger per month."""

    async def test_campaigns_roundtrip_page_newest_first_and_stay_in_their_organization(
        self, store: Store
    ) -> None:
        org, [creator] = await _org_with(store, 1)
        other, _ = await _org_with(store, 1)
        made = [_campaign(org, creator, minutes) for minutes in range(5)]
        async with store.unit_of_work() as uow:
            for campaign in made:
                await uow.campaigns.add(campaign)
        async with store.unit_of_work(readonly=True) as uow:
            assert await uow.campaigns.get(org.id, made[0].id) == made[0]
            assert await uow.campaigns.get(other.id, made[0].id) is None
            first = await uow.campaigns.list(org.id, limit=3)
            last = first[-1]
            rest = await uow.campaigns.list(org.id, limit=3, before=(last.created_at, last.id))
            assert await uow.campaigns.list(other.id) == []
        assert [c.id for c in first + rest] == [c.id for c in reversed(made)]

    async def test_variants_and_progress_by_campaign_and_author(self, store: Store) -> None:
        org, [creator, ada, bob] = await _org_with(store, 3)
        one, two = _campaign(org, creator, 1), _campaign(org, creator, 2)
        posts = [
            _variant(one, ada, PostStatus.DRAFT),
            _variant(one, bob, PostStatus.PUBLISHED),
            _variant(two, ada, PostStatus.FAILED),
        ]
        async with store.unit_of_work() as uow:
            await uow.campaigns.add(one)
            await uow.campaigns.add(two)
            for post in posts:
                await uow.posts.add(post)
            await uow.posts.add(  # an ordinary post: in no campaign
                Post(organization_id=org.id, author_id=ada.id, created_at=T0, updated_at=T0)
            )
        async with store.unit_of_work(readonly=True) as uow:
            variants = await uow.campaigns.variants(org.id, one.id)
            assert {p.id for p in variants} == {posts[0].id, posts[1].id}
            assert [p.campaign_id for p in variants] == [one.id, one.id]
            mine = await uow.campaigns.variants(org.id, one.id, author_id=ada.id)
            assert [p.id for p in mine] == [posts[0].id]
            assert await uow.campaigns.variants(uuid4(), one.id) == []
            progress = await uow.campaigns.progress(org.id, [one.id, two.id, uuid4()])
            assert progress == {
                one.id: {PostStatus.DRAFT: 1, PostStatus.PUBLISHED: 1},
                two.id: {PostStatus.FAILED: 1},
            }
            assert await uow.campaigns.progress(org.id, [one.id], author_id=bob.id) == {
                one.id: {PostStatus.PUBLISHED: 1}
            }
            assert await uow.campaigns.progress(org.id, []) == {}

    async def test_a_post_keeps_its_campaign_through_updates(self, store: Store) -> None:
        org, [creator, ada] = await _org_with(store, 2)
        campaign = _campaign(org, creator)
        post = _variant(campaign, ada, PostStatus.DRAFT)
        async with store.unit_of_work() as uow:
            await uow.campaigns.add(campaign)
            await uow.posts.add(post)
            moved = post.model_copy(
                update={"campaign_id": uuid4(), "body": "Edited", "revision": 2}
            )
            assert await uow.posts.update(moved, expected_revision=1)
            stored = await uow.posts.get(org.id, post.id)
        assert stored is not None and stored.body == "Edited"
        assert stored.campaign_id == campaign.id  # fixed at creation

    async def test_the_profile_fields_roundtrip(self, store: Store) -> None:
        _, [user] = await _org_with(store, 1)
        changed = user.model_copy(
            update={"headline": "Staff engineer", "about": "Payments.", "joins_campaigns": False}
        )
        async with store.unit_of_work() as uow:
            assert await uow.users.save_profile(changed)
        async with store.unit_of_work(readonly=True) as uow:
            assert await uow.users.get(user.id) == changed

    async def test_usage_is_summed_per_calendar_month(self, store: Store) -> None:
        org, _ = await _org_with(store, 1)
        other, _ = await _org_with(store, 1)
        at = {
            "jan_first": datetime(2026, 1, 1, 0, 0, tzinfo=UTC),
            "jan_last": datetime(2026, 1, 31, 23, 59, 59, 999999, tzinfo=UTC),
            "feb": datetime(2026, 2, 14, 8, 0, tzinfo=UTC),
            "mar": datetime(2026, 3, 1, 0, 0, tzinfo=UTC),
        }
        costs = {
            name: Decimal("0.0000004") * (i + 1) + Decimal("0.0123") for i, name in enumerate(at)
        }
        async with store.unit_of_work() as uow:
            for name, when in at.items():
                usage = Usage(prompt_tokens=100, completion_tokens=10, cost_usd=costs[name])
                await uow.usage.record(org.id, uuid4(), usage, at=when)
            await uow.usage.record(other.id, uuid4(), Usage(prompt_tokens=7), at=at["feb"])
        async with store.unit_of_work(readonly=True) as uow:
            months = await uow.usage.monthly(org.id, since=at["jan_first"], until=at["mar"])
            none = await uow.usage.monthly(uuid4(), since=at["jan_first"], until=at["mar"])
        assert months == [
            MonthlyUsage(
                month="2026-01",
                generations=2,
                prompt_tokens=200,
                completion_tokens=20,
                cost_usd=costs["jan_first"] + costs["jan_last"],
            ),
            MonthlyUsage(
                month="2026-02",
                generations=1,
                prompt_tokens=100,
                completion_tokens=10,
                cost_usd=costs["feb"],
            ),
        ]
        assert none == []
