"""Domain events go through the outbox: kept with their change, dispatched at least once.

The embedded worker is off: each test runs the redelivery itself, on a manual clock, so what a
dying process leaves behind and what a worker later does with it are both visible.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from ghostart.app import Ghostart
from ghostart.hookspecs import hookimpl
from ghostart.models import DomainEvent, EventName, Role
from ghostart.services.events import CLAIM, KEEP_DISPATCHED, MAX_ATTEMPTS, EventRedelivery
from ghostart.testing import EventRecorder, ManualClock
from tests.support import make_settings, make_team

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEASE = CLAIM.total_seconds()
WEEK = KEEP_DISPATCHED.total_seconds()


class FailingFirst:
    """A plugin whose handler fails its first ``failures`` calls, then keeps the events."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.events: list[DomainEvent] = []

    @hookimpl
    def ghostart_handle_event(self, event: DomainEvent, app: Any) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("the handler's database is down")
        self.events.append(event)


@pytest.fixture
async def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
async def app(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Ghostart]:
    application = Ghostart.from_settings(
        make_settings(tmp_path, embedded_worker=False), clock=clock
    )
    async with application:
        yield application


async def _row(app: Ghostart, event_id: UUID) -> tuple[DomainEvent, int, datetime | None] | None:
    async with app.store.unit_of_work(readonly=True) as uow:
        return await uow.events.get(event_id)


async def test_an_event_commits_with_its_change_or_not_at_all(app: Ghostart) -> None:
    event = DomainEvent(name="thing.happened", payload={"n": 1})

    class Boom(Exception):
        pass

    async def change_that_fails() -> None:
        async with app.store.unit_of_work() as uow:
            await app.context.record(uow, event)
            raise Boom

    with pytest.raises(Boom):
        await change_that_fails()
    assert await _row(app, event.id) is None

    async with app.store.unit_of_work() as uow:
        stored = await app.context.record(uow, event)
    row = await _row(app, event.id)
    assert row is not None
    assert row[0] == stored and row[1:] == (1, None)  # kept, its process's claim, undispatched


async def test_a_change_s_event_is_dispatched_once_right_after_the_commit(app: Ghostart) -> None:
    team = await make_team(app)
    newcomer = await app.organizations.ensure_user("new@acme.example.com")
    events = EventRecorder()  # from here on
    app.plugins.register(events, name="recorder")

    await app.organizations.add_member(team.admin, newcomer.id, Role.EMPLOYEE)

    added = [e for e in events.events if e.name == EventName.MEMBER_ADDED]
    assert [e.payload["user_id"] for e in added] == [str(newcomer.id)]
    row = await _row(app, added[0].id)
    assert row is not None and row[1] == 1 and row[2] is not None  # claimed once, dispatched
    # A worker later finds nothing left to do.
    app.clock.advance(LEASE * 10)  # type: ignore[attr-defined]
    assert await EventRedelivery(app.context).run_once() == 0
    assert len([e for e in events.events if e.name == EventName.MEMBER_ADDED]) == 1


