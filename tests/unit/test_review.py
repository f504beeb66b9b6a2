"""Review and scheduling: the post lifecycle under RBAC, and publication by the embedded worker."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from ghostart.app import Ghostart
from ghostart.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from ghostart.models import (
    LINKEDIN_MAX_CHARS,
    EventName,
    JobKind,
    JobStatus,
    OrganizationSettings,
    Post,
    PostStatus,
    Principal,
    Role,
)
from ghostart.testing import CountingGenerator, EventRecorder
from tests.support import Team, make_team

S = PostStatus


async def draft(app: Ghostart, who: Principal, topic: str) -> Post:
    post = await app.generation.request(who, {"topic": topic})
    post = await app.generation.wait(who, post.id, timeout=10)
    assert post.status is S.DRAFT, post.error
    return post


async def approved(app: Ghostart, team: Team, topic: str) -> Post:
    """An employee's post, submitted and approved by the brand creator."""
    post = await draft(app, team.employee, topic)
    await app.posts.submit(team.employee, post.id)
    return await app.posts.approve(team.creator, post.id)


async def until(
    app: Ghostart, who: Principal, post_id: UUID, status: PostStatus, within: float = 10.0
) -> Post:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        post = await app.generation.get(who, post_id)
        if post.status is status or asyncio.get_running_loop().time() > deadline:
            return post
        await asyncio.sleep(0.05)


async def queue_idle(app: Ghostart, within: float = 5.0) -> None:
    """Wait until the in-process queue is empty and the worker has nothing in flight."""
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        size = await app.queue.size()  # type: ignore[attr-defined]
        if tuple(size) == (0, 0, 0) and app.worker is not None and app.worker.in_flight == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the queue did not drain")


def record_enqueues(app: Ghostart, monkeypatch: pytest.MonkeyPatch) -> list[UUID]:
    """Record every job id put on the queue (the service and the worker share ``app.queue``)."""
    seen: list[UUID] = []
    original = app.queue.enqueue

    async def enqueue(job_id: UUID, *, delay: float = 0.0) -> None:
        seen.append(job_id)
        await original(job_id, delay=delay)

    monkeypatch.setattr(app.queue, "enqueue", enqueue)
    return seen


async def job_status(app: Ghostart, job_id: UUID) -> JobStatus:
    async with app.store.unit_of_work() as uow:
        job = await uow.jobs.get(job_id)
    assert job is not None
    return job.status


def after(events: EventRecorder, seen: int) -> list[str]:
    return events.names()[seen:]


# --- submit, approve, reject -------------------------------------------------------------------


async def test_employee_submits_and_creator_approves(
    app: Ghostart, team: Team, events: EventRecorder
) -> None:
    post = await draft(app, team.employee, "What code review taught me")
    submitted = await app.posts.submit(team.employee, post.id)
    assert submitted.status is S.IN_REVIEW
    assert submitted.revision == post.revision + 1
    assert events.events[-1].name == EventName.POST_SUBMITTED

    with pytest.raises(PermissionDenied) as info:
        await app.posts.approve(team.employee, post.id)
    assert "employee" in str(info.value)
    assert "review" in str(info.value)
    assert (await app.generation.get(team.employee, post.id)).status is S.IN_REVIEW

    seen = len(events.events)
    ok = await app.posts.approve(team.creator, post.id, note="Ship it")
    assert ok.status is S.APPROVED
    assert ok.reviewed_by == team.creator.user_id
    assert ok.review_note == "Ship it"
    assert await app.generation.get(team.employee, post.id) == ok
    assert after(events, seen) == [EventName.POST_APPROVED]
    assert events.events[-1].payload == {
        "post_id": str(post.id),
        "author_id": str(team.employee.user_id),
        "by": str(team.creator.user_id),
    }


