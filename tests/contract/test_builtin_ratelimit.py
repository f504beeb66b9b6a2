"""The built-in rate limiter against the rate limiter contract, plus its own specifics."""

from __future__ import annotations

from typing import Any

import pytest

from ghostart.builtin.ratelimit_memory import MemoryRateLimiter
from ghostart.errors import InvalidInput
from ghostart.ports.ratelimit import RateDecision
from ghostart.testing import ManualTimer
from ghostart.testing.contracts.ratelimit import RateLimiterContract


class TestMemoryRateLimiter(RateLimiterContract):
    @pytest.fixture
    def rate_limiter(self) -> MemoryRateLimiter:
        return MemoryRateLimiter()


async def test_hits_are_spaced_by_the_emission_interval() -> None:
    clock = ManualTimer()
    limiter = MemoryRateLimiter(clock=clock)
    for _ in range(3):
        assert (await limiter.hit("k", limit=3, period=1.0)).allowed
    refused = await limiter.hit("k", limit=3, period=1.0)
    assert (refused.allowed, refused.remaining) == (False, 0)
    assert refused.retry_after == pytest.approx(1 / 3)
    clock.advance(0.2)
    assert (await limiter.hit("k", limit=3, period=1.0)).retry_after == pytest.approx(1 / 3 - 0.2)
    clock.advance(1 / 3 - 0.2)
    assert await limiter.hit("k", limit=3, period=1.0) == RateDecision(True, 0, 0.0)


async def test_a_full_period_of_quiet_restores_the_whole_burst() -> None:
    clock = ManualTimer()
    limiter = MemoryRateLimiter(clock=clock)
    for _ in range(10):
        await limiter.hit("k", limit=10, period=60)
    clock.advance(60)
    decisions = [await limiter.hit("k", limit=10, period=60) for _ in range(11)]
    assert [decision.allowed for decision in decisions] == [True] * 10 + [False]
    assert decisions[0].remaining == 9


async def test_float_drift_does_not_refuse_the_last_hit_of_a_burst() -> None:
    limiter = MemoryRateLimiter(clock=ManualTimer(0.1))
    decisions = [await limiter.hit("k", limit=7, period=0.7) for _ in range(7)]
    assert all(decision.allowed for decision in decisions)
    assert decisions[-1].remaining == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"limit": 0, "period": 1}, "limit"),
        ({"limit": 1, "period": 0}, "period"),
        ({"limit": 1, "period": -1}, "period"),
        ({"limit": 2, "period": 1, "cost": 0}, "cost"),
        ({"limit": 2, "period": 1, "cost": 3}, "cost"),
    ],
)
async def test_rejects_bad_arguments(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        await MemoryRateLimiter().hit("k", **kwargs)
    assert caught.value.field == field


async def test_keys_whose_time_has_passed_are_dropped() -> None:
    clock = ManualTimer()
    limiter = MemoryRateLimiter(clock=clock)
    for index in range(1500):
        await limiter.hit(f"key-{index}", limit=1, period=1)
    clock.advance(2)
    for _ in range(1500):
        await limiter.hit("busy", limit=1, period=1)
    assert set(limiter._tats) == {"busy"}
