"""Completion signals across processes (pub/sub): the Redis side of the Broadcast port."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ghostart.app import Ghostart
from ghostart.errors import ConfigurationError
from ghostart.plugins import PluginManager
from ghostart.registry import BuildContext, Port
from ghostart.settings import load_settings
from ghostart.testing import ManualClock
from ghostart_redis import plugin
from ghostart_redis.broadcast import RedisBroadcast
from ghostart_redis.testing import (
    Proxy,
    RecordingMonitor,
    closed_port,
    with_address,
    with_options,
)

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


# Built through the plugin, as the app builds it


def _build(url: str, tmp_path: Path, **settings: Any) -> Any:
    manager = PluginManager(entry_points_enabled=False)
    manager.register(plugin, name="redis")
    context = BuildContext(load_settings(home=tmp_path, **settings), ManualClock())
    return manager.adapter_registry().build(Port.BROADCAST, url, context)


async def test_by_default_the_broadcast_is_built_from_the_queue_url(
    tmp_path: Path, url: str, prefix: str
) -> None:
    queue_url = with_options(url, visibility_timeout=3, poll_interval=0.5, name="jobs")
    broadcast = _build(queue_url, tmp_path, queue_url=queue_url)  # GHOSTART_BROADCAST_URL unset
    try:
        assert isinstance(broadcast, RedisBroadcast)
        assert broadcast.channel == f"{prefix}:changed"  # the queue's deployment
    finally:
        await broadcast.aclose()
    with pytest.raises(ConfigurationError, match="visibility_timeout"):
        _build(queue_url, tmp_path, queue_url=queue_url, broadcast_url=queue_url)  # set: strict


async def test_an_app_on_a_redis_queue_broadcasts_on_it(tmp_path: Path, url: str) -> None:
    settings = load_settings(home=tmp_path, queue_url=url, plugins_allow="redis")
    app = Ghostart.from_settings(settings)
    try:
        assert isinstance(app.broadcast, RedisBroadcast)
        assert app.context.notifier.broadcast is app.broadcast
        assert app.broadcast.connection.prefix == RedisBroadcast(url).connection.prefix
    finally:
        await app.aclose()
