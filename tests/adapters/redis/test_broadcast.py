"""Completion signals across processes (pub/sub): the Redis side of the proposed Broadcast port."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from ghostart_redis.broadcast import RedisBroadcast
from ghostart_redis.testing import Proxy, RecordingMonitor, closed_port, with_address

pytestmark = pytest.mark.redis


async def _collect(broadcast: RedisBroadcast, into: asyncio.Queue[uuid.UUID]) -> None:
    async for subject in broadcast.listen():
        await into.put(subject)


@contextlib.asynccontextmanager
async def _listening(broadcast: RedisBroadcast) -> AsyncIterator[asyncio.Queue[uuid.UUID]]:
    received: asyncio.Queue[uuid.UUID] = asyncio.Queue()
    task = asyncio.create_task(_collect(broadcast, received))
    await asyncio.sleep(0.1)  # subscribed
    try:
        yield received
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_signal_reaches_every_other_process(url: str) -> None:
    worker, api_one, api_two = RedisBroadcast(url), RedisBroadcast(url), RedisBroadcast(url)
    try:
        async with _listening(api_one) as one, _listening(api_two) as two:
            subject = uuid.uuid4()
            started = time.monotonic()
            await worker.publish(subject)
            assert await asyncio.wait_for(one.get(), 1) == subject
            assert await asyncio.wait_for(two.get(), 1) == subject
            print(f"signal delivered in {time.monotonic() - started:.4f} s")
    finally:
        for b in (worker, api_one, api_two):
            await b.aclose()


async def test_channels_follow_the_prefix(url: str, server: str) -> None:
    mine, other = RedisBroadcast(url), RedisBroadcast(server)
    try:
        async with _listening(mine) as received:
            await other.publish(uuid.uuid4())  # another deployment on the same server
            subject = uuid.uuid4()
            await mine.publish(subject)
            assert await asyncio.wait_for(received.get(), 1) == subject
            assert received.empty()
    finally:
        await mine.aclose()
        await other.aclose()


async def test_listener_resubscribes_after_losing_redis(
    url: str, proxy: Proxy, proxied_url: str, monitor: RecordingMonitor
) -> None:
    publisher = RedisBroadcast(url)
    listener = RedisBroadcast(proxied_url, monitor=monitor, reconnect_delay=0.05)
    try:
        async with _listening(listener) as received:
            await proxy.down()
            await asyncio.sleep(0.2)
            await proxy.up()
            subject = uuid.uuid4()
            deadline = time.monotonic() + 5
            while received.empty() and time.monotonic() < deadline:  # until resubscribed
                await publisher.publish(subject)
                await asyncio.sleep(0.05)
            assert await asyncio.wait_for(received.get(), 1) == subject
        assert monitor.counters["ghostart.broadcast.errors"] >= 1
        assert monitor.exceptions
    finally:
        await publisher.aclose()
        await listener.aclose()


async def test_publish_never_raises(url: str, monitor: RecordingMonitor) -> None:
    broadcast = RedisBroadcast(with_address(url, "127.0.0.1", closed_port()), monitor=monitor)
    try:
        await broadcast.publish(uuid.uuid4())
        await broadcast.publish(uuid.uuid4())
        assert monitor.counters["ghostart.broadcast.errors"] == 2
        assert len(monitor.exceptions) == 1
    finally:
        await broadcast.aclose()


async def test_close_ends_listening(url: str) -> None:
    broadcast = RedisBroadcast(url)
    received: asyncio.Queue[uuid.UUID] = asyncio.Queue()
    task = asyncio.create_task(_collect(broadcast, received))
    await asyncio.sleep(0.1)
    await broadcast.aclose()
    await asyncio.wait_for(task, 2)
