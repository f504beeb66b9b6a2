"""The built-in broadcast against the Broadcast contract, plus its own specifics."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from ghostart.builtin.broadcast_memory import MemoryBroadcast
from ghostart.builtin.monitor_logging import LoggingMonitor
from ghostart.testing.contracts.broadcast import BroadcastContract


class TestMemoryBroadcast(BroadcastContract):
    @pytest.fixture
    async def broadcast(self) -> AsyncIterator[MemoryBroadcast]:
        broadcast = MemoryBroadcast()
        yield broadcast
        await broadcast.aclose()


async def test_a_listener_that_falls_behind_loses_the_oldest_signals() -> None:
    monitor = LoggingMonitor()
    broadcast = MemoryBroadcast(backlog=3, monitor=monitor)
    stream = broadcast.listen()
    first = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)  # listening
    sent = [uuid.uuid4() for _ in range(6)]
    for subject in sent:
        await broadcast.publish(subject)
    # It did not run in between: it keeps the newest three.
    assert [await first, await anext(stream), await anext(stream)] == sent[3:]
    assert monitor.counters["ghostart.broadcast.dropped"] == 3
    await broadcast.aclose()
    assert [subject async for subject in stream] == []


async def test_listeners_are_forgotten_when_they_stop() -> None:
    broadcast = MemoryBroadcast()
    stream = broadcast.listen()
    waiting = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)
    assert len(broadcast) == 1
    waiting.cancel()
    await asyncio.sleep(0)
    assert len(broadcast) == 0


def test_backlog_must_be_positive() -> None:
    with pytest.raises(ValueError, match="backlog"):
        MemoryBroadcast(backlog=0)
