"""What ghostart's Redis cache adds to a GET: ``RedisCache.get`` on a hit beside redis-py.

One cached value of 2 KiB (about a drafted post), read again and again, one read at a time:

- ``RedisCache.get(key)``: key building, the degrade-to-a-miss wrapper, the envelope check;
- a bare ``GET`` of the same Redis key (the same bytes over the wire) on the cache's own
  redis-py client: the same pool and socket settings, so the difference is ghostart's layer;
- a bare ``GET`` on a plain ``redis.asyncio.Redis.from_url(url)``: redis-py as its
  documentation shows it, the floor.

Rounds alternate between the three so that drift in a shared machine's speed hits all of them;
medians of wall time and of CPU time per read are printed with the ratios (cache / bare).
Only the value read back is asserted; speed never fails the run.

``nox -s bench``, or ``GHOSTART_TEST_BENCH=1 pytest tests/benchmarks -s -q -p no:cacheprovider``.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable

import pytest
from redis.asyncio import Redis

from ghostart.testing.services import redis_url, unavailable
from ghostart_redis import RedisCache
from ghostart_redis.testing import with_options

pytestmark = [
    pytest.mark.skipif(
        os.environ.get("GHOSTART_TEST_BENCH") != "1",
        reason="benchmark: run `nox -s bench` (or set GHOSTART_TEST_BENCH=1)",
    ),
    pytest.mark.timeout(600),
]

ROUNDS = 15
READS = 2_000
VALUE = os.urandom(2048)


async def _time(read: Callable[[], Awaitable[bytes | None]]) -> tuple[float, float]:
    """(wall, CPU) seconds per read, over ``READS`` reads one after another."""
    cpu = time.process_time()
    started = time.perf_counter()
    for _ in range(READS):
        await read()
    return (time.perf_counter() - started) / READS, (time.process_time() - cpu) / READS


async def test_cache_get_overhead_beside_a_bare_get(capsys: pytest.CaptureFixture[str]) -> None:
    url = redis_url()
    prefix = f"ghostart-bench-{uuid.uuid4().hex[:10]}"
    cache = RedisCache(with_options(url, prefix=prefix))
    plain = Redis.from_url(url)
    try:
        try:
            await plain.ping()
        except Exception as exc:
            unavailable("Redis", f"{url}: {exc}")
        await cache.set("draft", VALUE, ttl=600)
        redis_key = cache.key("draft")
        own = cache.connection.client

        async def cached() -> bytes | None:
            return await cache.get("draft")

        async def bare_own() -> bytes | None:
            return await own.get(redis_key)  # type: ignore[no-any-return]

        async def bare_plain() -> bytes | None:
            return await plain.get(redis_key)  # type: ignore[no-any-return]

        assert await cached() == VALUE
        stored = await bare_own()
        assert stored is not None and stored.endswith(VALUE)
        assert await bare_plain() == stored

        readers = {"cache": cached, "bare (cache's client)": bare_own, "bare (plain)": bare_plain}
        wall: dict[str, list[float]] = {name: [] for name in readers}
        cpu: dict[str, list[float]] = {name: [] for name in readers}
        for read in readers.values():  # warm up
            await _time(read)
        for number in range(ROUNDS):
            names = list(readers) if number % 2 == 0 else list(readers)[::-1]
            for name in names:
                seconds, cpu_seconds = await _time(readers[name])
                wall[name].append(seconds)
                cpu[name].append(cpu_seconds)
    finally:
        keys = [key async for key in plain.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await plain.delete(*keys)
        await plain.aclose()
        await cache.aclose()

    us = {name: 1e6 * statistics.median(values) for name, values in wall.items()}
    cpu_us = {name: 1e6 * statistics.median(values) for name, values in cpu.items()}
    lines = [
        "",
        f"Redis cache get on a hit ({len(VALUE):,}-byte value; {ROUNDS} rounds of "
        f"{READS:,} reads one at a time, alternating; medians)",
        f"  {'':<24}{'wall µs/read':>13}{'CPU µs/read':>13}",
        *(f"  {name:<24}{us[name]:>13.1f}{cpu_us[name]:>13.1f}" for name in readers),
    ]
    for bare in ("bare (cache's client)", "bare (plain)"):
        lines.append(
            f"  cache / {bare:<24} wall {us['cache'] / us[bare]:.3f}   "
            f"CPU {cpu_us['cache'] / cpu_us[bare]:.3f}   "
            f"(+{us['cache'] - us[bare]:.1f} µs wall, "
            f"+{cpu_us['cache'] - cpu_us[bare]:.1f} µs CPU)"
        )
    with capsys.disabled():
        print("\n".join(lines))