async def test_reject_needs_a_note_then_author_edit_returns_to_draft(
    app: Ghostart, team: Team, events: EventRecorder
) -> None:
    post = await draft(app, team.employee, "Our first hundred customers")
    await app.posts.submit(team.employee, post.id)
    for note in ("", "   ", "x" * 1001):
        with pytest.raises(InvalidInput) as info:
            await app.posts.reject(team.creator, post.id, note=note)
        assert info.value.field == "note"
    assert (await app.generation.get(team.creator, post.id)).status is S.IN_REVIEW
    with pytest.raises(PermissionDenied):
        await app.posts.reject(team.employee, post.id, note="I reject myself")

    rejected = await app.posts.reject(team.creator, post.id, note="  Too salesy  ")
    assert rejected.status is S.REJECTED
    assert rejected.review_note == "Too salesy"
    assert events.events[-1].name == EventName.POST_REJECTED
    assert events.events[-1].payload["note"] == "Too salesy"
    with pytest.raises(Conflict):
        await app.posts.submit(team.employee, post.id)  # a rejected post is edited first

    edited = await app.posts.edit(team.employee, post.id, "A humbler version of the story.")
    assert edited.status is S.DRAFT
    assert edited.body == "A humbler version of the story."
    again = await app.posts.submit(team.employee, post.id)
    assert again.status is S.IN_REVIEW


async def test_no_approval_needed_sends_employee_posts_straight_to_approved(
    app: Ghostart, team: Team, events: EventRecorder
) -> None:
    await app.organizations.update_settings(
        team.admin, OrganizationSettings(employee_posts_need_approval=False)
    )
    post = await draft(app, team.employee, "Remote work rituals")
    submitted = await app.posts.submit(team.employee, post.id)
    assert submitted.status is S.APPROVED
    assert events.events[-1].name == EventName.POST_APPROVED


@pytest.mark.parametrize("role", [Role.BRAND_CREATOR, Role.ADMIN])
async def test_creators_and_admins_own_posts_skip_review(
    app: Ghostart, team: Team, events: EventRecorder, role: Role
) -> None:
    who = team.as_role(role)
    post = await draft(app, who, f"A note from the {role.value}")
    submitted = await app.posts.submit(who, post.id)
    assert submitted.status is S.APPROVED
    assert events.events[-1].name == EventName.POST_APPROVED


async def test_creator_submitting_an_employees_post_still_needs_review(
    app: Ghostart, team: Team
) -> None:
    post = await draft(app, team.employee, "Mentoring across time zones")
    submitted = await app.posts.submit(team.creator, post.id)
    assert submitted.status is S.IN_REVIEW  # the author's role decides, not the submitter's


async def test_wrong_lifecycle_steps_are_conflicts(
    app: Ghostart, team: Team, generator: CountingGenerator
) -> None:
    post = await draft(app, team.employee, "Lessons from a failed launch")
    with pytest.raises(Conflict, match="draft"):
        await app.posts.approve(team.creator, post.id)
    with pytest.raises(Conflict):
        await app.posts.reject(team.creator, post.id, note="no")
    with pytest.raises(Conflict):
        await app.posts.schedule(team.creator, post.id, datetime.now(UTC) + timedelta(hours=1))
    with pytest.raises(Conflict):
        await app.posts.publish_now(team.creator, post.id)
    with pytest.raises(Conflict):
        await app.posts.unschedule(team.creator, post.id)
    await app.posts.submit(team.employee, post.id)
    with pytest.raises(Conflict):
        await app.posts.submit(team.employee, post.id)
    unchanged = await app.generation.get(team.employee, post.id)
    assert unchanged.status is S.IN_REVIEW
    assert unchanged.revision == post.revision + 1

    # A post still being written has nothing to edit or submit.
    generator.gate = asyncio.Event()
    pending = await app.generation.request(team.employee, {"topic": "A post still being written"})
    try:
        with pytest.raises(Conflict):
            await app.posts.edit(team.employee, pending.id, "too early")
        with pytest.raises(Conflict):
            await app.posts.submit(team.employee, pending.id)
    finally:
        generator.gate.set()
    assert (await app.generation.wait(team.employee, pending.id, timeout=10)).status is S.DRAFT


