"""Calls made in the same moment go to Redis together, in one script call (auto-pipelining).

Every call made before the event loop next gets to run the flush joins one batch; a batch goes
out at once unless ``in_flight`` batches are already on their way, in which case it waits for
one of them and grows meanwhile. A call returns only once the round trip that carried it has
completed, with its outcome (or its error): coalescing changes how many round trips there are,
never what a caller is told, nor the order of anything one caller does (each call is awaited
before the next). A lone call goes out by itself after one turn of the event loop; sending it
inline instead was measured to cost more, since the calls right behind it then went alone too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["Coalescer"]

T = TypeVar("T")


class Coalescer(Generic[T]):
    """Sends the items submitted meanwhile with ``send(items)``, one batch per round trip.

    Args:
        send: Carries a batch to Redis in one round trip (a Lua script taking many items).
        limit: The most items in one batch (bounds a script's run time on the server).
        in_flight: The most batches on their way at once (each holds a connection).
    """

    def __init__(
        self, send: Callable[[Sequence[T]], Awaitable[object]], limit: int, in_flight: int = 4
    ) -> None:
        self._send = send
        self._limit = limit
        self._slots = asyncio.Semaphore(in_flight)
        self._items: list[T] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, item: T) -> None:
        """Send ``item`` in the next batch; return when that batch has been carried out."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._items.append(item)
        self._waiters.append(future)
        if not self._scheduled:
            self._schedule()
        await future

    async def drain(self) -> None:
        """Wait until everything submitted so far has been sent (or has failed)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _schedule(self) -> None:
        self._scheduled = True
        task = asyncio.create_task(self._flush())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _flush(self) -> None:
        waiters: list[asyncio.Future[None]] = []
        try:
            async with self._slots:
                limit = self._limit
                items, self._items = self._items[:limit], self._items[limit:]
                waiters, self._waiters = self._waiters[:limit], self._waiters[limit:]
                self._scheduled = False
                if self._items:  # more than one batch waited: the rest goes next
                    self._schedule()
                try:
                    await self._send(items)
                except Exception as exc:
                    for waiter in waiters:
                        if not waiter.done():
                            waiter.set_exception(exc)
                    return
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(None)
        except BaseException:  # cancelled (the loop is closing): so is every caller
            for waiter in [*waiters, *self._waiters]:
                waiter.cancel()
            self._items, self._waiters, self._scheduled = [], [], False
            raise
