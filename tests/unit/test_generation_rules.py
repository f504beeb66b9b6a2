"""Generation rules: input validation, tenancy, quota, rate limits, and generator failures."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from ghostart.app import Ghostart
from ghostart.errors import (
    InvalidInput,
    NotFound,
    PermanentError,
    QuotaExceeded,
    TooManyRequests,
    TransientError,
)
from ghostart.models import EventName, Post, PostStatus, Principal, Role
from ghostart.retry import RetryPolicy
from ghostart.testing import CountingGenerator, EventRecorder
from tests.support import Team, make_settings, make_team

S = PostStatus


async def post_count(app: Ghostart, team: Team) -> int:
    async with app.store.unit_of_work() as uow:
        return len(await uow.posts.list(team.org.id, limit=200))


async def job_counts(app: Ghostart) -> dict[str, int]:
    async with app.store.unit_of_work() as uow:
        return await uow.jobs.count_by_status()


async def finished(app: Ghostart, who: Principal, post: Post) -> Post:
    return await app.generation.wait(who, post.id, timeout=10)


async def started(generator: CountingGenerator, calls: int, within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while generator.count < calls:
        assert asyncio.get_running_loop().time() < deadline, "the generator was not called"
        await asyncio.sleep(0.01)


# --- input -------------------------------------------------------------------------------------

BAD_REQUESTS: list[tuple[dict[str, Any], str]] = [
    ({}, "topic"),
    ({"topic": ""}, "topic"),
    ({"topic": "   "}, "topic"),
    ({"topic": "x" * 10_000}, "topic"),
    ({"topic": "Hiring well", "language": "english!"}, "language"),
    ({"topic": "Hiring well", "language": "EN"}, "language"),
    ({"topic": "Hiring well", "format": "haiku"}, "format"),
    ({"topic": "Hiring well", "length": "epic"}, "length"),
    ({"topic": "Hiring well", "call_to_action": "c" * 201}, "call_to_action"),
    ({"topic": "Hiring well", "brand_voice_id": "not-a-uuid"}, "brand_voice_id"),
    ({"topic": "Hiring well", "temperature": 2}, "temperature"),
]


async def test_bad_requests_are_invalid_input_naming_the_field(
    app: Ghostart, team: Team, generator: CountingGenerator
) -> None:
    for request, field in BAD_REQUESTS:
        with pytest.raises(InvalidInput) as info:
            await app.generation.request(team.employee, request)
        assert info.value.field == field, request
        assert str(info.value).startswith(f"{field}: "), str(info.value)
        assert info.value.code == "invalid_input"
    assert await post_count(app, team) == 0
    assert await job_counts(app) == {}
    assert generator.count == 0


async def test_language_error_explains_the_expected_form(app: Ghostart, team: Team) -> None:
    with pytest.raises(InvalidInput, match="language tag"):
        await app.generation.request(team.employee, {"topic": "Hiring well", "language": "english"})
    ok = await app.generation.request(team.employee, {"topic": "Hiring well", "language": "pt-BR"})
    assert ok.request is not None
    assert ok.request.language == "pt-BR"


async def test_unknown_organization_is_not_found(app: Ghostart, team: Team) -> None:
    stray = Principal(user_id=team.admin.user_id, organization_id=uuid4(), role=Role.ADMIN)
    with pytest.raises(NotFound, match="organization"):
        await app.generation.request(stray, {"topic": "Hiring well"})
    assert await job_counts(app) == {}


async def test_unknown_or_foreign_brand_voice_is_not_found(app: Ghostart, team: Team) -> None:
    with pytest.raises(NotFound, match="brand voice"):
        await app.generation.request(
            team.employee, {"topic": "Hiring well", "brand_voice_id": uuid4()}
        )
    other = await make_team(app, "Other")
    with pytest.raises(NotFound, match="brand voice"):
        await app.generation.request(
            team.employee, {"topic": "Hiring well", "brand_voice_id": other.voice.id}
        )
    assert await post_count(app, team) == 0


async def test_the_chosen_brand_voice_is_used(
    app: Ghostart, team: Team, generator: CountingGenerator
) -> None:
    second = await app.brand_voices.create(team.creator, {"name": "Second voice", "tone": "dry"})
    post = await app.generation.request(
        team.employee, {"topic": "Hiring well", "brand_voice_id": second.id}
    )
    assert post.brand_voice_id == second.id
    assert (await finished(app, team.employee, post)).status is S.DRAFT
    assert generator.calls[-1][0].id == second.id
    default = await app.generation.request(team.employee, {"topic": "Hiring well"})
    assert default.brand_voice_id == team.voice.id  # the first voice, and a different generation
    assert not default.from_cache


async def test_organization_without_a_brand_voice_is_invalid_input(app: Ghostart) -> None:
    user = await app.organizations.ensure_user("lonely@example.com")
    _, admin = await app.organizations.create(user.id, "Voiceless")
    with pytest.raises(InvalidInput, match="brand voice") as info:
        await app.generation.request(admin, {"topic": "Hiring well"})
    assert info.value.field == "brand_voice_id"


# --- quota and rate limits ---------------------------------------------------------------------


async def test_quota_is_checked_before_anything_is_queued(tmp_path: Path) -> None:
    generator = CountingGenerator(gate=asyncio.Event())
    settings = make_settings(tmp_path / "quota", default_monthly_generations=2)
    async with Ghostart.from_settings(settings, generator=generator) as app:
        team = await make_team(app)
        a = await app.generation.request(team.employee, {"topic": "First topic"})
        b = await app.generation.request(team.creator, {"topic": "Second topic"})
        await started(generator, 2)  # both held at the gate: nothing else will call it

        posts, jobs, calls = await post_count(app, team), await job_counts(app), generator.count
        with pytest.raises(QuotaExceeded) as info:
            await app.generation.request(team.employee, {"topic": "Third topic"})
        assert "2 generations a month" in str(info.value)
        assert "free" in str(info.value)
        assert info.value.code == "quota_exceeded"
        assert await post_count(app, team) == posts
        assert await job_counts(app) == jobs
        assert generator.count == calls

        # Joining a generation in flight costs nothing, even with the quota used up.
        joined = await app.generation.request(team.admin, {"topic": "first TOPIC"})
        assert joined.generation_id == a.generation_id

        generator.gate.set()  # type: ignore[union-attr]
        for who, post in ((team.employee, a), (team.creator, b), (team.admin, joined)):
            assert (await finished(app, who, post)).status is S.DRAFT
        assert generator.count == 2

        # Cache hits cost nothing either.
        hit = await app.generation.request(team.employee, {"topic": "Second topic"})
        assert hit.from_cache
        assert hit.status is S.DRAFT

        quota = await app.generation.quota(team.employee)
        assert (quota["plan"], quota["used"], quota["limit"]) == ("free", 2, 2)
        with pytest.raises(QuotaExceeded):
            await app.generation.request(team.employee, {"topic": "Third topic"})
        assert generator.count == 2


async def test_quota_report(app: Ghostart, team: Team) -> None:
    before = await app.generation.quota(team.employee)
    assert before == {"plan": "free", "limit": 100, "used": 0}
    post = await app.generation.request(team.employee, {"topic": "Counting what we use"})
    await finished(app, team.employee, post)
    await app.generation.request(team.employee, {"topic": "counting what we use"})  # cache hit
    assert (await app.generation.quota(team.employee))["used"] == 1
    detailed = await app.generation.quota(team.creator)
    assert detailed["used"] == 1
    assert {"prompt_tokens", "completion_tokens", "cost_usd"} <= set(detailed)


async def test_rate_limit(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "rate", generation_rate_limit=3)
    async with Ghostart.from_settings(settings, generator=CountingGenerator()) as app:
        team = await make_team(app)
        for i in range(3):
            await app.generation.request(team.employee, {"topic": f"Topic number {i}"})
        with pytest.raises(TooManyRequests) as info:
            await app.generation.request(team.employee, {"topic": "One too many"})
        assert info.value.retry_after is not None
        assert 0 < info.value.retry_after <= 60
        assert "3 generation requests a minute" in str(info.value)
        assert await post_count(app, team) == 3
        # The limit is per member: a colleague is not held back.
        other = await app.generation.request(team.creator, {"topic": "One too many"})
        assert other.status in (S.REQUESTED, S.GENERATING)


# --- generator failures ------------------------------------------------------------------------


async def test_permanent_generator_failure_fails_the_post(
    app: Ghostart, team: Team, generator: CountingGenerator, events: EventRecorder
) -> None:
    generator.failures.append(PermanentError("nope"))
    post = await app.generation.request(team.employee, {"topic": "Doomed topic"})
    failed = await finished(app, team.employee, post)
    assert failed.status is S.FAILED
    assert failed.error is not None
    assert "nope" in failed.error
    assert generator.count == 1  # a permanent error is not retried
    event = next(e for e in events.events if e.name == EventName.CONTENT_FAILED)
    assert event.payload["post_ids"] == [str(post.id)]
    assert "nope" in event.payload["error"]
    assert EventName.CONTENT_GENERATED not in events.names()
    # A failed generation neither counts against the quota nor is cached.
    assert (await app.generation.quota(team.employee))["used"] == 0
    retry = await app.generation.request(team.employee, {"topic": "Doomed topic"})
    assert not retry.from_cache
    assert retry.generation_id != post.generation_id
    assert (await finished(app, team.employee, retry)).status is S.DRAFT
    assert generator.count == 2


async def test_transient_failures_are_retried_in_process(
    app: Ghostart, team: Team, generator: CountingGenerator, events: EventRecorder
) -> None:
    app.context.retry = RetryPolicy(initial_backoff=0.01, max_backoff=0.02, monitor=app.monitor)
    generator.failures.extend([TransientError("blip"), TransientError("blip")])
    post = await app.generation.request(team.employee, {"topic": "Flaky provider"})
    done = await finished(app, team.employee, post)
    assert done.status is S.DRAFT
    assert done.body
    assert done.error is None
    assert generator.count == 3
    assert EventName.CONTENT_FAILED not in events.names()


async def test_content_generated_lists_every_joined_post_and_author(
    app: Ghostart, team: Team, generator: CountingGenerator, events: EventRecorder
) -> None:
    generator.gate = asyncio.Event()
    by_employee = await app.generation.request(team.employee, {"topic": "Shared topic"})
    by_creator = await app.generation.request(team.creator, {"topic": "  shared   TOPIC "})
    assert by_creator.generation_id == by_employee.generation_id
    generator.gate.set()
    for who, post in ((team.employee, by_employee), (team.creator, by_creator)):
        assert (await finished(app, who, post)).status is S.DRAFT
    assert generator.count == 1
    [event] = [e for e in events.events if e.name == EventName.CONTENT_GENERATED]
    assert event.organization_id == team.org.id
    assert event.payload["generation_id"] == str(by_employee.generation_id)
    assert sorted(event.payload["post_ids"]) == sorted([str(by_employee.id), str(by_creator.id)])
    assert event.payload["author_ids"] == sorted(
        [str(team.employee.user_id), str(team.creator.user_id)]
    )