# --- edits -------------------------------------------------------------------------------------


async def test_edit_validates_the_body(app: Ghostart, team: Team) -> None:
    post = await draft(app, team.employee, "Writing good commit messages")
    for body in ("", "   \n ", "x" * (LINKEDIN_MAX_CHARS + 1)):
        with pytest.raises(InvalidInput) as info:
            await app.posts.edit(team.employee, post.id, body)
        assert info.value.field == "body"
    assert (await app.generation.get(team.employee, post.id)).body == post.body
    longest = await app.posts.edit(team.employee, post.id, "  " + "y" * LINKEDIN_MAX_CHARS + "  ")
    assert longest.body == "y" * LINKEDIN_MAX_CHARS  # trimmed, then exactly at the limit


async def test_stale_expected_revision_is_a_conflict(app: Ghostart, team: Team) -> None:
    post = await draft(app, team.employee, "On saying no to meetings")
    first = await app.posts.edit(
        team.employee, post.id, "First take.", expected_revision=post.revision
    )
    assert first.revision == post.revision + 1
    with pytest.raises(Conflict, match=f"revision {first.revision}"):
        await app.posts.edit(team.creator, post.id, "Second take.", expected_revision=post.revision)
    assert (await app.generation.get(team.employee, post.id)).body == "First take."


async def test_reviewer_edit_keeps_the_review_state_author_edit_does_not(
    app: Ghostart, team: Team
) -> None:
    post = await draft(app, team.employee, "Pairing with designers")
    await app.posts.submit(team.employee, post.id)
    by_reviewer = await app.posts.edit(team.creator, post.id, "Polished by the reviewer.")
    assert by_reviewer.status is S.IN_REVIEW
    by_author = await app.posts.edit(team.employee, post.id, "Changed again by the author.")
    assert by_author.status is S.DRAFT


async def test_employees_can_not_see_or_touch_each_others_posts(app: Ghostart, team: Team) -> None:
    user = await app.organizations.ensure_user("colleague@acme.example.com")
    await app.organizations.add_member(team.admin, user.id, Role.EMPLOYEE)
    colleague = await app.organizations.principal_for(user.id, team.org.id)
    theirs = await draft(app, colleague, "My colleague's private draft")

    # Another member's post is hidden altogether, for reading and for every review action.
    with pytest.raises(NotFound):
        await app.generation.get(team.employee, theirs.id)
    with pytest.raises(NotFound):
        await app.posts.edit(team.employee, theirs.id, "Hijacked")
    with pytest.raises(NotFound):
        await app.posts.submit(team.employee, theirs.id)
    with pytest.raises(NotFound):
        await app.posts.publish_now(team.employee, theirs.id)
    assert await app.generation.get(colleague, theirs.id) == theirs

    # Brand creators read and edit anyone's post.
    assert (await app.generation.get(team.creator, theirs.id)).id == theirs.id
    edited = await app.posts.edit(team.creator, theirs.id, "Tidied by the brand creator.")
    assert edited.body == "Tidied by the brand creator."
    assert edited.author_id == user.id


async def test_posts_of_another_organization_are_not_found(app: Ghostart, team: Team) -> None:
    other = await make_team(app, "Other")
    theirs = await draft(app, other.creator, "Another company's news")
    with pytest.raises(NotFound):
        await app.generation.get(team.admin, theirs.id)
    with pytest.raises(NotFound):
        await app.posts.edit(team.admin, theirs.id, "Hijacked")
    with pytest.raises(NotFound):
        await app.posts.submit(team.admin, theirs.id)
    assert await app.posts.list(team.admin) == []
    assert (await app.generation.get(other.creator, theirs.id)).body == theirs.body


