"""In-process completion signals: the embedded Broadcast."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from uuid import UUID

from ghostart.ports.monitor import Monitor

__all__ = ["MemoryBroadcast"]


class _Listener:
    __slots__ = ("pending", "ready")

    def __init__(self, backlog: int) -> None:
        self.pending: deque[UUID] = deque(maxlen=backlog)
        self.ready = asyncio.Event()


class MemoryBroadcast:
    """A :class:`~ghostart.ports.broadcast.Broadcast` whose signals stay in this object.

    Every ``listen()`` of the object hears every ``publish()`` made after it started, in order.
    Nothing leaves the process: with a queue shared by several processes, use a broadcast that
    reaches them too (``ghostart-redis``), or waiters elsewhere see results by polling.

    Args:
        backlog: Signals kept per listener that has not read them yet; beyond it the oldest is
            dropped (counted as ``ghostart.broadcast.dropped``), which costs only latency.
        monitor: Where drops are counted.
    """

    def __init__(self, *, backlog: int = 10_000, monitor: Monitor | None = None) -> None:
        if backlog < 1:
            raise ValueError("backlog must be at least 1")
        self.backlog = backlog
        self._monitor = monitor
        self._listeners: set[_Listener] = set()
        self._closed = False

    async def publish(self, subject: UUID) -> None:
        """Hand ``subject`` to every listener. Never raises."""
        if self._closed:
            return
        for listener in self._listeners:
            if len(listener.pending) == self.backlog and self._monitor is not None:
                self._monitor.incr("ghostart.broadcast.dropped")
            listener.pending.append(subject)
            listener.ready.set()

    async def listen(self) -> AsyncIterator[UUID]:
        """The subjects published from the first iteration on, until :meth:`aclose`."""
        if self._closed:
            return
        listener = _Listener(self.backlog)
        self._listeners.add(listener)
        try:
            while True:
                while listener.pending:
                    yield listener.pending.popleft()
                if self._closed:
                    return
                listener.ready.clear()
                await listener.ready.wait()
        finally:
            self._listeners.discard(listener)

    async def aclose(self) -> None:
        """End every :meth:`listen`; later publications go nowhere."""
        self._closed = True
        for listener in self._listeners:
            listener.ready.set()

    def __len__(self) -> int:
        """Listeners now."""
        return len(self._listeners)
