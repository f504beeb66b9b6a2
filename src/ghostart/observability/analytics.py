"""Recording usage analytics cheaply: API calls and page views in batches, the rest in their jobs.

- API calls and page views happen on the request path, many per second: each is appended to an
  in-memory buffer (no I/O), and a background task writes the buffer in one transaction every
  ``interval`` seconds or as soon as ``batch_size`` events wait. A crash loses at most the last
  interval of these counts (they are counts of reads, not accepted work); a full buffer drops
  its oldest events and counts them (``ghostart.analytics.dropped``).
- Generations and publishes are written by their jobs, in the transaction that stores the draft
  or marks the post published (:func:`generation_events`, :func:`publish_event`): they are
  exactly as durable as the work itself, never lost, never counted twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Iterable
from datetime import datetime

from ghostart.models import Post
from ghostart.ports import Monitor, Store
from ghostart.ports.analytics import AnalyticsEvent, AnalyticsKind

__all__ = ["AnalyticsRecorder", "generation_events", "publish_event"]

log = logging.getLogger("ghostart.analytics")


def generation_events(model: str, posts: Iterable[Post], at: datetime) -> list[AnalyticsEvent]:
    """One ``generation`` event per post that received a draft (its author is the user)."""
    return [
        AnalyticsEvent(
            kind=AnalyticsKind.GENERATION,
            organization_id=post.organization_id,
            user_id=post.author_id,
            name=model,
            subject_id=post.id,
            at=at,
        )
        for post in posts
    ]


def publish_event(post: Post, at: datetime) -> AnalyticsEvent:
    """The ``publish`` event of a post just published."""
    return AnalyticsEvent(
        kind=AnalyticsKind.PUBLISH,
        organization_id=post.organization_id,
        user_id=post.author_id,
        name="linkedin",
        subject_id=post.id,
        at=at,
    )


class AnalyticsRecorder:
    """Buffers events and writes them in batches, one transaction per batch."""

    def __init__(
        self,
        store: Store,
        monitor: Monitor,
        *,
        interval: float = 2.0,
        batch_size: int = 500,
        capacity: int = 50_000,
    ) -> None:
        self.store = store
        self.monitor = monitor
        self.interval = interval
        self.batch_size = batch_size
        self._buffer: deque[AnalyticsEvent] = deque()
        self._capacity = capacity
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._buffer)

    def record(self, event: AnalyticsEvent) -> None:
        """Queue ``event`` for the next batch (no I/O; never raises)."""
        if len(self._buffer) >= self._capacity:
            self._buffer.popleft()
            self.monitor.incr("ghostart.analytics.dropped")
        self._buffer.append(event)
        if len(self._buffer) >= self.batch_size:
            self._wake.set()

    async def flush(self) -> int:
        """Write what the buffer holds, in one transaction; returns how many were written.

        On failure the events go back to the front of the buffer (to retry with the next
        batch) and the error goes to the monitor.
        """
        if not self._buffer:
            return 0
        batch = [self._buffer.popleft() for _ in range(min(len(self._buffer), 5_000))]
        try:
            async with self.store.unit_of_work() as uow:
                await uow.analytics.add_many(batch)
        except Exception as exc:
            self._buffer.extendleft(reversed(batch))
            while len(self._buffer) > self._capacity:
                self._buffer.pop()
                self.monitor.incr("ghostart.analytics.dropped")
            self.monitor.capture_exception(exc, operation="analytics.flush")
            return 0
        self.monitor.incr("ghostart.analytics.written", value=len(batch))
        return len(batch)

    def start(self) -> None:
        """Flush in the background until :meth:`aclose`."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="ghostart-analytics")

    async def _run(self) -> None:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancellation that
        # arrives as the wake-up does (a full buffer at shutdown), and the loop never ends.
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            self._wake.clear()
            while await self.flush() >= 5_000:
                pass

    async def aclose(self) -> None:
        """Stop the background task and write what is left."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()
