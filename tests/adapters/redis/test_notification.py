"""Completion notification across processes: a waiter is woken by the job's end, not by polling.

An API app waits for a draft that a worker elsewhere (another ``Ghostart`` object, or another
process) generates. The two share the store and Redis (queue and, by default, broadcast); the
waiter's poll fallback is long (``POLL``), so a wake well before it can only be the signal. Each
test prints the latencies it measured.
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from ghostart.app import Ghostart
from ghostart.builtin.broadcast_memory import MemoryBroadcast
from ghostart.models import Post, PostStatus, Principal
from ghostart.settings import Settings, load_settings
from ghostart_redis.broadcast import RedisBroadcast
from ghostart_redis.testing import Proxy, RecordingMonitor

pytestmark = [pytest.mark.redis, pytest.mark.slow]

#: The waiters' poll fallback: long, so that a prompt wake proves the signal.
POLL = 2.0
#: The generation's own duration (the offline generator's ``latency``).
WORK = 0.2
REQUESTS = 5


def _settings(home: Path, redis_url: str, **overrides: Any) -> Settings:
    return load_settings(
        home=home,
        cache_url=redis_url,
        queue_url=redis_url,
        lock_url=redis_url,
        rate_limit_url=redis_url,
        generator=f"offline?latency={WORK}",
        generation_rate_limit=10_000,
        reconcile_interval_seconds=0.2,
        shutdown_grace_seconds=2.0,
        job_lease_seconds=5.0,
        plugins_allow="redis",  # this plugin alone: others installed beside it play no part
        **overrides,
    )


async def _author(app: Ghostart) -> Principal:
    user = await app.organizations.ensure_user("ada@example.com")
    _, admin = await app.organizations.create(user.id, "Acme")
    await app.brand_voices.create(admin, {"name": "House", "topics": ["engineering culture"]})
    return admin


async def _until_listening(app: Ghostart, within: float = 10.0) -> None:
    """Until ``app``'s relay hears a signal that went through the broadcast's transport."""
    notifier = app.context.notifier
    async with asyncio.timeout(within):
        while True:
            probe = uuid.uuid4()
            with notifier.waiting(probe) as event:
                await app.broadcast.publish(probe)  # not notify(): that would wake it here
                try:
                    async with asyncio.timeout(0.1):
                        await event.wait()
                    return
                except TimeoutError:
                    continue


def _record_notifications(app: Ghostart) -> dict[UUID, float]:
    """When ``app``'s notifier is told of each subject (``time.monotonic()``)."""
    told: dict[UUID, float] = {}
    notifier = app.context.notifier
    notify = notifier.notify

    def recording(subject: UUID, posts: Any = None) -> None:
        told[subject] = time.monotonic()
        notify(subject, posts)

    notifier.notify = recording  # type: ignore[method-assign]
    return told


async def _request_and_wait(api: Ghostart, author: Principal, topic: str) -> tuple[Post, float]:
    """A content request with a wait, as the API serves it; the post and when the wait ended."""
    post = await api.generation.request(author, {"topic": topic})
    assert post.status is PostStatus.REQUESTED
    done = await api.generation.wait(author, post, timeout=15, poll_interval=POLL)
    return done, time.monotonic()


def _report(label: str, latencies: list[float]) -> str:
    ms = sorted(1000 * value for value in latencies)
    return (
        f"{label}: woken {statistics.median(ms):.1f} ms (median), {ms[-1]:.1f} ms (max) after "
        f"the job finished, over {len(ms)} requests; poll fallback {POLL * 1000:.0f} ms"
    )


@pytest.fixture
async def two_apps(
    tmp_path: Path, url: str, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[Ghostart, Ghostart]]:
    """An API app and a worker app sharing the store and Redis; ``param``: GHOSTART_BROADCAST_URL."""
    broadcast_url: str | None = getattr(request, "param", None)
    settings = _settings(tmp_path, url, broadcast_url=broadcast_url)
    api, worker = Ghostart.from_settings(settings), Ghostart.from_settings(settings)
    async with api, worker:
        worker.start_worker()
        if isinstance(api.broadcast, RedisBroadcast):
            await _until_listening(api)
        yield api, worker


