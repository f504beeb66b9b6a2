"""Four workers redeliver the same undispatched events from one PostgreSQL: each goes out once.

The events are committed and left undispatched (their process "died"); four apps, each with its
own store and plugins, then run the redelivery side by side, repeatedly, while all the events are
due. ``FOR UPDATE SKIP LOCKED`` and the compare-and-set claim decide who dispatches what.
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ghostart.app import Ghostart
from ghostart.models import DomainEvent
from ghostart.services.events import CLAIM, EventRedelivery
from ghostart.testing import EventRecorder, ManualClock
from tests.support import make_settings

pytestmark = [pytest.mark.postgres]

EVENTS = 300
WORKERS = 4


@pytest.fixture
async def apps(tmp_path: Path, postgres_url: str) -> AsyncIterator[list[Ghostart]]:
    key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    made: list[Ghostart] = []
    try:
        for n in range(WORKERS):
            settings = make_settings(
                tmp_path / f"home{n}",
                database_url=postgres_url,
                secret_keys=f"k1:{key}",
                embedded_worker=False,
            )
            app = Ghostart.from_settings(settings, clock=clock)
            await app.start(worker=False)
            made.append(app)
        yield made
    finally:
        for app in made:
            await app.aclose()


async def test_each_undispatched_event_is_redelivered_by_exactly_one_worker(
    apps: list[Ghostart],
) -> None:
    first = apps[0]
    async with first.store.unit_of_work() as uow:
        recorded = [
            await first.context.record(uow, DomainEvent(name="thing.happened", payload={"n": n}))
            for n in range(EVENTS)
        ]
    recorders = []
    for n, app in enumerate(apps):
        recorder = EventRecorder()
        app.plugins.register(recorder, name=f"recorder-{n}")
        recorders.append(recorder)
    first.clock.advance(CLAIM.total_seconds() * 2)  # type: ignore[attr-defined]

    async def drain(app: Ghostart) -> int:
        redelivery, total = EventRedelivery(app.context, batch=25), 0
        while claimed := await redelivery.run_once():
            total += claimed
            await asyncio.sleep(0)
        return total

    claimed = await asyncio.gather(*(drain(app) for app in apps))
    print(f"\nredelivered per worker: {claimed}")
    delivered = Counter(e.id for r in recorders for e in r.events)
    assert set(delivered) == {e.id for e in recorded}
    assert max(delivered.values()) == 1  # none twice
    assert sum(claimed) == EVENTS
    assert sum(1 for c in claimed if c > 0) >= 2  # they really ran side by side
    async with first.store.unit_of_work(readonly=True) as uow:
        for event in recorded[:: EVENTS // 10]:
            row = await uow.events.get(event.id)
            assert row is not None and row[1] == 2 and row[2] is not None  # its own, one worker's
