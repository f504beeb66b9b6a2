"""The Cache, Lock, Queue, RateLimiter and Broadcast contract suites on the real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ghostart.testing.contracts.broadcast import BroadcastContract
from ghostart.testing.contracts.cache import CacheContract
from ghostart.testing.contracts.lock import LockContract
from ghostart.testing.contracts.queue import QueueContract
from ghostart.testing.contracts.ratelimit import RateLimiterContract
from ghostart_redis.broadcast import RedisBroadcast
from ghostart_redis.cache import RedisCache
from ghostart_redis.lock import RedisLock
from ghostart_redis.queue import RedisQueue
from ghostart_redis.ratelimit import RedisRateLimiter

pytestmark = pytest.mark.redis

SHORT_DEFAULT_TTL = 0.3


class TestRedisCache(CacheContract):
    @pytest.fixture
    async def cache(self, url: str) -> AsyncIterator[RedisCache]:
        cache = RedisCache(url, default_ttl=SHORT_DEFAULT_TTL)
        yield cache
        await cache.aclose()

    @pytest.fixture
    def default_ttl(self) -> float:
        return SHORT_DEFAULT_TTL


class TestRedisLock(LockContract):
    @pytest.fixture
    async def lock(self, url: str) -> AsyncIterator[RedisLock]:
        lock = RedisLock(url)
        yield lock
        await lock.aclose()


class TestRedisQueue(QueueContract):
    @pytest.fixture
    def visibility_timeout(self) -> float:
        return 0.3

    @pytest.fixture
    async def queue(self, url: str, visibility_timeout: float) -> AsyncIterator[RedisQueue]:
        queue = RedisQueue(url, visibility_timeout=visibility_timeout)
        yield queue
        await queue.aclose()


class TestRedisBroadcast(BroadcastContract):
    @pytest.fixture
    async def broadcast(self, url: str) -> AsyncIterator[RedisBroadcast]:
        broadcast = RedisBroadcast(url)
        yield broadcast
        await broadcast.aclose()

    @pytest.fixture
    async def peer(self, url: str) -> AsyncIterator[RedisBroadcast]:
        peer = RedisBroadcast(url)  # another process's connection, same channel
        yield peer
        await peer.aclose()


class TestRedisRateLimiter(RateLimiterContract):
    @pytest.fixture
    async def rate_limiter(self, url: str) -> AsyncIterator[RedisRateLimiter]:
        limiter = RedisRateLimiter(url, fail_open=False)
        yield limiter
        await limiter.aclose()
