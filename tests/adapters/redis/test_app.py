"""ghostart composed on Redis, chosen by URL settings alone.

An API app and a worker app (two processes' worth of adapters) share one store and one Redis.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from ghostart.app import Ghostart
from ghostart.errors import ConfigurationError
from ghostart.models import PostStatus, Principal
from ghostart.settings import Settings, load_settings
from ghostart_redis.cache import RedisCache
from ghostart_redis.lock import RedisLock
from ghostart_redis.queue import RedisQueue
from ghostart_redis.ratelimit import RedisRateLimiter
from ghostart_redis.testing import Proxy, RecordingMonitor, closed_port, with_address

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def _settings(home: Path, redis_url: str, **overrides: Any) -> Settings:
    return load_settings(
        home=home,
        cache_url=redis_url,
        queue_url=redis_url,
        lock_url=redis_url,
        rate_limit_url=redis_url,
        reconcile_interval_seconds=0.2,
        shutdown_grace_seconds=2.0,
        job_lease_seconds=1.0,
        plugins_allow="redis",  # this plugin alone: others installed beside it play no part
        **overrides,
    )


async def _author(app: Ghostart) -> Principal:
    user = await app.organizations.ensure_user("ada@example.com")
    _, admin = await app.organizations.create(user.id, "Acme")
    await app.brand_voices.create(admin, {"name": "House", "topics": ["engineering culture"]})
    return admin


@pytest.fixture
async def apps(tmp_path: Path, url: str) -> AsyncIterator[tuple[Ghostart, Ghostart]]:
    settings = _settings(tmp_path, url)
    api, worker = Ghostart.from_settings(settings), Ghostart.from_settings(settings)
    async with api, worker:
        worker.start_worker()
        yield api, worker


async def test_settings_alone_select_redis_and_a_remote_worker_drafts(
    apps: tuple[Ghostart, Ghostart],
) -> None:
    api, worker = apps
    assert isinstance(api.cache, RedisCache)
    assert isinstance(api.lock, RedisLock)
    assert isinstance(api.queue, RedisQueue)
    assert isinstance(api.rate_limiter, RedisRateLimiter)
    assert api.queue.visibility_timeout == 1.0  # the job lease
    assert api.worker is None  # a shared queue: the API process runs no worker
    author = await _author(api)
    request = {"topic": "Why our team writes design docs"}
    post = await api.generation.request(author, request)
    done = await api.generation.wait(author, post, timeout=10, poll_interval=0.05)
    assert done.status is PostStatus.DRAFT
    assert worker.worker is not None
    # The draft is committed before the worker counts the job (it acks first): wait for it.
    for _ in range(200):
        if worker.worker.processed:
            break
        await asyncio.sleep(0.01)
    assert worker.worker.processed == 1
    # The draft is in the shared cache: the same request is answered from it at once.
    again = await api.generation.request(author, request)
    assert again.status is PostStatus.DRAFT
    assert again.from_cache
    assert await api.queue.size() == (0, 0, 0)


async def test_redis_stopped_during_requests_costs_latency_not_work(
    tmp_path: Path, proxy: Proxy, proxied_url: str
) -> None:
    settings = _settings(tmp_path, proxied_url)
    monitor = RecordingMonitor()
    api = Ghostart.from_settings(settings, monitor=monitor)
    worker = Ghostart.from_settings(settings)
    async with api, worker:
        worker.start_worker()
        author = await _author(api)
        await proxy.down()
        started = time.monotonic()
        posts = [
            await api.generation.request(author, {"topic": f"Lessons from outage {index}"})
            for index in range(3)
        ]
        accepted_in = time.monotonic() - started
        assert [p.status for p in posts] == [PostStatus.REQUESTED] * 3  # accepted all the same
        assert monitor.exceptions  # the cache, limiter and enqueue failures were reported
        await asyncio.sleep(0.5)
        await proxy.up()
        done = [
            await api.generation.wait(author, post, timeout=15, poll_interval=0.1) for post in posts
        ]
        print(f"3 requests accepted in {accepted_in:.3f} s with Redis down; drafted once back")
        assert [p.status for p in done] == [PostStatus.DRAFT] * 3
        assert accepted_in < 3.0


async def test_the_app_starts_with_redis_down_but_not_with_refused_credentials(
    tmp_path: Path, url: str
) -> None:
    down = with_address(url, "127.0.0.1", closed_port())
    monitor = RecordingMonitor()
    async with Ghostart.from_settings(_settings(tmp_path / "down", down), monitor=monitor):
        pass
    # The lock only logs; the broadcast (the queue's URL by default) may also report its
    # listener's first failed subscription before the app closes.
    reported = sorted(context["operation"] for _, context in monitor.exceptions)
    assert [op for op in reported if op != "broadcast.listen"] == [
        "broadcast.open",
        "cache.open",
        "queue.open",
        "rate_limiter.open",
    ]

    parts = urlsplit(url)
    refused = urlunsplit(parts._replace(netloc=f"nobody:wrong@{parts.netloc.rpartition('@')[2]}"))
    app = Ghostart.from_settings(_settings(tmp_path / "refused", refused))
    try:
        with pytest.raises(ConfigurationError, match="refused"):
            await app.start()
    finally:
        await app.aclose()
