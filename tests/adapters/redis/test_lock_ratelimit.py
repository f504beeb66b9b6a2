"""The Redis lock and rate limiter beyond their contracts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import pytest
from redis.asyncio import Redis

from ghostart.errors import ConfigurationError, InvalidInput, TransientError
from ghostart.ports import RateDecision
from ghostart_redis.lock import RedisLock
from ghostart_redis.ratelimit import RedisRateLimiter
from ghostart_redis.testing import (
    Proxy,
    RecordingMonitor,
    closed_port,
    with_address,
    with_options,
)

pytestmark = pytest.mark.redis


@pytest.fixture
async def lock(url: str) -> AsyncIterator[RedisLock]:
    lock = RedisLock(url)
    yield lock
    await lock.aclose()


@pytest.fixture
async def limiter(url: str, monitor: RecordingMonitor) -> AsyncIterator[RedisRateLimiter]:
    limiter = RedisRateLimiter(url, monitor=monitor)
    yield limiter
    await limiter.aclose()


# Lock


async def test_lease_is_one_key_expiring_on_the_server(
    lock: RedisLock, redis: Redis, prefix: str
) -> None:
    token = await lock.acquire("generation:abc", ttl=5)
    assert token is not None
    key = f"{prefix}:lock:generation:abc"
    assert await redis.get(key) == token.encode()
    assert 4_000 < await redis.pttl(key) <= 5_000
    assert await lock.extend("generation:abc", token, ttl=20)
    assert 19_000 < await redis.pttl(key) <= 20_000
    assert await lock.release("generation:abc", token)
    assert await redis.exists(key) == 0


async def test_two_processes_exclude_each_other(url: str) -> None:
    one, two = RedisLock(url), RedisLock(url)
    try:
        tokens = await asyncio.gather(
            *(one.acquire("n", ttl=30) for _ in range(10)),
            *(two.acquire("n", ttl=30) for _ in range(10)),
        )
        (winner,) = [t for t in tokens if t is not None]
        holder, other = (one, two) if winner in tokens[:10] else (two, one)
        assert await other.release("n", winner)  # the token is what holds, not the process
        assert await holder.acquire("n", ttl=30) is not None
    finally:
        await one.aclose()
        await two.aclose()


@pytest.mark.parametrize("ttl", [0, -1, float("nan")])
async def test_lock_ttl_must_be_positive(lock: RedisLock, ttl: float) -> None:
    with pytest.raises(InvalidInput):
        await lock.acquire("n", ttl=ttl)
    with pytest.raises(InvalidInput):
        await lock.extend("n", "token", ttl=ttl)


async def test_lock_on_unreachable_redis_is_a_transient_error(url: str) -> None:
    lock = RedisLock(with_address(url, "127.0.0.1", closed_port()))
    try:
        with pytest.raises(TransientError) as caught:
            await lock.acquire("n", ttl=1)
        assert caught.value.details["provider"] == "redis"
        with pytest.raises(TransientError):
            await lock.release("n", "token")
    finally:
        await lock.aclose()


# Rate limiter


async def test_limit_is_shared_by_processes_and_keyed_under_the_prefix(
    url: str, redis: Redis, prefix: str
) -> None:
    one, two = RedisRateLimiter(url), RedisRateLimiter(url)
    try:
        decisions = await asyncio.gather(
            *(one.hit("org:1", limit=5, period=60) for _ in range(10)),
            *(two.hit("org:1", limit=5, period=60) for _ in range(10)),
        )
        assert sum(d.allowed for d in decisions) == 5
        # The key lives only as long as it matters: until its TAT (here one period ahead).
        assert 59_000 < await redis.pttl(f"{prefix}:rate:org:1") <= 60_001
    finally:
        await one.aclose()
        await two.aclose()


async def test_refusal_says_when_to_come_back(limiter: RedisRateLimiter) -> None:
    for _ in range(3):
        assert (await limiter.hit("k", limit=3, period=30)).allowed
    refused = await limiter.hit("k", limit=3, period=30)
    assert refused.allowed is False
    assert refused.remaining == 0
    assert 9.9 < refused.retry_after <= 10.0


async def test_uneven_intervals_count_exactly(limiter: RedisRateLimiter) -> None:
    decisions = [await limiter.hit("k", limit=7, period=1) for _ in range(8)]
    assert [d.remaining for d in decisions[:7]] == [6, 5, 4, 3, 2, 1, 0]
    assert [d.allowed for d in decisions] == [True] * 7 + [False]


@pytest.mark.parametrize(
    ("limit", "period", "cost"), [(0, 1, 1), (1, 0, 1), (1, -1, 1), (2, 1, 0), (2, 1, 3)]
)
async def test_bad_hits_are_invalid_input(
    limiter: RedisRateLimiter, limit: int, period: float, cost: int
) -> None:
    with pytest.raises(InvalidInput):
        await limiter.hit("k", limit=limit, period=period, cost=cost)


async def test_fails_open_when_redis_is_down_and_reports_once(
    proxy: Proxy, proxied_url: str, monitor: RecordingMonitor
) -> None:
    limiter = RedisRateLimiter(proxied_url, monitor=monitor)
    try:
        assert (await limiter.hit("k", limit=1, period=60)).allowed
        assert not (await limiter.hit("k", limit=1, period=60)).allowed
        await proxy.down()
        during = [await limiter.hit("k", limit=1, period=60) for _ in range(3)]
        assert during == [RateDecision(allowed=True, remaining=0, retry_after=0.0)] * 3
        assert len(monitor.exceptions) == 1
        assert monitor.counters["ghostart.ratelimit.errors"] == 3
        await proxy.up()
        assert not (await limiter.hit("k", limit=1, period=60)).allowed  # state kept in Redis
        assert monitor.counters["ghostart.ratelimit.recovered"] == 1
    finally:
        await limiter.aclose()


async def test_fails_closed_on_request(url: str) -> None:
    limiter = RedisRateLimiter(
        with_options(with_address(url, "127.0.0.1", closed_port()), fail_open="false")
    )
    try:
        assert limiter.fail_open is False
        with pytest.raises(TransientError):
            await limiter.hit("k", limit=1, period=1)
    finally:
        await limiter.aclose()


async def test_refused_credentials_are_never_failed_open(url: str) -> None:
    limiter = RedisRateLimiter(with_options(url, timeout="1"))
    # A user that does not exist: Redis refuses the AUTH.
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    bad = RedisRateLimiter(urlunsplit(parts._replace(netloc=f"nobody:wrong@{host}")))
    try:
        with pytest.raises(ConfigurationError, match="refused"):
            await bad.hit("k", limit=1, period=1)
        assert (await limiter.hit("k", limit=1, period=1)).allowed
    finally:
        await limiter.aclose()
        await bad.aclose()
