"""Never twice through the core: the worker, the outbox and the LinkedIn publisher together.

LinkedIn accepts the post but the answer is lost (a timeout, or the worker dies waiting); the
next attempt, by the same or a new worker, finds the post instead of making it again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from ghostart.app import Ghostart
from ghostart.models import Post, PostStatus
from ghostart.retry import RetryPolicy
from ghostart_linkedin.fake import FakeLinkedIn
from ghostart_linkedin.publisher import LinkedInPublisher
from tests.adapters.linkedin.conftest import Connect, MakePublisher
from tests.support import Team, make_settings, make_team

AppFactory = Callable[[], Awaitable[Ghostart]]


@pytest.fixture
async def make_app(tmp_path: Path, make_publisher: MakePublisher) -> AsyncIterator[AppFactory]:
    """Apps on one SQLite file, each with its own LinkedIn publisher (a worker process each)."""
    apps: list[Ghostart] = []

    async def build() -> Ghostart:
        settings = make_settings(tmp_path / "home", job_max_attempts=3, shutdown_grace_seconds=0.2)
        app = Ghostart.from_settings(settings, publisher=make_publisher())
        app.context.retry = RetryPolicy(initial_backoff=0.01, max_backoff=0.02)
        await app.start()
        apps.append(app)
        return app

    yield build
    for app in apps:
        await app.aclose()


async def _approved(app: Ghostart, team: Team) -> Post:
    post = await app.generation.request(team.creator, {"topic": "Shipping the new onboarding"})
    post = await app.generation.wait(team.creator, post.id, timeout=10)
    return await app.posts.submit(team.creator, post.id)  # a brand creator's post: approved


async def _settled(app: Ghostart, team: Team, post: Post) -> Post:
    for _ in range(200):
        current = await app.generation.get(team.creator, post.id)
        if current.status in (PostStatus.PUBLISHED, PostStatus.FAILED):
            return current
        await asyncio.sleep(0.05)
    raise AssertionError(f"post stuck in {current.status}")


async def _ready(make_app: AppFactory, connect: Connect) -> tuple[Ghostart, Team, Post]:
    app = await make_app()
    team = await make_team(app)
    publisher = app.publisher
    assert isinstance(publisher, LinkedInPublisher)
    await connect(organization_id=team.org.id, user_id=team.creator.user_id, into=publisher)
    post = await _approved(app, team)
    assert post.status is PostStatus.APPROVED
    return app, team, post


async def test_a_timeout_after_linkedin_accepted_is_found_on_the_retry(
    make_app: AppFactory, connect: Connect, linkedin: FakeLinkedIn
) -> None:
    app, team, post = await _ready(make_app, connect)
    linkedin.fail_next("create", "timeout_after")
    await app.posts.publish_now(team.creator, post.id)
    done = await _settled(app, team, post)
    [made] = linkedin.posts
    assert done.status is PostStatus.PUBLISHED and done.external_id == made["id"]
    assert done.external_url == f"https://www.linkedin.com/feed/update/{made['id']}/"
    assert linkedin.calls("create") == 1 and linkedin.calls("list") == 1


async def test_a_worker_killed_mid_call_and_a_new_worker_publish_once(
    make_app: AppFactory, connect: Connect, linkedin: FakeLinkedIn
) -> None:
    first, team, post = await _ready(make_app, connect)
    linkedin.fail_next("create", "hang_after")
    await first.posts.publish_now(team.creator, post.id)
    await asyncio.wait_for(linkedin.hanging.wait(), timeout=10)
    assert (await first.generation.get(team.creator, post.id)).status is PostStatus.PUBLISHING
    await first.aclose()  # the worker dies waiting for LinkedIn's answer
    second = await make_app()  # a new worker, same database
    done = await _settled(second, team, post)
    [made] = linkedin.posts
    assert done.status is PostStatus.PUBLISHED and done.external_id == made["id"]
    assert linkedin.calls("create") == 1 and linkedin.calls("list") == 1


async def test_without_reading_posts_the_retry_ends_on_linkedins_duplicate_check(
    make_app: AppFactory, connect: Connect, linkedin: FakeLinkedIn
) -> None:
    linkedin.can_read_member_posts = False  # no r_member_social: find answers None
    app, team, post = await _ready(make_app, connect)
    linkedin.fail_next("create", "timeout_after")
    await app.posts.publish_now(team.creator, post.id)
    done = await _settled(app, team, post)
    [made] = linkedin.posts  # the retry was refused as DUPLICATE_POST: still one post
    assert done.status is PostStatus.PUBLISHED and done.external_id == made["id"]
    assert linkedin.calls("create") == 2


async def test_a_member_who_must_reconnect_gets_a_failed_post_that_says_so(
    make_app: AppFactory, connect: Connect, linkedin: FakeLinkedIn
) -> None:
    app, team, post = await _ready(make_app, connect)
    linkedin.fail_next("create", "revoked_token", "revoked_token")
    await app.posts.publish_now(team.creator, post.id)
    done = await _settled(app, team, post)
    assert done.status is PostStatus.FAILED and "connect" in (done.error or "")
    assert linkedin.posts == [] and linkedin.calls("token") == 1