async def test_an_event_whose_process_died_after_the_commit_is_dispatched_by_a_worker(
    app: Ghostart, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    team = await make_team(app)
    newcomer = await app.organizations.ensure_user("new@acme.example.com")
    events = EventRecorder()  # from here on
    app.plugins.register(events, name="recorder")

    async def died(ctx: Any, committed: list[DomainEvent]) -> None:
        """The process is gone between the commit and the dispatch."""

    monkeypatch.setattr("ghostart.services.context.dispatch_events", died)
    await app.organizations.add_member(team.admin, newcomer.id, Role.BRAND_CREATOR)
    assert EventName.MEMBER_ADDED not in events.names()
    monkeypatch.undo()

    redelivery = EventRedelivery(app.context)
    clock.advance(LEASE / 2)
    assert await redelivery.run_once() == 0  # its own process might still dispatch it
    clock.advance(LEASE)
    assert await redelivery.run_once() == 1
    assert events.names().count(EventName.MEMBER_ADDED) == 1
    event = events.events[events.names().index(EventName.MEMBER_ADDED)]
    assert event.payload == {"user_id": str(newcomer.id), "role": "brand_creator"}
    clock.advance(LEASE * 10)
    assert await redelivery.run_once() == 0
    assert events.names().count(EventName.MEMBER_ADDED) == 1


async def test_the_email_of_an_event_whose_process_died_is_queued_once(
    app: Ghostart, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    team = await make_team(app)
    newcomer = await app.organizations.ensure_user("new@acme.example.com")

    async def died(ctx: Any, committed: list[DomainEvent]) -> None:
        """The process is gone between the commit and the dispatch."""

    monkeypatch.setattr("ghostart.services.context.dispatch_events", died)
    await app.organizations.add_member(team.admin, newcomer.id, Role.EMPLOYEE)
    monkeypatch.undo()

    async def emails_to_newcomer() -> int:
        async with app.store.unit_of_work(readonly=True) as uow:
            rows = await uow.email.list_for_user(newcomer.id, limit=50)
        return len([r for r in rows if r.template == "member_added"])

    assert await emails_to_newcomer() == 0
    clock.advance(LEASE * 2)
    assert await EventRedelivery(app.context).run_once() == 1
    assert await emails_to_newcomer() == 1


async def test_a_failing_handler_gets_the_event_again_later_until_it_succeeds(
    app: Ghostart, clock: ManualClock
) -> None:
    flaky = FailingFirst(failures=2)
    app.plugins.register(flaky, name="flaky")
    event = DomainEvent(name="thing.happened", payload={"n": 1})
    async with app.store.unit_of_work() as uow:
        stored = await app.context.record(uow, event)
    await app.context.dispatch(stored)
    assert flaky.events == []
    row = await _row(app, event.id)
    assert row is not None and row[1:] == (1, None)  # claimed, failed, not dispatched

    redelivery = EventRedelivery(app.context)
    clock.advance(LEASE - LEASE / 10)
    assert await redelivery.run_once() == 0  # its first backoff is not over
    clock.advance(LEASE / 5)
    assert await redelivery.run_once() == 1  # fails again: the backoff doubles
    clock.advance(LEASE * 1.5)
    assert await redelivery.run_once() == 0
    clock.advance(LEASE)
    assert await redelivery.run_once() == 1
    assert [e.id for e in flaky.events] == [event.id]
    row = await _row(app, event.id)
    assert row is not None and row[1] == 3 and row[2] is not None


async def test_an_event_whose_handler_always_fails_is_given_up_on_after_max_attempts(
    app: Ghostart, clock: ManualClock
) -> None:
    broken = FailingFirst(failures=10_000)
    app.plugins.register(broken, name="broken")
    event = DomainEvent(name="thing.happened")
    async with app.store.unit_of_work() as uow:
        stored = await app.context.record(uow, event)
    await app.context.dispatch(stored)  # the first attempt: its own process's
    redelivery = EventRedelivery(app.context)
    claims = 0
    for _ in range(100):
        clock.advance(LEASE * 64)
        claims += await redelivery.run_once()
    assert claims == MAX_ATTEMPTS - 1
    row = await _row(app, event.id)
    assert row is not None and row[1] == MAX_ATTEMPTS and row[2] is not None
    counters = app.monitor.counters  # type: ignore[attr-defined]
    assert any(k.startswith("ghostart.events.given_up") for k in counters)


async def test_dispatched_events_are_purged_after_a_week(app: Ghostart, clock: ManualClock) -> None:
    event = DomainEvent(name="thing.happened")
    async with app.store.unit_of_work() as uow:
        stored = await app.context.record(uow, event)
    await app.context.dispatch(stored)
    clock.advance(WEEK / 2)
    await EventRedelivery(app.context).run_once()
    assert await _row(app, event.id) is not None
    clock.advance(WEEK)
    await EventRedelivery(app.context).run_once()
    assert await _row(app, event.id) is None
