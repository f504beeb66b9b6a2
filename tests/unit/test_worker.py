"""The worker: retries by the taxonomy, fails for good, acks duplicates, and the reconciler."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from tests.support import Team, make_settings, make_team

from ghostart.app import Ghostart
from ghostart.builtin.queue_memory import MemoryQueue
from ghostart.errors import PermanentError, TransientError
from ghostart.models import Job, JobKind, JobStatus, Post, PostStatus
from ghostart.retry import RetryPolicy
from ghostart.testing import CountingGenerator, EventRecorder


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
