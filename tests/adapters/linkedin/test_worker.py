"""Publishing through the real worker, wired as in production, on SQLite and PostgreSQL.

- Never twice: LinkedIn accepts the post but the worker dies waiting for the answer. The kill
  leaves the rows as SIGKILL does (the job ``running`` under a lease nobody renews, the post
  ``publishing``); a new worker on the same database takes the job over when the lease ends,
  finds the post (or is told it is a duplicate) and marks it published: one post on LinkedIn.
- LinkedIn's daily limit defers the post to midnight UTC without spending its attempts.
- Scheduled posts go out at their time; reminders and reconnect events are sent once.

The kill is in-process (the worker task cancelled with its shutdown release disabled) rather
than a SIGKILLed subprocess: the fake LinkedIn is respx, which counts requests only in this
process, and the database rows a SIGKILL leaves behind are exactly reproduced.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ghostart.app import Ghostart
from ghostart.models import EventName, JobStatus, Post, PostStatus
from ghostart.services.events import CLAIM, EventRedelivery
from ghostart.testing import ManualClock
from ghostart_linkedin.connections import ConnectionKey
from ghostart_linkedin.fake import FakeLinkedIn
from tests.adapters.linkedin.conftest import Connect
from tests.adapters.linkedin.wired import Recorder, linkedin_env, wired_app
from tests.support import Team, make_team

AppFactory = Callable[..., Awaitable[Ghostart]]


@pytest.fixture(params=["sqlite", "postgres"])
async def make_app(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    clock: ManualClock,
    linkedin: FakeLinkedIn,
) -> AsyncIterator[AppFactory]:
    """Apps (one per "process") on one database, sharing the test's clock."""
    linkedin_env(monkeypatch)
    linkedin.now = clock.now
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    apps: list[Ghostart] = []

    async def build(**settings: Any) -> Ghostart:
        app = await wired_app(tmp_path / "home", clock, database_url=url, **settings)
        apps.append(app)
        return app

    yield build
    for app in apps:
        await app.aclose()


async def _approved(app: Ghostart, team: Team) -> Post:
    post = await app.generation.request(team.creator, {"topic": "Shipping the new onboarding"})
    post = await app.generation.wait(team.creator, post.id, timeout=10)
    post = await app.posts.submit(team.creator, post.id)  # a brand creator's post: approved
    assert post.status is PostStatus.APPROVED
    return post


async def _until(
    app: Ghostart, team: Team, post: Post, *statuses: PostStatus, tick: ManualClock | None = None
) -> Post:
    """Wait for ``post`` to reach one of ``statuses``; ``tick`` moves the clock meanwhile.

    A job's retry is due a moment after its failure by the app's clock, which in these tests
    moves only when told.
    """
    for _ in range(400):
        current = await app.generation.get(team.creator, post.id)
        if current.status in statuses:
            return current
        if tick is not None:
            tick.advance(1)
        await asyncio.sleep(0.025)
    raise AssertionError(f"post stuck in {current.status}")


async def _ready(
    make_app: AppFactory, connect: Connect, **settings: Any
) -> tuple[Ghostart, Team, Post]:
    app = await make_app(**settings)
    team = await make_team(app)
    await connect(organization_id=team.org.id, user_id=team.creator.user_id, into=app.publisher)
    return app, team, await _approved(app, team)


async def _kill(app: Ghostart) -> None:
    """Stop ``app``'s worker as SIGKILL would: its running job is not released, nor finished."""
    assert app.worker is not None

    async def dead(*_: Any) -> None:  # a killed process runs no shutdown code
        return None

    app.worker._release = dead  # type: ignore[method-assign]
    await app.aclose()


@pytest.mark.parametrize("readable", [True, False], ids=["found", "duplicate"])
async def test_a_worker_killed_after_linkedin_accepted_and_a_new_worker_publish_once(
    make_app: AppFactory,
    connect: Connect,
    linkedin: FakeLinkedIn,
    clock: ManualClock,
    readable: bool,
) -> None:
    # readable: find sees the post (r_member_social); otherwise LinkedIn's 422 DUPLICATE_POST
    # on the new worker's create is what stops a second post.
    linkedin.can_read_member_posts = readable
    first, team, post = await _ready(make_app, connect)
    linkedin.fail_next("create", "hang_after")  # LinkedIn creates it; the answer never comes
    await first.posts.publish_now(team.creator, post.id)
    await asyncio.wait_for(linkedin.hanging.wait(), timeout=10)
    assert len(linkedin.posts) == 1
    await _kill(first)

    clock.advance(first.settings.job_lease_seconds + 1)  # the dead worker's lease runs out
    second = await make_app()
    async with second.store.unit_of_work(readonly=True) as uow:
        [job] = await uow.jobs.for_subject(post.id)
        stuck = await uow.posts.get(team.org.id, post.id)
    assert job.status is JobStatus.RUNNING and job.attempts == 1  # as the kill left it
    assert stuck is not None and stuck.status is PostStatus.PUBLISHING

    done = await _until(second, team, post, PostStatus.PUBLISHED, PostStatus.FAILED)
    [made] = linkedin.posts
    assert done.status is PostStatus.PUBLISHED and done.external_id == made["id"]
    assert done.external_url == f"https://www.linkedin.com/feed/update/{made['id']}/"
    if readable:
        assert linkedin.calls("create") == 1 and linkedin.calls("list") == 1
    else:  # the second create reached LinkedIn and was refused: still one post
        assert linkedin.calls("create") == 2


