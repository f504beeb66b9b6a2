"""Contract suite for :class:`~ghostart.ports.ratelimit.RateLimiter` adapters.

Subclass :class:`RateLimiterContract` in a ``Test*`` class and provide the ``rate_limiter``
fixture::

    class TestRedisRateLimiter(RateLimiterContract):
        @pytest.fixture
        async def rate_limiter(self, redis_url):
            limiter = RedisRateLimiter(redis_url)
            yield limiter
            await limiter.aclose()

Keys are random per test, so a shared server is fine. Refills are checked with real sleeps of
under half a second.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from ghostart.ports.ratelimit import RateDecision, RateLimiter

__all__ = ["RateLimiterContract"]

MARGIN = 0.05


def _key() -> str:
    return f"ghostart-contract:rate:{uuid.uuid4().hex}"


async def _burst(limiter: RateLimiter, key: str, *, limit: int, period: float) -> None:
    for remaining in reversed(range(limit)):
        decision = await limiter.hit(key, limit=limit, period=period)
        assert decision == RateDecision(allowed=True, remaining=remaining, retry_after=0.0)


class RateLimiterContract:
    """Tests every :class:`~ghostart.ports.ratelimit.RateLimiter` adapter must pass."""

    pytestmark = [pytest.mark.asyncio]

    @pytest.fixture
    def rate_limiter(self) -> RateLimiter:
        """The adapter under test; override it in the subclass."""
        raise NotImplementedError(
            "subclass must provide a `rate_limiter` fixture returning the RateLimiter adapter "
            "under test"
        )

    async def test_conforms_to_protocol(self, rate_limiter: RateLimiter) -> None:
        assert isinstance(rate_limiter, RateLimiter)

    async def test_burst_of_limit_is_allowed_then_refused(self, rate_limiter: RateLimiter) -> None:
        key = _key()
        await _burst(rate_limiter, key, limit=5, period=10)
        refused = await rate_limiter.hit(key, limit=5, period=10)
        assert refused.allowed is False
        assert refused.remaining == 0
        assert 0 < refused.retry_after <= 10 / 5

    async def test_keys_are_independent(self, rate_limiter: RateLimiter) -> None:
        exhausted, fresh = _key(), _key()
        await _burst(rate_limiter, exhausted, limit=3, period=10)
        assert (await rate_limiter.hit(exhausted, limit=3, period=10)).allowed is False
        decision = await rate_limiter.hit(fresh, limit=3, period=10)
        assert decision.allowed is True
        assert decision.remaining == 2

    async def test_allows_again_after_the_emission_interval(
        self, rate_limiter: RateLimiter
    ) -> None:
        key, limit, period = _key(), 4, 1.0
        await _burst(rate_limiter, key, limit=limit, period=period)
        refused = await rate_limiter.hit(key, limit=limit, period=period)
        assert refused.allowed is False
        assert 0 < refused.retry_after <= period / limit + MARGIN
        await asyncio.sleep(refused.retry_after + MARGIN)
        assert (await rate_limiter.hit(key, limit=limit, period=period)).allowed is True
        # One interval refills one hit, not the whole burst.
        assert (await rate_limiter.hit(key, limit=limit, period=period)).allowed is False

    async def test_refused_hits_cost_nothing(self, rate_limiter: RateLimiter) -> None:
        key, limit, period = _key(), 2, 0.5
        await _burst(rate_limiter, key, limit=limit, period=period)
        for _ in range(10):
            assert (await rate_limiter.hit(key, limit=limit, period=period)).allowed is False
        await asyncio.sleep(period / limit + MARGIN)
        assert (await rate_limiter.hit(key, limit=limit, period=period)).allowed is True

    async def test_cost_counts_several_hits(self, rate_limiter: RateLimiter) -> None:
        key = _key()
        first = await rate_limiter.hit(key, limit=5, period=10, cost=3)
        assert (first.allowed, first.remaining) == (True, 2)
        too_much = await rate_limiter.hit(key, limit=5, period=10, cost=3)
        assert (too_much.allowed, too_much.remaining) == (False, 2)
        assert too_much.retry_after > 0
        rest = await rate_limiter.hit(key, limit=5, period=10, cost=2)
        assert (rest.allowed, rest.remaining) == (True, 0)

    async def test_concurrent_hits_allow_exactly_limit(self, rate_limiter: RateLimiter) -> None:
        key = _key()
        decisions = await asyncio.gather(
            *(rate_limiter.hit(key, limit=5, period=10) for _ in range(20))
        )
        assert sum(decision.allowed for decision in decisions) == 5
