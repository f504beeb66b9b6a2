"""Contract suite for :class:`~ghostart.ports.store.Store` adapters.

Subclass :class:`StoreContract` and provide a ``store`` fixture: a migrated, EMPTY store (a fresh
database or schema per test)::

    class TestPostgresStore(StoreContract):
        @pytest.fixture
        async def store(self, fresh_database_url):
            store = PostgresStore(fresh_database_url)
            await store.migrate()
            yield store
            await store.aclose()
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from ghostart.errors import Conflict
from ghostart.models import (
    ApiKey,
    BrandVoice,
    ContentRequest,
    EmailPreferences,
    Generation,
    GenerationStatus,
    Job,
    JobKind,
    JobStatus,
    Membership,
    Organization,
    OrganizationSettings,
    Permission,
    Post,
    PostStatus,
    Role,
    Usage,
    User,
)
from ghostart.ports.store import Store
from ghostart.testing.contracts.store_campaigns import CampaignStoreContract

__all__ = ["StoreContract"]

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def _org(store: Store, name: str = "Org") -> tuple[Organization, User]:
    org, user = Organization(name=name), User(email=f"{uuid4().hex[:8]}@example.com")
    async with store.unit_of_work() as uow:
        await uow.users.add(user)
        await uow.organizations.add(org)
        await uow.memberships.add(
            Membership(user_id=user.id, organization_id=org.id, role=Role.ADMIN)
        )
    return org, user


def _generation(org: Organization, fp: str = "fp", **kw: object) -> Generation:
    return Generation(
        organization_id=org.id,
        fingerprint=fp,
        brand_voice_id=uuid4(),
        brand_voice_version=1,
        request=ContentRequest(topic="a topic"),
        model="m",
        created_at=kw.pop("created_at", T0),
        **kw,
    )


def _api_key(org: Organization, user: User, lookup: str, **kw: object) -> ApiKey:
    return ApiKey(
        organization_id=org.id,
        name=str(kw.pop("name", "ci")),
        key_prefix=f"gha_live_{lookup:0>12}",
        scopes=frozenset({Permission.ORG_READ, Permission.POST_CREATE}),
        role=Role.EMPLOYEE,
        created_by=user.id,
        created_at=kw.pop("created_at", T0),
        **kw,
    )


def _job(org: Organization | None, **kw: object) -> Job:
    subject = uuid4()
    return Job(
        kind=JobKind.GENERATE,
        organization_id=org.id if org else None,
        subject_id=subject,
        idempotency_key=f"generate:{subject}",
        run_at=kw.pop("run_at", T0),
        **kw,
    )


class StoreContract(CampaignStoreContract):
    """Tests every Store adapter must pass (campaigns and monthly usage: the base class)."""

    pytestmark = [pytest.mark.asyncio]

    @pytest.fixture
    def store(self) -> Store:
        """A migrated, empty store; override it in the subclass."""
        raise NotImplementedError(
            "subclass must provide a `store` fixture: a migrated, empty Store"
        )

    async def test_migrate_is_idempotent(self, store: Store) -> None:
        await store.migrate()
        org, _ = await _org(store)
        await store.migrate()
        async with store.unit_of_work() as uow:
            assert await uow.organizations.get(org.id) == org

    async def test_organization_user_membership_roundtrip(self, store: Store) -> None:
        org, user = await _org(store, "Roundtrip")
        async with store.unit_of_work() as uow:
            assert await uow.organizations.get(org.id) == org
            assert await uow.users.get(user.id) == user
            assert await uow.users.get_by_email(str(user.email).upper()) == user
            assert [o.id for o in await uow.organizations.list_for_user(user.id)] == [org.id]
            [member] = await uow.memberships.list(org.id)
            assert member.role is Role.ADMIN and member.user_id == user.id
            await uow.organizations.update_settings(
                org.id, OrganizationSettings(employee_posts_need_approval=False)
            )
        async with store.unit_of_work() as uow:
            stored = await uow.organizations.get(org.id)
            assert stored is not None and stored.settings.employee_posts_need_approval is False

    async def test_user_profile_roundtrip_keeps_unknown_preference_keys(self, store: Store) -> None:
        # "marketing" stands for a category written by a newer version: kept, never dropped.
        prefs = EmailPreferences.model_validate({"digest": False, "marketing": False})
        user = User(email="tz@example.com", name="Ada", timezone="Asia/Tokyo")
        user = user.model_copy(update={"email_preferences": prefs})
        async with store.unit_of_work() as uow:
            await uow.users.add(user)
            assert await uow.users.get(user.id) == user
        changed = user.model_copy(
            update={
                "name": None,
                "timezone": "Europe/Paris",
                "email_preferences": prefs.model_copy(update={"notifications": False}),
            }
        )
        async with store.unit_of_work() as uow:
            # Only the profile is written: not the email (nor the id or created_at).
            assert await uow.users.save_profile(changed.model_copy(update={"email": "x@y.example"}))
            assert not await uow.users.save_profile(User(email="ghost@example.com"))
        async with store.unit_of_work(readonly=True) as uow:
            stored = await uow.users.get_by_email("tz@example.com")
            assert stored == changed and stored is not None
            assert stored.email_preferences.model_dump() == {
                "notifications": False,
                "digest": False,
                "marketing": False,
            }
            assert await uow.users.get(uuid4()) is None

    async def test_locked_profile_changes_are_not_lost(self, store: Store) -> None:
        _, user = await _org(store)

        async def change(field: str) -> None:
            async with store.unit_of_work() as uow:
                await uow.users.lock(user.id)
                current = await uow.users.get(user.id)
                assert current is not None
                await asyncio.sleep(0.05)  # the other change runs meanwhile, unless locked out
                prefs = current.email_preferences.model_copy(update={field: False})
                await uow.users.save_profile(
                    current.model_copy(update={"email_preferences": prefs})
                )

        await asyncio.gather(change("notifications"), change("digest"))
        async with store.unit_of_work(readonly=True) as uow:
            stored = await uow.users.get(user.id)
        assert stored is not None
        assert stored.email_preferences == EmailPreferences(notifications=False, digest=False)

    async def test_unit_of_work_rolls_back_on_error(self, store: Store) -> None:
        org = Organization(name="Never")

        async def add_then_fail() -> None:
            async with store.unit_of_work() as uow:
                await uow.organizations.add(org)
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            await add_then_fail()
        async with store.unit_of_work() as uow:
            assert await uow.organizations.get(org.id) is None

    async def test_duplicate_insert_is_a_conflict(self, store: Store) -> None:
        org, user = await _org(store)
        with pytest.raises(Conflict):
            async with store.unit_of_work() as uow:
                await uow.memberships.add(
                    Membership(user_id=user.id, organization_id=org.id, role=Role.EMPLOYEE)
                )

    async def test_membership_roles_and_admin_count(self, store: Store) -> None:
        org, admin = await _org(store)
        other = User(email="second@example.com")
        async with store.unit_of_work() as uow:
            await uow.users.add(other)
            await uow.memberships.add(
                Membership(user_id=other.id, organization_id=org.id, role=Role.EMPLOYEE)
            )
            assert await uow.memberships.lock_admins(org.id) == 1
            await uow.memberships.set_role(org.id, other.id, Role.ADMIN)
            assert await uow.memberships.lock_admins(org.id) == 2
            await uow.memberships.remove(org.id, admin.id)
        async with store.unit_of_work() as uow:
            assert await uow.memberships.get(org.id, admin.id) is None
            member = await uow.memberships.get(org.id, other.id)
            assert member is not None and member.role is Role.ADMIN

    async def test_rows_of_another_organization_are_not_found(self, store: Store) -> None:
        mine, me = await _org(store, "Mine")
        theirs, _ = await _org(store, "Theirs")
        voice = BrandVoice(organization_id=mine.id, name="Voice")
        post = Post(organization_id=mine.id, author_id=me.id, body="hello", status=PostStatus.DRAFT)
        async with store.unit_of_work() as uow:
            await uow.brand_voices.add(voice)
            await uow.posts.add(post)
        async with store.unit_of_work() as uow:
            assert await uow.brand_voices.get(theirs.id, voice.id) is None
            assert await uow.brand_voices.list(theirs.id) == []
            assert await uow.posts.get(theirs.id, post.id) is None
            assert await uow.posts.list(theirs.id) == []
            assert not await uow.brand_voices.delete(theirs.id, voice.id)
            assert await uow.posts.get(mine.id, post.id) == post

    async def test_brand_voice_update_is_compare_and_set(self, store: Store) -> None:
        org, _ = await _org(store)
        voice = BrandVoice(organization_id=org.id, name="V", topics=["a"], words_to_avoid=["x"])
        async with store.unit_of_work() as uow:
            await uow.brand_voices.add(voice)
            edited = voice.model_copy(update={"name": "V2", "version": 2})
            assert await uow.brand_voices.update(edited, expected_version=1)
            assert not await uow.brand_voices.update(edited, expected_version=1)
            assert await uow.brand_voices.get(org.id, voice.id) == edited

    async def test_one_live_generation_per_fingerprint(self, store: Store) -> None:
        org, _ = await _org(store)
        first = _generation(org)
        async with store.unit_of_work() as uow:
            got, created = await uow.generations.add_or_join(first)
            assert created and got.id == first.id
            got, created = await uow.generations.add_or_join(_generation(org))
            assert not created and got.id == first.id
            other_fp, created = await uow.generations.add_or_join(_generation(org, "other"))
            assert created and other_fp.id != first.id
        async with store.unit_of_work() as uow:
            finished = first.model_copy(
                update={
                    "status": GenerationStatus.SUCCEEDED,
                    "body": "text",
                    "finished_at": T0 + timedelta(seconds=5),
                }
            )
            await uow.generations.save(finished)
            again, created = await uow.generations.add_or_join(_generation(org))
            assert created and again.id != first.id
            recent = await uow.generations.find_recent(org.id, "fp", since=T0)
            assert recent is not None and recent.id == first.id and recent.body == "text"
            assert (
                await uow.generations.find_recent(org.id, "fp", since=T0 + timedelta(minutes=1))
                is None
            )

    async def test_start_marks_live_generations_running_only(self, store: Store) -> None:
        org, _ = await _org(store)
        live, done = (
            _generation(org, "live"),
            _generation(org, "done", status=GenerationStatus.SUCCEEDED),
        )
        async with store.unit_of_work() as uow:
            await uow.generations.add_or_join(live)
            await uow.generations.add_or_join(done)
            started = await uow.generations.start(live.id)
            assert started is not None and started.status is GenerationStatus.RUNNING
            again = await uow.generations.start(live.id)  # a re-run after a crash
            assert again is not None and again.id == live.id
            assert await uow.generations.start(done.id) is None
            assert await uow.generations.start(uuid4()) is None

    async def test_concurrent_identical_generations_make_one(self, store: Store) -> None:
        org, _ = await _org(store)

        async def add() -> tuple[UUID, bool]:
            async with store.unit_of_work() as uow:
                generation, created = await uow.generations.add_or_join(_generation(org, "same"))
                return generation.id, created

        results = await asyncio.gather(*(add() for _ in range(10)))
        assert sum(created for _, created in results) == 1
        assert len({gid for gid, _ in results}) == 1

    async def test_quota_count_skips_failed_and_old(self, store: Store) -> None:
        org, _ = await _org(store)
        async with store.unit_of_work() as uow:
            await uow.generations.add_or_join(_generation(org, "a"))
            await uow.generations.add_or_join(_generation(org, "b", status=GenerationStatus.FAILED))
            await uow.generations.add_or_join(
                _generation(org, "c", created_at=T0 - timedelta(days=40))
            )
            assert await uow.generations.count_since(org.id, T0 - timedelta(days=1)) == 1

    async def test_post_update_is_compare_and_set_and_lists_filter(self, store: Store) -> None:
        org, user = await _org(store)
        generation = _generation(org)
        posts = [
            Post(
                organization_id=org.id,
                author_id=user.id,
                generation_id=generation.id,
                created_at=T0 + timedelta(seconds=i),
            )
            for i in range(3)
        ]
        async with store.unit_of_work() as uow:
            await uow.generations.add_or_join(generation)
            for post in posts:
                await uow.posts.add(post)
            changed = posts[0].model_copy(
                update={"status": PostStatus.DRAFT, "body": "b", "revision": 2}
            )
            assert await uow.posts.update(changed, expected_revision=1)
            assert not await uow.posts.update(changed, expected_revision=1)
            assert [p.id for p in await uow.posts.list(org.id, status=PostStatus.DRAFT)] == [
                posts[0].id
            ]
            assert [p.id for p in await uow.posts.list(org.id, author_id=user.id, limit=2)] == [
                posts[2].id,
                posts[1].id,
            ]
            assert len(await uow.posts.for_generation(generation.id)) == 3

    async def test_post_pages_follow_the_keyset(self, store: Store) -> None:
        org, user = await _org(store)
        generation = _generation(org)
        # Pairs of posts share a created_at: the id breaks the tie, in the same order every time.
        posts = [
            Post(
                organization_id=org.id,
                author_id=user.id,
                generation_id=generation.id,
                created_at=T0 + timedelta(seconds=i // 2),
            )
            for i in range(7)
        ]
        newest_first = sorted(posts, key=lambda p: (p.created_at, p.id), reverse=True)
        async with store.unit_of_work() as uow:
            await uow.generations.add_or_join(generation)
            for post in posts:
                await uow.posts.add(post)

        seen: list[UUID] = []
        before = None
        async with store.unit_of_work(readonly=True) as uow:
            while True:
                page = await uow.posts.list(org.id, limit=3, before=before)
                seen += [p.id for p in page]
                if len(page) < 3:
                    break
                before = (page[-1].created_at, page[-1].id)
            assert seen == [p.id for p in newest_first]
            last = newest_first[-1]
            assert await uow.posts.list(org.id, before=(last.created_at, last.id)) == []
            middle = newest_first[2]
            after_middle = await uow.posts.list(
                org.id, author_id=user.id, limit=2, before=(middle.created_at, middle.id)
            )
            assert [p.id for p in after_middle] == [p.id for p in newest_first[3:5]]

    async def test_the_default_voice_is_the_oldest(self, store: Store) -> None:
        org, _ = await _org(store)
        voices = [
            BrandVoice(organization_id=org.id, name=f"V{i}", created_at=T0 - timedelta(days=i))
            for i in range(3)
        ]
        async with store.unit_of_work() as uow:
            for voice in voices:
                await uow.brand_voices.add(voice)
        async with store.unit_of_work(readonly=True) as uow:
            assert [v.id for v in await uow.brand_voices.list(org.id)] == [
                v.id for v in reversed(voices)
            ]
            assert [v.id for v in await uow.brand_voices.list(org.id, limit=1)] == [voices[2].id]
            assert len(await uow.brand_voices.list(org.id, limit=2)) == 2

    async def test_job_claim_is_compare_and_set(self, store: Store) -> None:
        org, _ = await _org(store)
        job = _job(org)
        lease = T0 + timedelta(seconds=30)
        async with store.unit_of_work() as uow:
            await uow.jobs.add(job)
        async with store.unit_of_work() as uow:
            claimed = await uow.jobs.claim(job.id, owner="a", now=T0, lease_until=lease)
            assert (
                claimed is not None
                and claimed.status is JobStatus.RUNNING
                and claimed.attempts == 1
            )
            assert await uow.jobs.claim(job.id, owner="b", now=T0, lease_until=lease) is None
            assert not await uow.jobs.finish(job.id, owner="b", status="done", now=T0)
            assert await uow.jobs.extend(
                job.id, owner="a", lease_until=lease + timedelta(seconds=30)
            )
        async with store.unit_of_work() as uow:  # lease expired: another owner takes over
            later = lease + timedelta(seconds=31)
            taken = await uow.jobs.claim(
                job.id, owner="b", now=later, lease_until=later + timedelta(seconds=30)
            )
            assert taken is not None and taken.lease_owner == "b" and taken.attempts == 2
            assert not await uow.jobs.finish(job.id, owner="a", status="done", now=later)
            assert await uow.jobs.finish(job.id, owner="b", status="done", now=later)
            assert await uow.jobs.claim(job.id, owner="c", now=later, lease_until=later) is None
            assert (await uow.jobs.count_by_status()).get("done") == 1

    async def test_concurrent_claims_have_one_winner(self, store: Store) -> None:
        org, _ = await _org(store)
        job = _job(org)
        async with store.unit_of_work() as uow:
            await uow.jobs.add(job)

        async def claim(owner: str) -> bool:
            async with store.unit_of_work() as uow:
                return (
                    await uow.jobs.claim(
                        job.id, owner=owner, now=T0, lease_until=T0 + timedelta(seconds=9)
                    )
                    is not None
                )

        assert sum(await asyncio.gather(*(claim(f"w{i}") for i in range(10)))) == 1

    async def test_jobs_not_due_are_not_claimed_and_due_lists_what_needs_queueing(
        self, store: Store
    ) -> None:
        org, _ = await _org(store)
        future = _job(org, run_at=T0 + timedelta(hours=1))
        fresh = _job(org, enqueued_at=T0)
        stale = _job(org, enqueued_at=T0 - timedelta(minutes=5))
        never = _job(None)
        async with store.unit_of_work() as uow:
            for job in (future, fresh, stale, never):
                await uow.jobs.add(job)
            assert await uow.jobs.claim(future.id, owner="a", now=T0, lease_until=T0) is None
            due = {
                j.id
                for j in await uow.jobs.due(
                    now=T0, enqueued_before=T0 - timedelta(minutes=1), limit=10
                )
            }
            assert due == {stale.id, never.id}
            await uow.jobs.mark_enqueued([stale.id, never.id], now=T0)
            assert (
                await uow.jobs.due(now=T0, enqueued_before=T0 - timedelta(minutes=1), limit=10)
                == []
            )
            assert [j.id for j in await uow.jobs.for_subject(future.subject_id)] == [future.id]
            assert await uow.jobs.cancel_for_subject(future.subject_id, now=T0) == 1
            cancelled = await uow.jobs.get(future.id)
            assert cancelled is not None and cancelled.status is JobStatus.CANCELLED

    async def test_requeue_with_run_at_resets_enqueued(self, store: Store) -> None:
        org, _ = await _org(store)
        job = _job(org, enqueued_at=T0)
        async with store.unit_of_work() as uow:
            await uow.jobs.add(job)
            await uow.jobs.claim(job.id, owner="a", now=T0, lease_until=T0 + timedelta(seconds=5))
            retry_at = T0 + timedelta(seconds=10)
            assert await uow.jobs.finish(
                job.id, owner="a", status="queued", now=T0, error="x", run_at=retry_at
            )
            stored = await uow.jobs.get(job.id)
            assert (
                stored is not None
                and stored.status is JobStatus.QUEUED
                and stored.last_error == "x"
            )
            assert (
                stored.lease_owner is None
                and stored.enqueued_at is None
                and stored.run_at == retry_at
            )
            assert [
                j.id for j in await uow.jobs.due(now=retry_at, enqueued_before=retry_at, limit=5)
            ] == [job.id]

    async def test_usage_is_recorded_once_per_generation(self, store: Store) -> None:
        org, _ = await _org(store)
        gid = uuid4()
        usage = Usage(prompt_tokens=10, completion_tokens=5, cost_usd=Decimal("0.001500"))
        async with store.unit_of_work() as uow:
            await uow.usage.record(org.id, gid, usage, at=T0)
            await uow.usage.record(org.id, gid, usage, at=T0)
            await uow.usage.record(org.id, uuid4(), usage, at=T0)
            totals = await uow.usage.totals(org.id, since=T0 - timedelta(days=1))
        assert totals.prompt_tokens == 20 and totals.completion_tokens == 10
        assert totals.cost_usd == Decimal("0.003")

    async def test_secrets_put_get_batch_replace(self, store: Store) -> None:
        org, _ = await _org(store)
        ids = sorted(uuid4() for _ in range(3))
        async with store.unit_of_work() as uow:
            for i, sid in enumerate(ids):
                await uow.secrets.put(org.id, f"name{i}", sid, f"ct{i}")
            await uow.secrets.put(org.id, "name0", ids[0], "ct0-new")
            assert await uow.secrets.get(org.id, "name0") == (ids[0], "ct0-new")
            assert await uow.secrets.get(uuid4(), "name0") is None
            first = await uow.secrets.batch(after=None, limit=2)
            rest = await uow.secrets.batch(after=first[-1][0], limit=2)
            assert [i for i, _ in first + rest] == ids
            assert not await uow.secrets.replace(ids[1], "stale", "x")
            assert await uow.secrets.replace(ids[1], "ct1", "ct1-rotated")
            assert await uow.secrets.get(org.id, "name1") == (ids[1], "ct1-rotated")

    async def test_api_keys_roundtrip_and_stay_in_their_organization(self, store: Store) -> None:
        mine, me = await _org(store, "Mine")
        theirs, _ = await _org(store, "Theirs")
        first = _api_key(mine, me, "first")
        second = _api_key(mine, me, "second", created_at=T0 + timedelta(seconds=1))
        async with store.unit_of_work() as uow:
            await uow.api_keys.add(second, "b" * 64)
            await uow.api_keys.add(first, "a" * 64)
        async with store.unit_of_work(readonly=True) as uow:
            assert await uow.api_keys.get(mine.id, first.id) == first
            assert [k.id for k in await uow.api_keys.list(mine.id)] == [first.id, second.id]
            assert await uow.api_keys.get(theirs.id, first.id) is None
            assert await uow.api_keys.list(theirs.id) == []
            # The one unscoped read: by the public prefix, handing out the stored hash.
            assert await uow.api_keys.find(first.key_prefix) == (first, "a" * 64)
            assert await uow.api_keys.find("gha_live_000000000000") is None

    async def test_api_key_prefixes_are_unique(self, store: Store) -> None:
        org, user = await _org(store)
        async with store.unit_of_work() as uow:
            await uow.api_keys.add(_api_key(org, user, "same"), "a" * 64)
        with pytest.raises(Conflict):
            async with store.unit_of_work() as uow:
                await uow.api_keys.add(_api_key(org, user, "same"), "b" * 64)
        async with store.unit_of_work(readonly=True) as uow:
            assert len(await uow.api_keys.list(org.id)) == 1

    async def test_api_key_revoke_is_scoped_and_keeps_the_first_time(self, store: Store) -> None:
        mine, me = await _org(store, "Mine")
        theirs, _ = await _org(store, "Theirs")
        key = _api_key(mine, me, "revoke")
        async with store.unit_of_work() as uow:
            await uow.api_keys.add(key, "a" * 64)
            assert await uow.api_keys.revoke(theirs.id, key.id, at=T0) is None
            assert await uow.api_keys.revoke(mine.id, uuid4(), at=T0) is None
            untouched = await uow.api_keys.get(mine.id, key.id)
            assert untouched is not None and untouched.revoked_at is None
            revoked = await uow.api_keys.revoke(mine.id, key.id, at=T0)
            assert revoked is not None and revoked.revoked_at == T0
            again = await uow.api_keys.revoke(mine.id, key.id, at=T0 + timedelta(hours=1))
            assert again is not None and again.revoked_at == T0
        async with store.unit_of_work(readonly=True) as uow:
            found = await uow.api_keys.find(key.key_prefix)
            assert found is not None and found[0].revoked_at == T0

    async def test_api_key_touch_is_compare_and_set(self, store: Store) -> None:
        mine, me = await _org(store, "Mine")
        theirs, _ = await _org(store, "Theirs")
        key = _api_key(mine, me, "touch")
        minute = timedelta(minutes=1)
        async with store.unit_of_work() as uow:
            await uow.api_keys.add(key, "a" * 64)
            assert not await uow.api_keys.touch(theirs.id, key.id, at=T0, unless_since=T0 - minute)
            assert await uow.api_keys.touch(mine.id, key.id, at=T0, unless_since=T0 - minute)
            later = T0 + timedelta(seconds=30)
            assert not await uow.api_keys.touch(
                mine.id, key.id, at=later, unless_since=later - minute
            )
            stored = await uow.api_keys.get(mine.id, key.id)
            assert stored is not None and stored.last_used_at == T0
            later = T0 + timedelta(seconds=61)
            assert await uow.api_keys.touch(mine.id, key.id, at=later, unless_since=later - minute)
            stored = await uow.api_keys.get(mine.id, key.id)
            assert stored is not None and stored.last_used_at == later
            await uow.api_keys.revoke(mine.id, key.id, at=later)
            much_later = later + timedelta(hours=1)
            assert not await uow.api_keys.touch(
                mine.id, key.id, at=much_later, unless_since=much_later - minute
            )

    async def test_concurrent_api_key_touches_write_once(self, store: Store) -> None:
        org, user = await _org(store)
        key = _api_key(org, user, "burst")
        async with store.unit_of_work() as uow:
            await uow.api_keys.add(key, "a" * 64)

        async def touch(i: int) -> bool:
            at = T0 + timedelta(milliseconds=i)
            async with store.unit_of_work() as uow:
                return await uow.api_keys.touch(
                    org.id, key.id, at=at, unless_since=at - timedelta(minutes=1)
                )

        assert sum(await asyncio.gather(*(touch(i) for i in range(10)))) == 1
