"""Completion signals: the Notifier's relay through a Broadcast, and its wiring in the app.

Two ``Ghostart`` objects on one store stand for two processes: they share the queue and (or
not) the broadcast, and nothing else that could wake a waiter.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from ghostart.app import Ghostart
from ghostart.builtin.broadcast_memory import MemoryBroadcast
from ghostart.builtin.monitor_logging import LoggingMonitor
from ghostart.builtin.queue_memory import MemoryQueue
from ghostart.errors import PermanentError
from ghostart.hookspecs import hookimpl
from ghostart.models import PostStatus
from ghostart.plugins import PluginManager
from ghostart.registry import AdapterRegistry, AdapterURL, BuildContext
from ghostart.services.context import Notifier
from ghostart.testing import CountingGenerator
from tests.support import make_settings, make_team

POLL = 2.0  # the waiters' fallback poll: a wake well before it came from a signal


async def _heard(listener: Notifier, publisher: Notifier, within: float = 2.0) -> None:
    """Until ``listener``'s relay hears what ``publisher`` publishes (both started)."""
    async with asyncio.timeout(within):
        while True:
            probe = uuid.uuid4()
            with listener.waiting(probe) as event:
                publisher.notify(probe)
                try:
                    async with asyncio.timeout(0.05):
                        await event.wait()
                    return
                except TimeoutError:
                    continue


# The Notifier


async def test_notify_wakes_waiters_here_with_the_posts_and_others_through_the_broadcast() -> None:
    signals = MemoryBroadcast()
    here, there = Notifier(signals), Notifier(signals)
    here.start()
    there.start()
    try:
        await _heard(there, here)
        subject = uuid.uuid4()
        with here.waiting(subject) as local, there.waiting(subject) as remote:
            here.notify(subject, [])
            assert local.is_set()  # at once, without a round trip
            await asyncio.wait_for(remote.wait(), 1)
        assert len(here) == len(there) == 0
    finally:
        await here.aclose()
        await there.aclose()


async def test_without_start_or_broadcast_nothing_leaves_the_process() -> None:
    signals = MemoryBroadcast()
    heard: list[UUID] = []

    async def listen() -> None:
        async for subject in signals.listen():
            heard.append(subject)

    listening = asyncio.create_task(listen())
    await asyncio.sleep(0)
    Notifier(signals).notify(uuid.uuid4())  # not started
    Notifier().notify(uuid.uuid4())  # no broadcast
    await asyncio.sleep(0.05)
    assert heard == []
    await signals.aclose()
    await listening


class _SlowBroadcast(MemoryBroadcast):
    async def publish(self, subject: UUID) -> None:
        await asyncio.sleep(0.02)
        self.published.append(subject)

    published: list[UUID]


async def test_close_publishes_what_is_still_queued() -> None:
    signals = _SlowBroadcast()
    signals.published = []
    notifier = Notifier(signals)
    notifier.start()
    sent = [uuid.uuid4() for _ in range(5)]
    for subject in sent:
        notifier.notify(subject)  # returns at once: publishing is the relay's job
    assert signals.published == []
    await notifier.aclose()
    assert signals.published == sent
    assert not notifier.relaying


async def test_a_broadcast_that_can_not_keep_up_loses_the_oldest_signals() -> None:
    signals = _SlowBroadcast()
    signals.published = []
    monitor = LoggingMonitor()
    notifier = Notifier(signals, monitor=monitor, backlog=3)
    notifier.start()
    sent = [uuid.uuid4() for _ in range(5)]
    for subject in sent:
        notifier.notify(subject)
    await notifier.aclose()
    assert signals.published == sent[2:]
    assert monitor.counters["ghostart.broadcast.dropped"] == 2


class _BrokenBroadcast(MemoryBroadcast):
    """Breaks the port's promises once each: ``publish`` raises, ``listen`` fails."""

    def __init__(self) -> None:
        super().__init__()
        self.publish_failures = 1
        self.listen_failures = 1

    async def publish(self, subject: UUID) -> None:
        if self.publish_failures:
            self.publish_failures -= 1
            raise RuntimeError("publish broke")
        await super().publish(subject)

    async def listen(self) -> AsyncIterator[UUID]:
        if self.listen_failures:
            self.listen_failures -= 1
            raise RuntimeError("listen broke")
        async for subject in super().listen():
            yield subject


async def test_the_relay_survives_a_broadcast_that_raises(caplog: pytest.LogCaptureFixture) -> None:
    signals = _BrokenBroadcast()
    monitor = LoggingMonitor()
    here, there = Notifier(signals, monitor=monitor), Notifier(signals, monitor=monitor)
    here.start()
    there.start()
    try:
        with caplog.at_level(logging.CRITICAL, logger="ghostart.monitor"):
            await _heard(there, here)  # after a failed publish, and a listen tried again
        assert here.relaying and there.relaying
        assert monitor.counters["ghostart.broadcast.errors,op=publish"] == 1
        assert monitor.counters["ghostart.broadcast.errors,op=listen"] == 1
    finally:
        await here.aclose()
        await there.aclose()


# The composition root


