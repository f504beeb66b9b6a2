"""Rate limiter port."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["RateDecision", "RateLimiter"]


@dataclass(frozen=True, slots=True)
class RateDecision:
    """The answer to one hit."""

    allowed: bool
    remaining: int
    #: Seconds until the hit would be allowed (0 when allowed).
    retry_after: float


@runtime_checkable
class RateLimiter(Protocol):
    """Limits events per key.

    Guarantee: over any window of ``period`` seconds at most ``limit`` hits of a key are allowed
    (GCRA: evenly spaced, with bursts up to ``limit``); a refused hit costs nothing.
    """

    async def hit(self, key: str, *, limit: int, period: float, cost: int = 1) -> RateDecision:
        """Count one hit of ``key`` if allowed."""
        ...
