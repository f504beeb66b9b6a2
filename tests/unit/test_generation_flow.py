"""The generation flow on embedded adapters: cache, durable request, queue, worker, store."""

from __future__ import annotations

import asyncio

from tests.support import Team

from ghostart.app import Ghostart
from ghostart.models import PostStatus
from ghostart.testing import CountingGenerator


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