async def test_a_timeout_after_linkedin_accepted_is_found_by_the_jobs_retry(
    make_app: AppFactory, connect: Connect, linkedin: FakeLinkedIn, clock: ManualClock
) -> None:
    app, team, post = await _ready(make_app, connect)
    linkedin.fail_next("create", "timeout_after")
    await app.posts.publish_now(team.creator, post.id)
    done = await _until(app, team, post, PostStatus.PUBLISHED, PostStatus.FAILED, tick=clock)
    [made] = linkedin.posts
    assert done.status is PostStatus.PUBLISHED and done.external_id == made["id"]
    assert linkedin.calls("create") == 1 and linkedin.calls("list") == 1


async def test_an_older_post_with_the_same_words_is_not_taken_for_this_attempt(
    make_app: AppFactory, connect: Connect, linkedin: FakeLinkedIn, clock: ManualClock
) -> None:
    app, team, post = await _ready(make_app, connect)
    assert post.body is not None
    old_urn = "urn:li:share:6000000000000000001"  # posted by hand a month before
    linkedin.posts.append(
        {"id": old_urn, "author": "urn:li:person:782bbtaQ", "commentary": post.body}
    )
    linkedin._created_ms[old_urn] = int((clock.now() - timedelta(days=30)).timestamp() * 1000)
    linkedin.fail_next("create", "timeout")  # nothing was made: the retry must not stop at find
    await app.posts.publish_now(team.creator, post.id)
    done = await _until(app, team, post, PostStatus.PUBLISHED, PostStatus.FAILED, tick=clock)
    assert done.status is PostStatus.PUBLISHED and done.external_id != old_urn
    assert linkedin.calls("list") == 1 and linkedin.calls("create") == 2


async def test_linkedins_daily_limit_defers_to_midnight_utc_without_spending_attempts(
    make_app: AppFactory, connect: Connect, linkedin: FakeLinkedIn, clock: ManualClock
) -> None:
    app, team, post = await _ready(make_app, connect)  # job_max_attempts is 3
    days = 4
    linkedin.fail_next("create", *["throttled_application"] * days)
    await app.posts.publish_now(team.creator, post.id)
    for day in range(days):
        midnight = datetime.combine(
            clock.now().date() + timedelta(days=1), datetime.min.time(), UTC
        )
        for _ in range(400):  # the deferral is written when the post is scheduled again
            deferred = await app.generation.get(team.creator, post.id)
            if deferred.status is PostStatus.SCHEDULED and deferred.scheduled_at == midnight:
                break
            await asyncio.sleep(0.025)
        assert deferred.status is PostStatus.SCHEDULED and deferred.scheduled_at == midnight
        assert "daily limit" in (deferred.error or "")
        assert linkedin.calls("create") == day + 1
        async with app.store.unit_of_work(readonly=True) as uow:
            jobs = await uow.jobs.for_subject(post.id)
        assert [j.status for j in jobs] == [JobStatus.DONE] * (day + 1) + [JobStatus.QUEUED]
        assert jobs[-1].attempts == 0 and jobs[-1].run_at == midnight
        clock.set(midnight + timedelta(seconds=1))  # LinkedIn's day is over
    done = await _until(app, team, post, PostStatus.PUBLISHED, PostStatus.FAILED)
    assert done.status is PostStatus.PUBLISHED and done.error is None
    assert len(linkedin.posts) == 1 and linkedin.calls("create") == days + 1


async def test_a_scheduled_post_goes_out_at_its_time_in_its_authors_name(
    make_app: AppFactory, connect: Connect, linkedin: FakeLinkedIn, clock: ManualClock
) -> None:
    app, team, post = await _ready(make_app, connect)
    at = clock.now() + timedelta(hours=2)
    await app.posts.schedule(team.creator, post.id, at)
    assert app.worker is not None
    assert await app.worker.reconcile_once() == 0  # not due: nothing is queued again
    assert linkedin.calls("create") == 0
    clock.set(at + timedelta(seconds=1))
    done = await _until(app, team, post, PostStatus.PUBLISHED, PostStatus.FAILED)
    [made] = linkedin.posts
    assert done.status is PostStatus.PUBLISHED and made["author"] == "urn:li:person:782bbtaQ"