@pytest.mark.parametrize(
    "two_apps", [None, "memory://"], ids=["redis-broadcast", "memory-broadcast"], indirect=True
)
async def test_a_worker_in_another_app_wakes_the_waiter_when_the_job_finishes(
    two_apps: tuple[Ghostart, Ghostart], request: pytest.FixtureRequest
) -> None:
    api, worker = two_apps
    by_default = request.node.callspec.id == "redis-broadcast"
    # Unset, GHOSTART_BROADCAST_URL follows the Redis queue; memory:// keeps signals at home.
    assert isinstance(api.broadcast, RedisBroadcast if by_default else MemoryBroadcast)
    assert api.worker is None  # the API app runs no worker: only the other app drafts
    told = _record_notifications(worker)
    author = await _author(api)
    latencies = []
    for index in range(REQUESTS if by_default else 2):
        done, woken = await _request_and_wait(api, author, f"Lessons from launch {index}")
        assert done.status is PostStatus.DRAFT
        assert done.generation_id is not None
        latencies.append(woken - told[done.generation_id])
    print(_report(request.node.callspec.id, latencies))
    if by_default:
        assert max(latencies) < 0.1 * POLL  # the signal woke it, every time
    else:  # the control: without a shared broadcast the same waits end only at the poll
        assert min(latencies) > 0.5 * POLL


async def test_a_worker_process_wakes_the_waiter_when_the_job_finishes(
    tmp_path: Path, url: str
) -> None:
    settings = _settings(tmp_path, url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GHOSTART_")}
    env |= {
        "GHOSTART_HOME": str(tmp_path),
        "GHOSTART_CACHE_URL": url,
        "GHOSTART_QUEUE_URL": url,
        "GHOSTART_LOCK_URL": url,
        "GHOSTART_RATE_LIMIT_URL": url,
        "GHOSTART_GENERATOR": f"offline?latency={WORK}",
        "GHOSTART_JOB_LEASE_SECONDS": "5",
        "GHOSTART_PLUGINS_ALLOW": "redis",
    }
    async with Ghostart.from_settings(settings) as api:  # migrates the shared SQLite store
        author = await _author(api)
        log = tmp_path / "worker.log"
        with log.open("wb") as output:
            worker = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "ghostart", "worker", env=env, cwd=tmp_path, stderr=output
            )
        try:
            async with asyncio.timeout(30):
                while b"running" not in log.read_bytes():
                    assert worker.returncode is None, log.read_text()
                    await asyncio.sleep(0.05)
            await _until_listening(api)
            latencies = []
            for index in range(REQUESTS):
                done, _ = await _request_and_wait(api, author, f"Notes from the field {index}")
                woken = datetime.now(UTC)
                assert done.status is PostStatus.DRAFT
                assert done.generation_id is not None
                async with api.store.unit_of_work(readonly=True) as uow:
                    generation = await uow.generations.get(done.generation_id)
                assert generation is not None and generation.finished_at is not None
                # finished_at is taken before the commit: this bounds the signal's latency.
                latencies.append((woken - generation.finished_at).total_seconds())
            print(_report("worker process", latencies))
            assert max(latencies) < 0.1 * POLL
        finally:
            if worker.returncode is None:
                worker.send_signal(signal.SIGTERM)
            await asyncio.wait_for(worker.wait(), 15)


@pytest.mark.parametrize("fault", ["down", "stalled"])
async def test_a_broadcast_that_fails_costs_latency_not_the_result(
    tmp_path: Path, url: str, proxy: Proxy, proxied_url: str, fault: str
) -> None:
    # The queue, cache and store work; only the broadcast goes through the proxy.
    settings = _settings(tmp_path, url, broadcast_url=proxied_url)
    monitor = RecordingMonitor()
    api = Ghostart.from_settings(settings, monitor=monitor)
    worker = Ghostart.from_settings(settings, monitor=monitor)
    async with api, worker:
        worker.start_worker()
        await _until_listening(api)
        told = _record_notifications(worker)
        author = await _author(api)
        if fault == "stalled":
            proxy.stall()  # connections are accepted and never answered
        await proxy.down()
        if fault == "stalled":
            await proxy.up()
        done, woken = await _request_and_wait(api, author, "Lessons from an outage")
        assert done.status is PostStatus.DRAFT
        assert done.generation_id is not None
        latency = woken - told[done.generation_id]
        print(
            f"broadcast {fault}: woken by the poll {latency * 1000:.0f} ms after the job finished"
        )
        assert 0.5 * POLL < latency < POLL + 0.5  # no signal came; the poll fallback bounds it
        if fault == "down":  # (a stalled server times out later, after the socket timeout)
            assert monitor.counters.get("ghostart.broadcast.errors", 0) >= 1

        # Once the broadcast is back, signals wake waiters again.
        proxy.stalled = False
        await proxy.down()
        await proxy.up()
        await _until_listening(api)
        done, woken = await _request_and_wait(api, author, "Lessons after the outage")
        assert done.status is PostStatus.DRAFT
        assert done.generation_id is not None
        latency = woken - told[done.generation_id]
        print(f"broadcast back: woken {latency * 1000:.1f} ms after the job finished")
        assert latency < 0.1 * POLL
