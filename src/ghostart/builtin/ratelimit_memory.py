"""In-process rate limiter (GCRA)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from ghostart.ports.ratelimit import RateDecision, check_hit

__all__ = ["MemoryRateLimiter"]

# Float sums of emission intervals drift by a few ulps; forgive that much.
_EPSILON = 1e-9


class MemoryRateLimiter:
    """A :class:`~ghostart.ports.ratelimit.RateLimiter` counting in this process's memory.

    GCRA, the generic cell rate algorithm: each key keeps a theoretical arrival time (TAT). Hits
    are spaced by the emission interval ``T = period / limit``, with bursts of up to ``limit``
    hits. A refused hit changes nothing. Keys whose TAT has passed are as good as new and are
    dropped from time to time, so memory stays bounded by the keys active in the last period.

    Args:
        clock: Monotonic seconds; injectable for tests.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tats: dict[str, float] = {}
        self._hits_since_sweep = 0

    async def hit(self, key: str, *, limit: int, period: float, cost: int = 1) -> RateDecision:
        """Count ``cost`` hits of ``key`` if allowed.

        Raises:
            InvalidInput: ``limit`` or ``cost`` is below 1, ``cost`` exceeds ``limit``, or
                ``period`` is not positive.
        """
        check_hit(limit, period, cost)
        now = self._clock()
        self._maybe_sweep(now)
        interval = period / limit
        tat = max(self._tats.get(key, now), now)
        new_tat = tat + cost * interval
        allow_at = new_tat - period
        if allow_at - now > interval * _EPSILON + _EPSILON:
            return RateDecision(
                allowed=False,
                remaining=_remaining(tat, now, period, interval),
                retry_after=allow_at - now,
            )
        self._tats[key] = new_tat
        return RateDecision(
            allowed=True, remaining=_remaining(new_tat, now, period, interval), retry_after=0.0
        )

    def _maybe_sweep(self, now: float) -> None:
        # Sweeping after as many hits as there are keys keeps the cost O(1) per hit.
        self._hits_since_sweep += 1
        if self._hits_since_sweep < max(1024, len(self._tats)):
            return
        self._hits_since_sweep = 0
        self._tats = {key: tat for key, tat in self._tats.items() if tat > now}


def _remaining(tat: float, now: float, period: float, interval: float) -> int:
    return max(0, math.floor((now + period - tat) / interval + _EPSILON))