async def test_a_revoked_token_fails_the_post_and_emits_one_reconnect_event(
    make_app: AppFactory, connect: Connect, linkedin: FakeLinkedIn
) -> None:
    recorder = Recorder()
    app, team, post = await _ready(make_app, connect, recorder=recorder)
    linkedin.fail_next("create", "revoked_token", "revoked_token")
    await app.posts.publish_now(team.creator, post.id)
    done = await _until(app, team, post, PostStatus.PUBLISHED, PostStatus.FAILED)
    assert done.status is PostStatus.FAILED and "connect" in (done.error or "")
    [event] = recorder.named(EventName.LINKEDIN_NEEDS_RECONNECT)
    assert event.payload["reason"] == "revoked" and event.organization_id == team.org.id
    async with app.store.unit_of_work(readonly=True) as uow:
        row = await uow.linkedin_connections.get(team.org.id, team.creator.user_id, "member")
    assert row is not None and row.needs_reconnect and row.reconnect_reason == "revoked"
    assert linkedin.posts == [] and linkedin.calls("token") == 1


async def test_the_worker_reminds_once_a_week_before_a_token_without_refresh_expires(
    make_app: AppFactory, connect: Connect, clock: ManualClock
) -> None:
    recorder = Recorder()
    app = await make_app(recorder=recorder)
    team = await make_team(app)
    await connect(
        organization_id=team.org.id,
        user_id=team.employee.user_id,
        refresh=False,
        into=app.publisher,
    )
    await connect(  # a refresh token: no reminder, it is refreshed instead
        organization_id=team.org.id, user_id=team.creator.user_id, refresh=True, into=app.publisher
    )
    assert app.worker is not None
    clock.advance(52 * 86400)  # 8 days left: not yet
    await app.publisher.maintain()  # type: ignore[attr-defined]
    assert recorder.named(EventName.LINKEDIN_EXPIRING) == []
    clock.advance(2 * 86400)  # 6 days left; the reconciler's next round sends it
    for _ in range(400):
        if recorder.named(EventName.LINKEDIN_EXPIRING):
            break
        await asyncio.sleep(0.025)
    for _ in range(3):  # later rounds (hours apart) do not send it again
        clock.advance(2 * 3600)
        await app.publisher.maintain()  # type: ignore[attr-defined]
    [event] = recorder.named(EventName.LINKEDIN_EXPIRING)
    assert event.payload["user_id"] == str(team.employee.user_id)


async def test_a_limit_hit_while_checking_an_earlier_attempt_keeps_the_post_publishing(
    make_app: AppFactory, connect: Connect, linkedin: FakeLinkedIn, clock: ManualClock
) -> None:
    app, team, post = await _ready(make_app, connect)
    # The create lands but its answer is lost; the retry's find is then refused for the day.
    linkedin.fail_next("create", "timeout_after")
    linkedin.fail_next("list", "throttled")
    await app.posts.publish_now(team.creator, post.id)
    midnight = datetime.combine(clock.now().date() + timedelta(days=1), datetime.min.time(), UTC)
    for _ in range(400):
        async with app.store.unit_of_work(readonly=True) as uow:
            jobs = await uow.jobs.for_subject(post.id)
        if jobs[-1].run_at == midnight:
            break
        clock.advance(1)  # the job's retry after the timeout is due a moment later
        await asyncio.sleep(0.025)
    assert jobs[-1].run_at == midnight and jobs[-1].attempts == 0
    waiting = await app.generation.get(team.creator, post.id)
    assert waiting.status is PostStatus.PUBLISHING  # it may be out: the next attempt checks
    assert linkedin.calls("create") == 1
    clock.set(midnight + timedelta(seconds=1))
    done = await _until(app, team, post, PostStatus.PUBLISHED, PostStatus.FAILED)
    [made] = linkedin.posts
    assert done.status is PostStatus.PUBLISHED and done.external_id == made["id"]
    assert linkedin.calls("create") == 1 and linkedin.calls("list") == 2


async def test_a_reconnect_event_whose_process_died_after_the_save_is_sent_by_a_worker(
    make_app: AppFactory, connect: Connect, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder()
    app = await make_app(recorder=recorder, embedded_worker=False)
    team = await make_team(app)
    await connect(organization_id=team.org.id, user_id=team.creator.user_id, into=app.publisher)
    tokens = app.publisher.tokens  # type: ignore[attr-defined]

    async def died(*events: Any) -> None:
        """The process is gone between the save and the event's dispatch."""

    monkeypatch.setattr(tokens, "emit", died)
    key = ConnectionKey(team.org.id, team.creator.user_id, "member")
    assert await tokens.mark_needs_reconnect(key, "revoked")
    monkeypatch.undo()
    assert recorder.named(EventName.LINKEDIN_NEEDS_RECONNECT) == []

    redelivery = EventRedelivery(app.context)
    assert await redelivery.run_once() == 0  # the dead process's claim still runs
    clock.advance(CLAIM.total_seconds() + 1)
    assert await redelivery.run_once() == 1
    clock.advance(3600)
    assert await redelivery.run_once() == 0
    [event] = recorder.named(EventName.LINKEDIN_NEEDS_RECONNECT)
    assert event.payload["reason"] == "revoked"
    assert event.payload["user_id"] == str(team.creator.user_id)
