"""Content the provider refuses (ContentRejected) ends as a rejected post, never a draft."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

import ghostart
from ghostart.app import Ghostart
from ghostart.errors import ContentRejected, PermanentError
from ghostart.models import (
    GenerationStatus,
    JobStatus,
    PostStatus,
    Usage,
    allowed_transitions,
)
from ghostart.retry import RetryPolicy
from ghostart.testing import CountingGenerator, EventRecorder
from tests.support import make_settings, make_team

EVER = datetime(2000, 1, 1, tzinfo=UTC)


@pytest.fixture
async def quiet_app(tmp_path: Path) -> AsyncIterator[Ghostart]:
    app = Ghostart.from_settings(make_settings(tmp_path), generator=CountingGenerator())
    app.context.retry = RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.02)
    await app.start(worker=False)
    yield app
    await app.aclose()


def test_content_rejected_is_a_permanent_error_with_categories_and_usage() -> None:
    usage = Usage(prompt_tokens=10, completion_tokens=5, cost_usd=Decimal("0.01"))
    error = ContentRejected("flagged", categories=("hate",), usage=usage, provider="openai")
    assert isinstance(error, PermanentError) and error.code == "content_rejected"
    assert error.categories == ["hate"] and error.details["categories"] == ["hate"]
    assert error.usage == usage and error.provider == "openai"
    assert ghostart.ContentRejected is ContentRejected


def test_a_post_may_go_from_generating_to_rejected_and_back_to_draft_only() -> None:
    assert PostStatus.REJECTED in allowed_transitions(PostStatus.GENERATING)
    assert PostStatus.REJECTED in allowed_transitions(PostStatus.REQUESTED)
    assert allowed_transitions(PostStatus.REJECTED) == {PostStatus.DRAFT}


async def test_a_rejected_generation_rejects_every_joined_post(quiet_app: Ghostart) -> None:
    app = quiet_app
    generator = app.generator
    assert isinstance(generator, CountingGenerator)
    usage = Usage(prompt_tokens=700, completion_tokens=150, cost_usd=Decimal("0.000520"))
    generator.failures = [
        ContentRejected(
            "moderation flagged the draft (violence); it was not kept",
            categories=["violence"],
            usage=usage,
        )
    ]
    events = EventRecorder()
    app.plugins.register(events, name="events")
    team = await make_team(app)
    first = await app.generation.request(team.employee, {"topic": "A heated topic"})
    joined = await app.generation.request(team.creator, {"topic": "a HEATED topic"})
    assert first.generation_id is not None and joined.generation_id == first.generation_id
    app.start_worker()
    done = await app.generation.wait(team.employee, first.id, timeout=10, poll_interval=0.05)
    other = await app.generation.wait(team.creator, joined.id, timeout=10, poll_interval=0.05)

    reason = "moderation flagged the draft (violence); it was not kept"
    for post in (done, other):
        assert post.status is PostStatus.REJECTED and post.body is None
        assert post.error == reason and post.review_note == reason
    assert generator.count == 1  # not retried, neither in-process nor as a job
    async with app.store.unit_of_work() as uow:
        generation = await uow.generations.get(first.generation_id)
        [job] = await uow.jobs.for_subject(first.generation_id)
    assert generation is not None and generation.status is GenerationStatus.FAILED
    assert generation.error == reason and generation.body is None and generation.usage == usage
    assert job.status is JobStatus.FAILED and job.attempts == 1
    assert job.last_error == f"ContentRejected: {reason}"
    quota = await app.generation.quota(team.admin)
    # Like a failed generation it uses none of the plan's generations, and its tokens stay on
    # its own row (asserted above), out of the usage ledger: the ledger is succeeded ones only.
    assert (quota["used"], quota["prompt_tokens"], quota["completion_tokens"]) == (0, 0, 0)
    async with app.store.unit_of_work(readonly=True) as uow:
        ledger = await uow.usage.monthly(team.org.id, since=EVER, until=datetime.now(UTC))
    assert ledger == []
    [event] = [e for e in events.events if e.name == "content.failed"]
    assert event.payload["rejected"] is True and event.payload["categories"] == ["violence"]
    assert sorted(event.payload["post_ids"]) == sorted([str(first.id), str(joined.id)])
    assert app.monitor.counters.get("ghostart.generation.rejected")  # type: ignore[attr-defined]

    # Nothing was cached: asking again generates again.
    generator.failures = []
    again = await app.generation.request(team.employee, {"topic": "A heated topic"})
    assert not again.from_cache
    again = await app.generation.wait(team.employee, again.id, timeout=10, poll_interval=0.05)
    assert again.status is PostStatus.DRAFT and generator.count == 2

    # The author writes their own text: back to draft, the reason cleared.
    edited = await app.posts.edit(team.employee, done.id, "My own take on it.")
    assert edited.status is PostStatus.DRAFT and edited.error is None


async def test_a_rejection_without_usage_records_none(quiet_app: Ghostart) -> None:
    app = quiet_app
    assert isinstance(app.generator, CountingGenerator)
    app.generator.failures = [ContentRejected("the model declined to write this post")]
    team = await make_team(app)
    post = await app.generation.request(team.employee, {"topic": "Declined"})
    app.start_worker()
    done = await app.generation.wait(team.employee, post.id, timeout=10, poll_interval=0.05)
    assert done.status is PostStatus.REJECTED
    quota = await app.generation.quota(team.admin)
    assert quota["prompt_tokens"] == 0 and quota["used"] == 0
