"""The worker: retries by the taxonomy, fails for good, acks duplicates, and the reconciler."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from ghostart.app import Ghostart
from ghostart.builtin.queue_memory import MemoryQueue
from ghostart.errors import PermanentError, TransientError
from ghostart.models import Job, JobKind, JobStatus, OrganizationSettings, Post, PostStatus
from ghostart.ports import BatchQueue, Delivery
from ghostart.retry import RetryPolicy
from ghostart.testing import CountingGenerator, EventRecorder
from tests.support import Team, make_settings, make_team


@pytest.fixture
async def quiet_app(tmp_path: Path) -> AsyncIterator[Ghostart]:
    """An app whose worker is started by the test, with fast retries and short leases."""
    settings = make_settings(
        tmp_path, job_lease_seconds=0.3, job_max_attempts=3, shutdown_grace_seconds=0.1
    )
    app = Ghostart.from_settings(settings, generator=CountingGenerator())
    app.context.retry = RetryPolicy(
        max_attempts=1, initial_backoff=0.01, max_backoff=0.02, monitor=app.monitor
    )
    await app.start(worker=False)
    yield app
    await app.aclose()


async def _jobs(app: Ghostart, post: Post) -> list[Job]:
    assert post.generation_id is not None
    async with app.store.unit_of_work() as uow:
        return await uow.jobs.for_subject(post.generation_id)


async def test_transient_failures_are_retried_as_jobs_then_fail_for_good(
    quiet_app: Ghostart,
) -> None:
    app = quiet_app
    generator = app.generator
    assert isinstance(generator, CountingGenerator)
    generator.failures = [TransientError("503") for _ in range(5)]
    events = EventRecorder()
    app.plugins.register(events, name="events")
    team = await make_team(app)
    post = await app.generation.request(team.employee, {"topic": "A flaky provider"})
    app.start_worker()
    done = await app.generation.wait(team.employee, post.id, timeout=10, poll_interval=0.05)
    assert done.status is PostStatus.FAILED and "503" in (done.error or "")
    [job] = await _jobs(app, post)
    assert job.status is JobStatus.FAILED and job.attempts == 3
    assert generator.count == 3
    assert "content.failed" in events.names()


async def test_transient_then_success_completes(quiet_app: Ghostart) -> None:
    app = quiet_app
    assert isinstance(app.generator, CountingGenerator)
    app.generator.failures = [TransientError("timeout")]
    team = await make_team(app)
    post = await app.generation.request(team.employee, {"topic": "Second time lucky"})
    app.start_worker()
    done = await app.generation.wait(team.employee, post.id, timeout=10, poll_interval=0.05)
    assert done.status is PostStatus.DRAFT
    [job] = await _jobs(app, post)
    assert job.status is JobStatus.DONE and job.attempts == 2 and job.last_error is None


async def test_permanent_failure_is_not_retried(quiet_app: Ghostart) -> None:
    app = quiet_app
    assert isinstance(app.generator, CountingGenerator)
    app.generator.failures = [PermanentError("content policy")]
    team = await make_team(app)
    post = await app.generation.request(team.employee, {"topic": "Refused"})
    app.start_worker()
    done = await app.generation.wait(team.employee, post.id, timeout=10, poll_interval=0.05)
    assert done.status is PostStatus.FAILED and app.generator.count == 1


async def test_a_provider_error_tells_the_author_its_message(quiet_app: Ghostart) -> None:
    app = quiet_app
    assert isinstance(app.generator, CountingGenerator)
    app.generator.failures = [PermanentError("the provider refused this topic")]
    team = await make_team(app)
    post = await app.generation.request(team.employee, {"topic": "Refused politely"})
    app.start_worker()
    done = await app.generation.wait(team.employee, post.id, timeout=10, poll_interval=0.05)
    assert done.error == "the provider refused this topic"
    [job] = await _jobs(app, post)
    assert job.last_error == "PermanentError: the provider refused this topic"


async def test_an_unexpected_error_reaches_operators_not_the_author(quiet_app: Ghostart) -> None:
    app = quiet_app
    assert isinstance(app.generator, CountingGenerator)
    leak = "connection to 10.0.0.7:5432 failed: password authentication for role\x00app"
    app.generator.failures = [RuntimeError(leak) for _ in range(5)]
    events = EventRecorder()
    app.plugins.register(events, name="events")
    team = await make_team(app)
    post = await app.generation.request(team.employee, {"topic": "Broken internals"})
    app.start_worker()
    done = await app.generation.wait(team.employee, post.id, timeout=10, poll_interval=0.05)

    assert done.status is PostStatus.FAILED
    assert done.error == "an internal error stopped this job; it has been reported"
    [failed] = [e for e in events.events if e.name == "content.failed"]
    assert "10.0.0.7" not in str(failed.payload)
    [job] = await _jobs(app, post)
    assert job.last_error is not None and "10.0.0.7:5432" in job.last_error
    assert "\x00" not in job.last_error  # PostgreSQL refuses NUL in text


async def test_duplicate_delivery_of_a_done_job_has_no_effect(quiet_app: Ghostart) -> None:
    app = quiet_app
    team = await make_team(app)
    worker = app.start_worker()
    post = await app.generation.request(team.employee, {"topic": "Delivered twice"})
    await app.generation.wait(team.employee, post.id, timeout=10, poll_interval=0.05)
    [job] = await _jobs(app, post)
    await app.queue.enqueue(job.id)
    await app.queue.enqueue(job.id)
    await asyncio.sleep(0.3)
    assert isinstance(app.generator, CountingGenerator) and app.generator.count == 1
    assert worker.processed == 1
    assert (await _jobs(app, post))[0].attempts == 1


async def test_reconciler_requeues_work_the_queue_lost(quiet_app: Ghostart) -> None:
    app = quiet_app
    team = await make_team(app)
    post = await app.generation.request(team.employee, {"topic": "The queue was flushed"})
    # Lose the queue (a Redis flush, a restarted process): only the outbox row remains.
    fresh = MemoryQueue(visibility_timeout=0.3)
    app.queue = app.context.queue = fresh
    app.start_worker()
    done = await app.generation.wait(team.employee, post.id, timeout=10, poll_interval=0.05)
    assert done.status is PostStatus.DRAFT
    assert app.monitor.counters["ghostart.reconciler.requeued"] >= 1  # type: ignore[attr-defined]


async def test_job_without_handler_fails_clearly(quiet_app: Ghostart, tmp_path: Path) -> None:
    app = quiet_app
    team: Team = await make_team(app)
    job = Job(
        kind=JobKind.EMAIL,
        organization_id=team.org.id,
        subject_id=team.org.id,
        idempotency_key="email:x",
    )
    async with app.store.unit_of_work() as uow:
        await uow.jobs.add(job)
    await app.queue.enqueue(job.id)
    app.start_worker()
    for _ in range(50):
        async with app.store.unit_of_work() as uow:
            stored = await uow.jobs.get(job.id)
        if stored and stored.status is JobStatus.FAILED:
            break
        await asyncio.sleep(0.05)
    assert stored is not None and stored.status is JobStatus.FAILED
    assert stored.last_error == "no handler for email"


async def test_stop_releases_a_running_job(quiet_app: Ghostart) -> None:
    app = quiet_app
    gate = asyncio.Event()
    assert isinstance(app.generator, CountingGenerator)
    app.generator.gate = gate
    team = await make_team(app)
    post = await app.generation.request(team.employee, {"topic": "Stopped midway"})
    app.start_worker()
    await asyncio.wait_for(app.generator.started.wait(), 5)
    await app.stop_worker()
    [job] = await _jobs(app, post)
    assert job.status is JobStatus.QUEUED and job.lease_owner is None and job.attempts == 1
    gate.set()
    app.start_worker()
    for _ in range(100):
        if (await _jobs(app, post))[0].status is JobStatus.DONE:
            break
        await asyncio.sleep(0.05)
    assert (await _jobs(app, post))[0].status is JobStatus.DONE


async def test_a_worker_that_loses_its_lease_stops_and_writes_nothing(quiet_app: Ghostart) -> None:
    app = quiet_app
    gate = asyncio.Event()
    assert isinstance(app.generator, CountingGenerator)
    app.generator.gate = gate  # the generation hangs until the lease is gone
    team = await make_team(app)
    post = await app.generation.request(team.employee, {"topic": "A stolen lease"})
    worker = app.start_worker()
    await asyncio.wait_for(app.generator.started.wait(), 5)
    [job] = await _jobs(app, post)
    # Another worker takes the job over (as after a long pause of this one).
    async with app.store.unit_of_work() as uow:
        later = app.clock.now() + timedelta(seconds=1)
        assert await uow.jobs.finish(
            job.id, owner=worker.owner, status="queued", now=later, run_at=later
        )
        assert await uow.jobs.claim(
            job.id, owner="other", now=later, lease_until=later + timedelta(hours=1)
        )
    for _ in range(40):  # the heartbeat (every lease / 3 = 0.1 s) notices and stops the work
        await asyncio.sleep(0.05)
        if worker.in_flight == 0:
            break
    assert worker.in_flight == 0
    gate.set()
    await asyncio.sleep(0.1)
    [job] = await _jobs(app, post)
    assert job.lease_owner == "other" and job.status is JobStatus.RUNNING
    assert (await app.generation.get(team.employee, post.id)).status is PostStatus.GENERATING


class _BeginFails:
    """A handler whose begin writes, then raises (the first ``failures`` times)."""

    def __init__(self, app: Ghostart, errors: list[Exception]) -> None:
        self.app, self.errors, self.handled, self.failed = app, errors, 0, []

    async def begin(self, uow: object, job: Job, owner: str) -> object:
        await uow.organizations.update_settings(  # type: ignore[attr-defined]
            job.subject_id, OrganizationSettings(employee_posts_need_approval=False)
        )
        if self.errors:
            raise self.errors.pop(0)
        return "begun"

    async def handle(self, job: Job, owner: str, begun: object) -> None:
        assert begun == "begun"
        self.handled += 1
        async with self.app.store.unit_of_work() as uow:
            await uow.jobs.finish(
                job.id, owner=owner, status=JobStatus.DONE, now=self.app.clock.now()
            )

    async def on_failed(self, uow: object, job: Job, error: str) -> list[object]:
        self.failed.append(error)
        return []


async def _email_job(app: Ghostart, team: Team, handler: _BeginFails) -> Job:
    app.handlers[JobKind.EMAIL] = handler  # type: ignore[assignment]
    job = Job(
        kind=JobKind.EMAIL, organization_id=team.org.id, subject_id=team.org.id, idempotency_key="e"
    )
    async with app.store.unit_of_work() as uow:
        await uow.jobs.add(job)
    await app.queue.enqueue(job.id)
    return job


async def _settled(app: Ghostart, job: Job) -> Job:
    for _ in range(100):
        async with app.store.unit_of_work(readonly=True) as uow:
            stored = await uow.jobs.get(job.id)
        assert stored is not None
        if stored.status in (JobStatus.DONE, JobStatus.FAILED):
            return stored
        await asyncio.sleep(0.05)
    raise AssertionError(f"job still {stored.status}")


async def test_a_failing_begin_rolls_back_with_the_claim_and_counts_as_an_attempt(
    quiet_app: Ghostart,
) -> None:
    app = quiet_app
    team = await make_team(app)
    handler = _BeginFails(app, [TransientError("store hiccup"), PermanentError("bad subject")])
    job = await _email_job(app, team, handler)
    app.start_worker()
    stored = await _settled(app, job)
    # Two claims counted; the transient error was retried, the permanent one failed the job.
    assert (stored.status, stored.attempts) == (JobStatus.FAILED, 2)
    assert "bad subject" in (stored.last_error or "") and handler.failed
    assert handler.handled == 0
    async with app.store.unit_of_work(readonly=True) as uow:
        org = await uow.organizations.get(team.org.id)
    # begin's write never committed: it was rolled back with each failed claim.
    assert org is not None and org.settings.employee_posts_need_approval is True


async def test_a_begin_that_succeeds_commits_with_the_claim_and_hands_over(
    quiet_app: Ghostart,
) -> None:
    app = quiet_app
    team = await make_team(app)
    handler = _BeginFails(app, [])
    job = await _email_job(app, team, handler)
    app.start_worker()
    stored = await _settled(app, job)
    assert (stored.status, stored.attempts, handler.handled) == (JobStatus.DONE, 1, 1)
    async with app.store.unit_of_work(readonly=True) as uow:
        org = await uow.organizations.get(team.org.id)
    assert org is not None and org.settings.employee_posts_need_approval is False


class _PlainQueue:
    """A Queue without ``receive_many``: the worker falls back to one ``receive`` per job."""

    def __init__(self, inner: MemoryQueue) -> None:
        self.inner = inner
        self.receives = 0

    async def enqueue(self, job_id: uuid.UUID, *, delay: float = 0.0) -> None:
        await self.inner.enqueue(job_id, delay=delay)

    async def receive(self, *, timeout: float) -> Delivery | None:
        self.receives += 1
        return await self.inner.receive(timeout=timeout)

    async def ack(self, delivery: Delivery) -> None:
        await self.inner.ack(delivery)

    async def nack(self, delivery: Delivery, *, delay: float = 0.0) -> None:
        await self.inner.nack(delivery, delay=delay)

    async def extend(self, delivery: Delivery, *, seconds: float) -> None:
        await self.inner.extend(delivery, seconds=seconds)


@pytest.mark.parametrize("batch", [True, False], ids=["BatchQueue", "plain Queue"])
async def test_the_worker_runs_every_job_from_a_batch_or_a_plain_queue(
    quiet_app: Ghostart, batch: bool
) -> None:
    app = quiet_app
    inner = MemoryQueue(visibility_timeout=5)
    queue = inner if batch else _PlainQueue(inner)
    assert isinstance(queue, BatchQueue) is batch
    app.queue = app.context.queue = queue
    team = await make_team(app)
    posts = [
        await app.generation.request(team.employee, {"topic": f"Topic {i}"}) for i in range(12)
    ]
    app.start_worker()
    for post in posts:
        done = await app.generation.wait(team.employee, post.id, timeout=10, poll_interval=0.05)
        assert done.status is PostStatus.DRAFT
    assert isinstance(app.generator, CountingGenerator) and app.generator.count == 12
    if isinstance(queue, _PlainQueue):
        assert queue.receives >= 12
