"""The generation flow on embedded adapters: cache, durable request, queue, worker, store."""

from __future__ import annotations

import asyncio

from ghostart.app import Ghostart
from ghostart.models import PostStatus
from ghostart.testing import CountingGenerator
from tests.support import Team


async def test_request_is_drafted_then_served_from_cache(
    app: Ghostart, team: Team, generator: CountingGenerator
) -> None:
    post = await app.generation.request(team.employee, {"topic": "Hiring juniors well"})
    assert post.status is PostStatus.REQUESTED and not post.from_cache
    done = await app.generation.wait(team.employee, post.id, timeout=10)
    assert done.status is PostStatus.DRAFT and done.body and "synergy" not in done.body.lower()
    again = await app.generation.request(team.employee, {"topic": "  hiring JUNIORS well "})
    assert again.status is PostStatus.DRAFT and again.from_cache and again.body == done.body
    assert generator.count == 1


async def test_hundred_identical_concurrent_requests_make_one_generator_call(
    app: Ghostart, team: Team, generator: CountingGenerator
) -> None:
    gate = asyncio.Event()
    generator.gate = gate
    posts = await asyncio.gather(
        *(
            app.generation.request(team.creator, {"topic": "Our on-call rotation"})
            for _ in range(100)
        )
    )
    assert len({p.id for p in posts}) == 100
    gate.set()
    finished = await asyncio.gather(
        *(app.generation.wait(team.creator, p.id, timeout=20) for p in posts)
    )
    assert {p.status for p in finished} == {PostStatus.DRAFT}
    assert len({p.body for p in finished}) == 1
    assert generator.count == 1


async def test_waits_that_end_unanswered_leave_no_wakeup_behind(
    app: Ghostart, team: Team, generator: CountingGenerator
) -> None:
    gate = asyncio.Event()
    generator.gate = gate  # the generation hangs: every wait below times out
    post = await app.generation.request(team.employee, {"topic": "A slow provider"})
    waits = [
        app.generation.wait(team.employee, post.id, timeout=0.2, poll_interval=0.05)
        for _ in range(3)
    ]
    assert {p.status for p in await asyncio.gather(*waits)} <= {
        PostStatus.REQUESTED,
        PostStatus.GENERATING,
    }
    assert len(app.context.notifier) == 0
    # A wait in progress is still woken when the draft lands.
    waiting = asyncio.create_task(app.generation.wait(team.employee, post.id, timeout=10))
    await asyncio.sleep(0.05)
    assert len(app.context.notifier) == 1
    gate.set()
    assert (await waiting).status is PostStatus.DRAFT
    assert len(app.context.notifier) == 0
