"""Fixtures: the test Redis, a key prefix per test, and a proxy that can cut Redis off.

Every test works under its own key prefix (``ghostart-test-<random>``), deleted afterwards, so
runs in parallel on one server never meet. Without a reachable server the tests skip, and with
``GHOSTART_REQUIRE_SERVICES=1`` they fail (``ghostart.testing.services``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from redis.asyncio import Redis

from ghostart.testing.services import redis_url, unavailable
from ghostart_redis.queue import RedisQueue
from ghostart_redis.testing import Proxy, RecordingMonitor, with_address, with_options

# Worker processes, a redis-server of a test's own, and the database behind them (fault tests).
from tests.adapters.redis.fleet import ledger, make_fleet, own_redis  # noqa: F401

# Never let a developer's environment leak into the tests.
for _name in list(os.environ):
    if _name.startswith("GHOSTART_") and not _name.startswith(
        ("GHOSTART_TEST_", "GHOSTART_REQUIRE")
    ):
        del os.environ[_name]


@pytest.fixture
async def server() -> str:
    """The test server's URL, checked to answer."""
    url = redis_url()
    client = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        await client.ping()
    except Exception as exc:
        unavailable("Redis", f"{url}: {exc}")
    finally:
        await client.aclose()
    return url


@pytest.fixture
async def redis(server: str) -> AsyncIterator[Redis]:
    """A plain redis-py client on the test server, to look behind the adapters' backs."""
    client = Redis.from_url(server)
    yield client
    await client.aclose()


@pytest.fixture
async def prefix(redis: Redis) -> AsyncIterator[str]:
    """A key prefix private to the test; its keys are deleted afterwards."""
    value = f"ghostart-test-{uuid.uuid4().hex[:12]}"
    yield value
    keys = [key async for key in redis.scan_iter(match=f"*{value}*", count=1000)]
    if keys:
        await redis.delete(*keys)


@pytest.fixture
def url(server: str, prefix: str) -> str:
    """The test server's URL with the test's prefix."""
    return with_options(server, prefix=prefix)


@pytest.fixture
def monitor() -> RecordingMonitor:
    return RecordingMonitor()


@pytest.fixture
async def proxy(server: str) -> AsyncIterator[Proxy]:
    """A proxy to the test server, listening."""
    parts = urlsplit(server)
    instance = Proxy(parts.hostname or "127.0.0.1", parts.port or 6379)
    await instance.up()
    yield instance
    await instance.down()


@pytest.fixture
def proxied_url(url: str, proxy: Proxy) -> str:
    """The test URL (with its prefix) going through the proxy."""
    return with_address(url, "127.0.0.1", proxy.port)


#: The visibility timeout of the queues ``make_queue`` builds (unless a test gives another).
VT = 0.3


@pytest.fixture
async def make_queue(url: str) -> AsyncIterator[Callable[..., RedisQueue]]:
    """Queue instances on the test's prefix: each one a separate consumer, like a process."""
    made: list[RedisQueue] = []

    def make(**kwargs: Any) -> RedisQueue:
        kwargs.setdefault("visibility_timeout", VT)
        queue = RedisQueue(url, **kwargs)
        made.append(queue)
        return queue

    yield make
    for queue in made:
        await queue.aclose()
