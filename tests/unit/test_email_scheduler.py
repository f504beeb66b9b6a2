"""The weekly digest scheduler: each member's slot in their own time zone, fired once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from ghostart.app import Ghostart
from ghostart.email.scheduler import EmailScheduler
from ghostart.models import Post, PostStatus
from ghostart.ports.email import OutboxEmail
from ghostart.testing import ManualClock
from tests.email_support import MONDAY, ZONES, digest_team, members
from tests.support import Team, make_settings


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MONDAY - timedelta(days=3))


@pytest.fixture
async def app(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Ghostart]:
    application = Ghostart.from_settings(make_settings(tmp_path), clock=clock)
    await application.start(worker=False)
    try:
        yield application
    finally:
        await application.aclose()


async def _digests(app: Ghostart, team: Team) -> dict[str, list[OutboxEmail]]:
    async with app.store.unit_of_work(readonly=True) as uow:
        return {
            who: [r for r in await uow.email.list_for_user(uid) if r.template == "weekly_digest"]
            for who, uid in members(team).items()
        }


def _count(digests: dict[str, list[OutboxEmail]]) -> dict[str, int]:
    return {who: len(rows) for who, rows in digests.items()}


async def test_each_member_gets_one_digest_in_their_own_time_zone(
    app: Ghostart, clock: ManualClock
) -> None:
    team = await digest_team(app)
    schedulers = [EmailScheduler(app.email, owner=f"w{i}") for i in range(3)]

    # Paris is at 09:05 on Monday; Kolkata's 09:00 was 4.5 hours ago; New York's is to come.
    clock.set(ZONES["employee"][1] + timedelta(minutes=5))
    fired = [await s.run_due(clock.now()) for s in schedulers]
    assert sorted(fired) == [0, 0, 2]  # one scheduler fired the slots, the others found them taken
    assert _count(await _digests(app, team)) == {"admin": 1, "employee": 1, "creator": 0}

    clock.set(ZONES["creator"][1] - timedelta(minutes=1))  # 08:59 in New York: not yet
    assert [await s.run_due(clock.now()) for s in schedulers] == [0, 0, 0]
    clock.set(ZONES["creator"][1])
    assert sum([await s.run_due(clock.now()) for s in schedulers]) == 1
    digests = await _digests(app, team)
    assert _count(digests) == {"admin": 1, "employee": 1, "creator": 1}

    # A fresh scheduler (a restarted worker) catches up nothing already fired.
    assert await EmailScheduler(app.email, owner="late").run_due(clock.now()) == 0

    # What the digest says: the week before the slot, in the member's own time zone.
    [employee] = digests["employee"]
    assert employee.data["period_end"].startswith("2026-12-07T09:00:00+01:00")
    assert employee.data["published"] == 1  # her own post of the week, not last week's
    [admin] = digests["admin"]
    assert admin.data["published"] == 3  # an admin sees the organization's week
    email = app.email.build(employee)
    assert "List-Unsubscribe" in email.headers and "&lt;script&gt;" in (email.html or "")

    # Next week, after a busy week: one more each.
    async with app.store.unit_of_work() as uow:
        for uid in members(team).values():
            when = MONDAY + timedelta(days=3)
            post = Post(organization_id=team.org.id, author_id=uid, body="More", updated_at=when)
            await uow.posts.add(post.model_copy(update={"status": PostStatus.DRAFT}))
    clock.set(ZONES["creator"][1] + timedelta(days=7))
    await schedulers[0].run_due(clock.now())
    assert _count(await _digests(app, team)) == {"admin": 2, "employee": 2, "creator": 2}


async def test_opted_out_members_and_quiet_weeks_get_no_digest(
    app: Ghostart, clock: ManualClock
) -> None:
    team = await digest_team(app)
    await app.profiles.set_email_preferences(team.admin.user_id, {"digest": False})
    clock.set(ZONES["employee"][1])
    await EmailScheduler(app.email).run_due(clock.now())
    assert _count(await _digests(app, team)) == {"admin": 0, "employee": 1, "creator": 0}

    # Two weeks on, nothing happened in the week before: no digest at all.
    clock.set(ZONES["employee"][1] + timedelta(days=14))
    await EmailScheduler(app.email).run_due(clock.now())
    assert _count(await _digests(app, team)) == {"admin": 0, "employee": 1, "creator": 0}


async def test_a_slot_missed_by_more_than_the_catch_up_window_is_skipped(
    app: Ghostart, clock: ManualClock
) -> None:
    team = await digest_team(app)
    # Workers were down from Sunday to Tuesday 10:00 UTC: Paris (26 h late) and Kolkata
    # (30.5 h late) are skipped; New York's slot (20 h late) is caught up.
    clock.set(MONDAY + timedelta(days=1, hours=10))
    await EmailScheduler(app.email).run_due(clock.now())
    assert _count(await _digests(app, team)) == {"admin": 0, "employee": 0, "creator": 1}


async def test_the_worker_ticks_the_scheduler_and_throttles_it(
    app: Ghostart, clock: ManualClock
) -> None:
    team = await digest_team(app)
    scheduler = app.email_scheduler
    clock.set(ZONES["creator"][1] - timedelta(seconds=30))
    assert await scheduler.tick() == 2  # Kolkata's and Paris's slots, caught up
    clock.advance(31)  # New York's slot has begun, but the last look was 31 s ago
    assert await scheduler.tick() == 0
    clock.advance(app.email.settings.scheduler_interval_seconds)
    assert await scheduler.tick() == 1
    worker = app.start_worker()
    assert scheduler.tick in worker.periodic
    assert _count(await _digests(app, team)) == {"admin": 1, "employee": 1, "creator": 1}
