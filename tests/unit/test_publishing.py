"""Publishing never happens twice: ambiguous failures are checked, duplicates are recognised."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ghostart.app import Ghostart
from ghostart.builtin.publisher_dryrun import DryRunPublisher
from ghostart.errors import DuplicateContent, PermanentError, TransientError
from ghostart.models import JobStatus, Post, PostStatus
from ghostart.ports import Publication, PublishRequest
from ghostart.retry import RetryPolicy
from ghostart.testing import EventRecorder
from tests.support import Team, make_settings, make_team


class FlakyPublisher(DryRunPublisher):
    """Fails as told; ``reached`` marks a failure that happened after the post went out."""

    def __init__(self, failures: list[tuple[Exception, bool]]) -> None:
        super().__init__()
        self.failures = failures
        self.publish_calls = 0
        self.find_calls = 0

    async def publish(self, request: PublishRequest) -> Publication:
        self.publish_calls += 1
        if self.failures:
            error, reached = self.failures.pop(0)
            if reached:
                await super().publish(request)
            raise error
        return await super().publish(request)

    async def find(self, request: PublishRequest) -> Publication | None:
        self.find_calls += 1
        return await super().find(request)


@pytest.fixture
async def make_app(tmp_path: Path) -> AsyncIterator[object]:
    apps: list[Ghostart] = []

    async def build(publisher: DryRunPublisher) -> tuple[Ghostart, Team, EventRecorder]:
        settings = make_settings(tmp_path / str(len(apps)), job_max_attempts=3)
        app = Ghostart.from_settings(settings, publisher=publisher)
        # The default number of attempts: an in-process retry of publish would post twice.
        app.context.retry = RetryPolicy(initial_backoff=0.01, max_backoff=0.02)
        events = EventRecorder()
        app.plugins.register(events, name="events")
        await app.start()
        apps.append(app)
        return app, await make_team(app), events

    yield build
    for app in apps:
        await app.aclose()


async def _approved(app: Ghostart, team: Team) -> Post:
    post = await app.generation.request(team.creator, {"topic": "Shipping the new onboarding"})
    post = await app.generation.wait(team.creator, post.id, timeout=10)
    return await app.posts.submit(team.creator, post.id)  # a brand creator's own post: approved


async def _settled(app: Ghostart, team: Team, post: Post) -> Post:
    for _ in range(200):
        current = await app.generation.get(team.creator, post.id)
        if current.status in (PostStatus.PUBLISHED, PostStatus.FAILED):
            return current
        await asyncio.sleep(0.05)
    raise AssertionError(f"post stuck in {current.status}")


async def test_timeout_after_the_post_went_out_is_not_published_again(make_app) -> None:  # type: ignore[no-untyped-def]
    publisher = FlakyPublisher([(TransientError("read timeout"), True)])
    app, team, events = await make_app(publisher)
    post = await _approved(app, team)
    assert post.status is PostStatus.APPROVED
    await app.posts.publish_now(team.creator, post.id)
    done = await _settled(app, team, post)
    assert done.status is PostStatus.PUBLISHED and done.external_id == f"dry-run:{post.id}"
    assert publisher.publish_calls == 1 and publisher.find_calls == 1
    assert len(publisher.published) == 1
    assert _published_ids(events) == [str(post.id)]


async def test_timeout_before_the_post_went_out_publishes_on_retry(make_app) -> None:  # type: ignore[no-untyped-def]
    publisher = FlakyPublisher([(TransientError("connect timeout"), False)])
    app, team, _ = await make_app(publisher)
    post = await _approved(app, team)
    await app.posts.publish_now(team.creator, post.id)
    done = await _settled(app, team, post)
    assert done.status is PostStatus.PUBLISHED
    assert publisher.publish_calls == 2 and len(publisher.published) == 1


async def test_duplicate_content_is_treated_as_published(make_app) -> None:  # type: ignore[no-untyped-def]
    publisher = FlakyPublisher(
        [(DuplicateContent("DUPLICATE_POST", existing_id="urn:li:share:42"), False)]
    )
    app, team, _ = await make_app(publisher)
    post = await _approved(app, team)
    await app.posts.publish_now(team.creator, post.id)
    done = await _settled(app, team, post)
    assert done.status is PostStatus.PUBLISHED and done.external_id == "urn:li:share:42"


async def test_permanent_failure_fails_the_post_with_an_event(make_app) -> None:  # type: ignore[no-untyped-def]
    publisher = FlakyPublisher([(PermanentError("401 revoked"), False)])
    app, team, events = await make_app(publisher)
    post = await _approved(app, team)
    await app.posts.publish_now(team.creator, post.id)
    done = await _settled(app, team, post)
    assert done.status is PostStatus.FAILED and "401 revoked" in (done.error or "")
    assert "post.failed" in events.names()
    async with app.store.unit_of_work() as uow:
        jobs = await uow.jobs.for_subject(post.id)
    assert [j.status for j in jobs] == [JobStatus.FAILED]
    # The author can fix it and try again: failed -> draft.
    again = await app.posts.edit(team.creator, post.id, (done.body or "") + " (fixed)")
    assert again.status is PostStatus.DRAFT


async def test_a_post_edited_after_scheduling_is_not_published(make_app) -> None:  # type: ignore[no-untyped-def]
    publisher = FlakyPublisher([])
    app, team, _ = await make_app(publisher)
    post = await _approved(app, team)
    await app.posts.schedule(team.creator, post.id, datetime.now(UTC) + timedelta(seconds=0.8))
    edited = await app.posts.edit(team.creator, post.id, "Changed my mind.")
    assert edited.status is PostStatus.DRAFT and edited.scheduled_at is None
    await asyncio.sleep(1.2)  # past the old schedule
    assert publisher.publish_calls == 0
    assert (await app.generation.get(team.creator, post.id)).status is PostStatus.DRAFT


def _published_ids(events: EventRecorder) -> list[str]:
    return [e.payload["post_id"] for e in events.events if e.name == "post.published"]


async def test_a_job_claimed_before_a_reschedule_does_not_publish_early(make_app) -> None:  # type: ignore[no-untyped-def]
    from ghostart.models import JobKind, JobStatus

    publisher = FlakyPublisher([])
    app, team, _ = await make_app(publisher)
    post = await _approved(app, team)
    await app.posts.schedule(team.creator, post.id, datetime.now(UTC) + timedelta(hours=1))
    async with app.store.unit_of_work() as uow:
        [job] = await uow.jobs.for_subject(post.id)
        # A worker claims the job as if it were due (the old time) after the post moved later.
        claimed = await uow.jobs.claim(job.id, owner="w", now=job.run_at, lease_until=job.run_at)
        assert claimed is not None
        assert await app.handlers[JobKind.PUBLISH].begin(uow, claimed, "w") is None
    async with app.store.unit_of_work(readonly=True) as uow:
        assert (await uow.jobs.get(job.id)).status is JobStatus.DONE  # type: ignore[union-attr]
    assert publisher.publish_calls == 0
    assert (await app.generation.get(team.creator, post.id)).status is PostStatus.SCHEDULED