async def test_list_shows_employees_their_own_posts_and_creators_all(
    app: Ghostart, team: Team
) -> None:
    mine = await draft(app, team.employee, "Employee post")
    theirs = await draft(app, team.creator, "Creator post")
    await app.posts.submit(team.employee, mine.id)

    assert [p.id for p in await app.posts.list(team.employee)] == [mine.id]
    assert {p.id for p in await app.posts.list(team.creator)} == {mine.id, theirs.id}
    assert {p.id for p in await app.posts.list(team.admin)} == {mine.id, theirs.id}
    with pytest.raises(PermissionDenied):
        await app.posts.list(team.employee, author_id=team.creator.user_id)
    assert [p.id for p in await app.posts.list(team.creator, author_id=team.employee.user_id)] == [
        mine.id
    ]
    assert [p.id for p in await app.posts.list(team.creator, status=S.IN_REVIEW)] == [mine.id]
    assert await app.posts.list(team.employee, status=S.APPROVED) == []
    naive = (datetime(2026, 1, 1), mine.id)
    for kwargs in ({"limit": 0}, {"limit": 201}, {"before": naive}, {"before": ("x", mine.id)}):
        with pytest.raises(InvalidInput):
            await app.posts.list(team.creator, **kwargs)  # type: ignore[arg-type]


# --- scheduling and publishing -----------------------------------------------------------------


async def test_schedule_rejects_bad_times(app: Ghostart, team: Team) -> None:
    post = await approved(app, team, "Bad times")
    now = datetime.now(UTC)
    for at in (
        datetime.now() + timedelta(hours=1),
        now - timedelta(hours=1),
        now + timedelta(days=400),
    ):
        with pytest.raises(InvalidInput) as info:
            await app.posts.schedule(team.creator, post.id, at)
        assert info.value.field == "at"
    current = await app.generation.get(team.creator, post.id)
    assert current.status is S.APPROVED
    assert current.scheduled_at is None
    assert app.publisher.published == {}  # type: ignore[attr-defined]


async def test_scheduled_post_is_published_by_the_worker(
    app: Ghostart, team: Team, events: EventRecorder
) -> None:
    post = await approved(app, team, "Scheduled for later")
    at = datetime.now(UTC) + timedelta(seconds=0.5)
    # The author may schedule their own approved post.
    scheduled = await app.posts.schedule(team.employee, post.id, at)
    assert scheduled.status is S.SCHEDULED
    assert scheduled.scheduled_at >= at  # equal unless the call itself outlasted the delay
    assert events.events[-1].name == EventName.POST_SCHEDULED

    published = await until(app, team.employee, post.id, S.PUBLISHED)
    assert published.status is S.PUBLISHED, published.error
    assert published.external_id is not None
    assert published.external_id.startswith("dry-run:")
    assert published.published_at is not None
    assert published.published_at >= at
    sent = app.publisher.published  # type: ignore[attr-defined]
    assert len(sent) == 1
    [(request, _)] = sent.values()
    assert request.post_id == post.id
    assert request.body == post.body
    event = next(e for e in events.events if e.name == EventName.POST_PUBLISHED)
    assert event.payload["post_id"] == str(post.id)
    assert event.payload["external_id"] == published.external_id
    with pytest.raises(Conflict):
        await app.posts.edit(team.employee, post.id, "Too late to edit.")


async def test_publish_now(app: Ghostart, team: Team) -> None:
    post = await draft(app, team.creator, "Publish me now")
    await app.posts.submit(team.creator, post.id)
    queued = await app.posts.publish_now(team.creator, post.id)
    assert queued.status is S.SCHEDULED
    published = await until(app, team.creator, post.id, S.PUBLISHED, within=5)
    assert published.status is S.PUBLISHED
    assert published.external_id == f"dry-run:{post.id}"