@pytest.fixture
async def two_apps(
    tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[Ghostart, Ghostart, CountingGenerator]]:
    """An API app and a worker app on one store and one queue; the broadcast shared or not."""
    shared = getattr(request, "param", True)
    settings = make_settings(tmp_path)
    queue = MemoryQueue(visibility_timeout=5)
    signals = MemoryBroadcast()
    generator = CountingGenerator(delay=0.2)
    api = Ghostart.from_settings(
        settings, queue=queue, broadcast=signals if shared else MemoryBroadcast()
    )
    worker = Ghostart.from_settings(settings, queue=queue, broadcast=signals, generator=generator)
    await api.start(worker=False)
    await worker.start(worker=True)
    try:
        if shared:
            await _heard(api.context.notifier, worker.context.notifier)
        yield api, worker, generator
    finally:
        await api.aclose()
        await worker.aclose()


def _record_notifications(app: Ghostart) -> dict[UUID, float]:
    """When ``app``'s notifier is told of each subject (monotonic seconds)."""
    told: dict[UUID, float] = {}
    notifier = app.context.notifier
    notify = notifier.notify

    def recording(subject: UUID, posts: Any = None) -> None:
        told[subject] = time.monotonic()
        notify(subject, posts)

    notifier.notify = recording  # type: ignore[method-assign]
    return told


@pytest.mark.parametrize(
    "two_apps", [True, False], ids=["broadcast", "no-broadcast"], indirect=True
)
async def test_a_job_finished_by_another_app_wakes_the_waiter(
    two_apps: tuple[Ghostart, Ghostart, CountingGenerator], request: pytest.FixtureRequest
) -> None:
    api, worker, generator = two_apps
    told = _record_notifications(worker)
    team = await make_team(api)
    post = await api.generation.request(team.employee, {"topic": "Why we pair on reviews"})
    done = await api.generation.wait(team.employee, post, timeout=10, poll_interval=POLL)
    woken = time.monotonic()
    assert done.status is PostStatus.DRAFT
    assert generator.count == 1
    assert done.generation_id is not None
    latency = woken - told[done.generation_id]
    print(f"{request.node.callspec.id}: woken {latency * 1000:.1f} ms after the job finished")
    if request.node.callspec.params["two_apps"]:
        assert latency < 0.25 * POLL  # by the signal, not the poll
    else:  # the control: the same run without a shared broadcast waits for the poll
        assert latency > 0.5 * POLL


async def test_a_job_failed_by_another_app_wakes_the_waiter(
    two_apps: tuple[Ghostart, Ghostart, CountingGenerator],
) -> None:
    api, worker, generator = two_apps
    generator.failures = [PermanentError("the provider refused")]
    told = _record_notifications(worker)
    team = await make_team(api)
    post = await api.generation.request(team.employee, {"topic": "Why we pair on reviews"})
    done = await api.generation.wait(team.employee, post, timeout=10, poll_interval=POLL)
    woken = time.monotonic()
    assert done.status is PostStatus.FAILED
    assert done.generation_id is not None
    assert woken - told[done.generation_id] < 0.25 * POLL


async def test_a_job_failed_here_wakes_the_waiter_after_the_commit(tmp_path: Path) -> None:
    generator = CountingGenerator(delay=0.1, failures=[PermanentError("the provider refused")])
    async with Ghostart.from_settings(make_settings(tmp_path), generator=generator) as app:
        team = await make_team(app)
        post = await app.generation.request(team.employee, {"topic": "Why we pair on reviews"})
        started = time.monotonic()
        done = await app.generation.wait(team.employee, post, timeout=10, poll_interval=POLL)
        assert done.status is PostStatus.FAILED
        assert time.monotonic() - started < 0.5 * POLL


# Which broadcast by default


class _FakeQueuePlugin:
    @hookimpl
    def ghostart_register_adapters(self, registry: AdapterRegistry) -> None:
        registry.add_queue("fakeq", lambda url, ctx: MemoryQueue(), package="fake")
        registry.add_queue("bare", lambda url, ctx: MemoryQueue(), package="fake")
        registry.add_broadcast("fakeq", self._broadcast, package="fake")

    @staticmethod
    def _broadcast(url: AdapterURL, ctx: BuildContext) -> MemoryBroadcast:
        broadcast = MemoryBroadcast()
        broadcast.url = url.raw  # type: ignore[attr-defined]
        return broadcast


@pytest.mark.parametrize(
    ("queue_url", "broadcast_url", "expected"),
    [
        ("memory://", None, "memory://"),
        ("fakeq://host/0?name=q", None, "fakeq://host/0?name=q"),  # follows the shared queue
        ("bare://host", None, "memory://"),  # nobody broadcasts on the queue's scheme
        ("fakeq://host/0", "memory://", "memory://"),  # the setting wins
    ],
)
def test_the_default_broadcast_follows_a_shared_queue(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    queue_url: str,
    broadcast_url: str | None,
    expected: str,
) -> None:
    settings = make_settings(tmp_path, queue_url=queue_url, broadcast_url=broadcast_url)
    plugins = PluginManager(entry_points_enabled=False)
    plugins.register(_FakeQueuePlugin(), name="fake")
    with caplog.at_level(logging.WARNING, logger="ghostart"):
        assert Ghostart.broadcast_url(settings, plugins.adapter_registry()) == expected
    warned = "GHOSTART_BROADCAST_URL" in caplog.text
    assert warned == (queue_url == "bare://host")
    app = Ghostart.from_settings(settings, plugins=plugins)
    assert getattr(app.broadcast, "url", "memory://") == expected
    assert app.context.notifier.broadcast is app.broadcast
