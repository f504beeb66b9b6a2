"""The analytics recorder stops when told, even when the stop meets a full buffer's wake-up.

On Python 3.11 ``asyncio.wait_for`` returns the inner result instead of raising when a
cancellation arrives just as the inner wait completes; a loop built on it then never ends and
the service hangs at shutdown. Each case here cancels at a different step of that window.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from ghostart.builtin.monitor_logging import LoggingMonitor
from ghostart.observability.analytics import AnalyticsRecorder
from ghostart.ports.analytics import AnalyticsEvent, AnalyticsKind


class _Analytics:
    def __init__(self) -> None:
        self.written: list[AnalyticsEvent] = []

    async def add_many(self, events: Sequence[AnalyticsEvent]) -> None:
        self.written.extend(events)


class _Store:
    """Just the part of a Store the recorder uses: a unit of work with ``analytics``."""

    def __init__(self) -> None:
        self.analytics = _Analytics()

    @contextlib.asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[Any]:
        yield self


def _event() -> AnalyticsEvent:
    return AnalyticsEvent(
        kind=AnalyticsKind.API_CALL, organization_id=uuid4(), at=datetime.now(UTC), name="/x"
    )


@pytest.mark.parametrize("steps_before_close", [0, 1, 2, 3, 4])
async def test_close_ends_the_task_and_writes_everything_when_a_batch_just_woke_it(
    steps_before_close: int,
) -> None:
    store = _Store()
    recorder = AnalyticsRecorder(store, LoggingMonitor(), interval=60, batch_size=10)  # type: ignore[arg-type]
    recorder.start()
    await asyncio.sleep(0.01)  # the task is waiting for a wake-up
    for _ in range(10):
        recorder.record(_event())  # the tenth wakes it
    for _ in range(steps_before_close):
        await asyncio.sleep(0)
    closing = asyncio.create_task(recorder.aclose())
    done, _ = await asyncio.wait({closing}, timeout=5)
    assert closing in done, "the recorder's task did not end when cancelled"
    assert len(store.analytics.written) == 10
    assert len(recorder) == 0