async def test_unschedule_returns_to_approved_and_cancels_the_job(
    app: Ghostart, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    enqueued = record_enqueues(app, monkeypatch)
    post = await approved(app, team, "Changed my mind")
    at = datetime.now(UTC) + timedelta(seconds=0.6)
    await app.posts.schedule(team.creator, post.id, at)
    job_id = enqueued[-1]
    async with app.store.unit_of_work() as uow:
        job = await uow.jobs.get(job_id)
    assert job is not None
    assert (job.kind, job.subject_id, job.status) == (JobKind.PUBLISH, post.id, JobStatus.QUEUED)
    back = await app.posts.unschedule(team.employee, post.id)
    assert back.status is S.APPROVED
    assert back.scheduled_at is None
    assert await job_status(app, job_id) is JobStatus.CANCELLED

    await asyncio.sleep(max(0.0, (at - datetime.now(UTC)).total_seconds()) + 0.4)
    current = await app.generation.get(team.employee, post.id)
    assert current.status is S.APPROVED
    assert current.published_at is None
    assert app.publisher.published == {}  # type: ignore[attr-defined]


async def test_author_edit_of_a_scheduled_post_cancels_its_publication(
    app: Ghostart, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    enqueued = record_enqueues(app, monkeypatch)
    post = await approved(app, team, "Edit after scheduling")
    await app.posts.schedule(team.creator, post.id, datetime.now(UTC) + timedelta(hours=1))
    job_id = enqueued[-1]
    edited = await app.posts.edit(team.employee, post.id, "A late change.")
    assert edited.status is S.DRAFT
    assert await job_status(app, job_id) is JobStatus.CANCELLED


async def test_a_post_taken_back_to_draft_is_no_longer_scheduled(app: Ghostart, team: Team) -> None:
    post = await approved(app, team, "Stale schedule")
    await app.posts.schedule(team.creator, post.id, datetime.now(UTC) + timedelta(hours=1))
    edited = await app.posts.edit(team.employee, post.id, "A late change.")
    assert edited.status is S.DRAFT
    assert edited.scheduled_at is None


async def test_rescheduling_replaces_the_job(
    app: Ghostart, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    enqueued = record_enqueues(app, monkeypatch)
    post = await approved(app, team, "Rescheduled")
    now = datetime.now(UTC)
    await app.posts.schedule(team.creator, post.id, now + timedelta(hours=1))
    first = enqueued[-1]
    moved = await app.posts.schedule(team.creator, post.id, now + timedelta(hours=2))
    second = enqueued[-1]
    assert second != first
    assert moved.scheduled_at == now + timedelta(hours=2)
    assert await job_status(app, first) is JobStatus.CANCELLED
    assert await job_status(app, second) is JobStatus.QUEUED


async def test_publishing_happens_once_even_if_the_job_is_delivered_twice(
    app: Ghostart, team: Team, events: EventRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    enqueued = record_enqueues(app, monkeypatch)
    calls: list[Any] = []
    publish: Callable[[Any], Awaitable[Any]] = app.publisher.publish

    async def counting_publish(request: Any) -> Any:
        calls.append(request)
        return await publish(request)

    monkeypatch.setattr(app.publisher, "publish", counting_publish)
    post = await approved(app, team, "Only once")
    await app.posts.publish_now(team.creator, post.id)
    job_id = enqueued[-1]
    await app.queue.enqueue(job_id)  # a duplicate delivery while the first may be running
    published = await until(app, team.creator, post.id, S.PUBLISHED, within=5)
    assert published.status is S.PUBLISHED
    await queue_idle(app)

    await app.queue.enqueue(job_id)  # and another one after the job is done
    await queue_idle(app)

    assert len(calls) == 1
    assert len(app.publisher.published) == 1  # type: ignore[attr-defined]
    assert events.names().count(EventName.POST_PUBLISHED) == 1
    assert await job_status(app, job_id) is JobStatus.DONE
    final = await app.generation.get(team.creator, post.id)
    assert final == published
