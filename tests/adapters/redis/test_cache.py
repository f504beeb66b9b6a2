"""The Redis cache beyond the contract: keys, envelope, TTLs, and Redis failing in every way."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from ghostart.errors import ConfigurationError
from ghostart.testing import ManualTimer
from ghostart_redis.cache import RedisCache
from ghostart_redis.testing import (
    Proxy,
    RecordingMonitor,
    closed_port,
    with_address,
    with_options,
)

pytestmark = pytest.mark.redis


@pytest.fixture
async def cache(url: str, monitor: RecordingMonitor) -> AsyncIterator[RedisCache]:
    cache = RedisCache(url, monitor=monitor)
    yield cache
    await cache.aclose()


async def test_keys_are_namespaced_and_versioned(url: str, prefix: str, redis: Redis) -> None:
    plain, versioned = RedisCache(url), RedisCache(url, version="2024-06")
    try:
        await plain.set("k", b"plain")
        await versioned.set("k", b"versioned")
        assert plain.key("k") == f"{prefix}:cache:v1:k"
        assert versioned.key("k") == f"{prefix}:cache:v1:2024-06:k"
        assert await redis.get(f"{prefix}:cache:v1:k") == b"ga\x01\x00plain"
        assert await plain.get("k") == b"plain"
        assert await versioned.get("k") == b"versioned"
    finally:
        await plain.aclose()
        await versioned.aclose()


async def test_deployments_with_different_prefixes_share_nothing(server: str, prefix: str) -> None:
    one = RedisCache(with_options(server, prefix=f"{prefix}-a"))
    two = RedisCache(with_options(server, prefix=f"{prefix}-b"))
    try:
        await one.set("k", b"one")
        assert await two.get("k") is None
    finally:
        await one.aclose()
        await two.aclose()


@pytest.mark.parametrize(
    ("stored", "reason"),
    [
        (b"a bare value from before the envelope", "foreign"),
        (b"ga\x02\x00written by a newer format", "format"),
        (b"ga\x01\x07unknown flags", "format"),
        (b"", "foreign"),
        (b"g", "foreign"),
    ],
)
async def test_old_or_foreign_values_are_misses(
    cache: RedisCache, redis: Redis, monitor: RecordingMonitor, stored: bytes, reason: str
) -> None:
    await redis.set(cache.key("k"), stored)
    assert await cache.get("k") is None
    assert monitor.counters["ghostart.cache.unreadable"] == 1
    assert not monitor.exceptions
    await cache.set("k", b"fresh")  # and it is simply overwritten
    assert await cache.get("k") == b"fresh"


async def test_a_key_of_another_type_is_a_miss_and_reported(
    cache: RedisCache, redis: Redis, monitor: RecordingMonitor
) -> None:
    await redis.rpush(cache.key("k"), b"someone else's list")
    assert await cache.get("k") is None
    assert monitor.counters["ghostart.cache.errors"] == 1
    assert len(monitor.exceptions) == 1


async def test_ttls(cache: RedisCache, redis: Redis, url: str) -> None:
    await cache.set("explicit", b"v", ttl=30)
    await cache.set("default", b"v")
    await cache.set("fraction", b"v", ttl=0.0004)
    assert 29_000 < await redis.pttl(cache.key("explicit")) <= 30_000
    assert await redis.pttl(cache.key("default")) > 7 * 24 * 3600 * 1000 - 5_000
    assert await redis.pttl(cache.key("fraction")) in (-2, 0, 1)  # rounded up to 1 ms, not 0
    forever = RedisCache(url, default_ttl=None)
    try:
        await forever.set("forever", b"v")
        assert await redis.pttl(forever.key("forever")) == -1
    finally:
        await forever.aclose()
    await cache.set("explicit", b"gone", ttl=0)
    assert await redis.exists(cache.key("explicit")) == 0


async def test_unreachable_redis_is_a_miss_reported_once_per_outage(
    url: str, monitor: RecordingMonitor
) -> None:
    clock = ManualTimer(1000.0)
    cache = RedisCache(
        with_address(url, "127.0.0.1", closed_port()), monitor=monitor, clock=clock, cooldown=1
    )
    try:
        started = time.monotonic()
        assert await cache.get("k") is None
        await cache.set("k", b"v")
        await cache.delete("k")
        assert time.monotonic() - started < 0.5
        assert len(monitor.exceptions) == 1
        _, context = monitor.exceptions[0]
        assert context["operation"] == "cache.get"
        assert context["adapter"] == "redis"
        assert monitor.counters["ghostart.cache.errors"] == 1
        assert monitor.counters["ghostart.cache.skipped"] == 2  # within the cooldown
        clock.advance(1.01)
        assert await cache.get("k") is None  # tried again, failed again: same outage
        assert monitor.counters["ghostart.cache.errors"] == 2
        assert len(monitor.exceptions) == 1
    finally:
        await cache.aclose()


async def test_a_hanging_redis_costs_one_timeout_then_misses_at_once(
    url: str, proxy: Proxy, proxied_url: str, monitor: RecordingMonitor
) -> None:
    proxy.stall()
    cache = RedisCache(with_options(proxied_url, timeout="0.2"), monitor=monitor, cooldown=5)
    try:
        started = time.monotonic()
        assert await cache.get("k") is None
        first = time.monotonic() - started
        started = time.monotonic()
        results = await asyncio.gather(*(cache.get(f"k{i}") for i in range(50)))
        rest = time.monotonic() - started
        print(f"first get {first:.3f} s, 50 more {rest:.4f} s")
        assert 0.15 < first < 1.0
        assert results == [None] * 50
        assert rest < 0.05
        assert len(monitor.exceptions) == 1
    finally:
        await cache.aclose()


async def test_redis_stopped_and_restarted_under_the_cache(
    proxy: Proxy, proxied_url: str, monitor: RecordingMonitor
) -> None:
    clock = ManualTimer(1000.0)
    cache = RedisCache(proxied_url, monitor=monitor, clock=clock)
    try:
        await cache.set("k", b"before")
        assert await cache.get("k") == b"before"
        await proxy.down()
        assert await cache.get("k") is None
        await cache.set("k", b"during")  # a no-op
        await proxy.up()
        assert await cache.get("k") is None  # still cooling down: Redis not asked
        clock.advance(cache.cooldown + 0.01)
        assert await cache.get("k") == b"before"
        assert monitor.counters["ghostart.cache.recovered"] == 1
        assert len(monitor.exceptions) == 1
    finally:
        await cache.aclose()


async def test_a_full_pool_waits_for_a_connection_rather_than_failing(
    url: str, monitor: RecordingMonitor
) -> None:
    cache = RedisCache(with_options(url, max_connections="2", pool_timeout="2"), monitor=monitor)
    try:
        await asyncio.gather(*(cache.set(f"k{i}", b"v", ttl=30) for i in range(200)))
        values = await asyncio.gather(*(cache.get(f"k{i}") for i in range(200)))
        assert values == [b"v"] * 200
        assert not monitor.exceptions
    finally:
        await cache.aclose()


def test_url_options(server: str) -> None:
    cache = RedisCache(
        with_options(server, ttl="60", version="7", cooldown="0.5", prefix="acme"),
        default_ttl=5,
    )
    assert (cache.default_ttl, cache.cooldown, cache.namespace) == (60.0, 0.5, "acme:cache:v1:7:")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"ttl": "0"}, "ttl must be positive"),
        ({"cooldown": "-1"}, "cooldown"),
        ({"ttl": "soon"}, "must be a number"),
        ({"max_connections": "0"}, "max_connections"),
        ({"pool_timeout": "0"}, "pool_timeout"),
        ({"prefix": "a{b"}, "braces"),
        ({"colour": "blue"}, "unknown option"),
    ],
)
def test_bad_options_are_configuration_errors(
    server: str, options: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        RedisCache(with_options(server, **options))
