"""In-process job queue with visibility timeouts."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple
from uuid import UUID

from ghostart.errors import ConfigurationError
from ghostart.ports.queue import Delivery

__all__ = ["MemoryQueue", "QueueSize"]


class QueueSize(NamedTuple):
    """How many ids a queue holds, by state."""

    ready: int
    delayed: int
    in_flight: int


@dataclass(slots=True)
class _Entry:
    job_id: UUID
    #: When the id is receivable: its due time while waiting, its visibility deadline in flight.
    due: float = 0.0
    #: Identifies the heap item that is current; older items for this id are skipped.
    seq: int = -1
    #: Deliveries so far.
    attempt: int = 0
    #: Set from delivery until ack or nack.
    receipt: str | None = None
    #: Enqueued again while in flight: deliver once more, from this time on, after the ack.
    again_at: float | None = None


class MemoryQueue:
    """A :class:`~ghostart.ports.queue.Queue` living in this process.

    Delivery is at least once: a received id is hidden for ``visibility_timeout`` seconds and
    delivered again (``attempt`` + 1) unless acked, nacked or extended first. Receivers wait on a
    condition, woken by enqueues and by the next due time, never by polling.

    Everything here is lost with the process. That is by design: the truth is the outbox in the
    store, and the reconciler re-enqueues due jobs that are not in flight.

    Enqueueing an id that is already waiting keeps one copy, due at the earlier of the two
    times (an early delivery is harmless: the worker's claim checks the job row). Enqueueing an
    id that is in flight schedules one more delivery after that delivery is acked.

    Args:
        visibility_timeout: Seconds a received id stays hidden.
        clock: Monotonic seconds for due times and deadlines; injectable for tests. The
            ``timeout`` of :meth:`receive` always runs on the event loop's clock.
    """

    def __init__(
        self, visibility_timeout: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not visibility_timeout > 0:
            raise ConfigurationError(
                "visibility_timeout must be positive", setting="visibility_timeout"
            )
        self._visibility_timeout = visibility_timeout
        self._clock = clock
        self._entries: dict[UUID, _Entry] = {}
        self._heap: list[tuple[float, int, UUID]] = []  # (due, seq, job_id)
        self._seq = itertools.count()
        self._changed = asyncio.Condition()

    async def enqueue(self, job_id: UUID, *, delay: float = 0.0) -> None:
        """Make ``job_id`` available to receivers after ``delay`` seconds."""
        due = self._clock() + max(delay, 0.0)
        async with self._changed:
            entry = self._entries.get(job_id)
            if entry is None:
                entry = self._entries[job_id] = _Entry(job_id)
                self._schedule(entry, due)
            elif entry.receipt is None:
                if due < entry.due:
                    self._schedule(entry, due)
            else:
                entry.again_at = due if entry.again_at is None else min(entry.again_at, due)
            self._changed.notify()  # one id: one receiver

    async def receive(self, *, timeout: float) -> Delivery | None:
        """Wait up to ``timeout`` seconds for a job id; ``None`` if none came."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + max(timeout, 0.0)
        async with self._changed:
            while True:
                delivery = self._take_due()
                if delivery is not None:
                    return delivery
                wait = give_up - loop.time()
                if wait <= 0:
                    return None
                next_due = self._next_due()
                if next_due is not None:
                    wait = min(wait, max(next_due - self._clock(), 0.0))
                try:
                    async with asyncio.timeout(wait):
                        await self._changed.wait()
                except TimeoutError:
                    pass

    async def receive_many(self, count: int, *, timeout: float) -> list[Delivery]:
        """Wait up to ``timeout`` seconds for a job id; return it and up to ``count`` due now."""
        first = await self.receive(timeout=timeout)
        if first is None:
            return []
        deliveries = [first]
        async with self._changed:
            while len(deliveries) < count:
                delivery = self._take_due()
                if delivery is None:
                    break
                deliveries.append(delivery)
        return deliveries

    async def ack(self, delivery: Delivery) -> None:
        """Forget the id, unless it was enqueued again meanwhile; a stale receipt is a no-op."""
        async with self._changed:
            entry = self._current(delivery)
            if entry is None:
                return
            if entry.again_at is None:
                del self._entries[entry.job_id]
                return
            entry.receipt, entry.attempt = None, 0
            self._schedule(entry, entry.again_at)
            entry.again_at = None
            self._changed.notify()  # one id: one receiver

    async def nack(self, delivery: Delivery, *, delay: float = 0.0) -> None:
        """Deliver the id again after ``delay`` seconds; a stale receipt is a no-op."""
        async with self._changed:
            entry = self._current(delivery)
            if entry is None:
                return
            due = self._clock() + max(delay, 0.0)
            if entry.again_at is not None:
                due, entry.again_at = min(due, entry.again_at), None
            entry.receipt = None
            self._schedule(entry, due)
            self._changed.notify()  # one id: one receiver

    async def extend(self, delivery: Delivery, *, seconds: float) -> None:
        """Keep the id hidden at least ``seconds`` from now; a stale receipt is a no-op."""
        async with self._changed:
            entry = self._current(delivery)
            deadline = self._clock() + seconds
            if entry is not None and deadline > entry.due:
                self._schedule(entry, deadline)

    async def size(self) -> QueueSize:
        """Count the ids that are ready, delayed, and in flight (hidden after delivery)."""
        now = self._clock()
        ready = delayed = in_flight = 0
        for entry in self._entries.values():
            if entry.due <= now:
                ready += 1
            elif entry.receipt is None:
                delayed += 1
            else:
                in_flight += 1
        return QueueSize(ready, delayed, in_flight)

    def _current(self, delivery: Delivery) -> _Entry | None:
        entry = self._entries.get(delivery.job_id)
        if entry is None or entry.receipt is None:
            return None
        return entry if secrets.compare_digest(entry.receipt, delivery.receipt) else None

    def _take_due(self) -> Delivery | None:
        now = self._clock()
        while self._heap and self._heap[0][0] <= now:
            _, seq, job_id = heapq.heappop(self._heap)
            entry = self._entries.get(job_id)
            if entry is None or entry.seq != seq:
                continue
            entry.attempt += 1
            entry.receipt = secrets.token_hex(16)
            if entry.again_at is not None and entry.again_at <= now:
                entry.again_at = None  # this delivery is the one that enqueue asked for
            self._schedule(entry, now + self._visibility_timeout)
            return Delivery(job_id=job_id, receipt=entry.receipt, attempt=entry.attempt)
        return None

    def _next_due(self) -> float | None:
        while self._heap:
            due, seq, job_id = self._heap[0]
            entry = self._entries.get(job_id)
            if entry is not None and entry.seq == seq:
                return due
            heapq.heappop(self._heap)
        return None

    def _schedule(self, entry: _Entry, due: float) -> None:
        entry.due, entry.seq = due, next(self._seq)
        heapq.heappush(self._heap, (due, entry.seq, entry.job_id))
        # Superseded items sink out only when they reach the top; rebuild if they pile up.
        if len(self._heap) > 2 * len(self._entries) + 64:
            self._heap = [(e.due, e.seq, e.job_id) for e in self._entries.values()]
            heapq.heapify(self._heap)
