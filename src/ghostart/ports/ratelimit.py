"""Rate limiter port."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ghostart.errors import InvalidInput

__all__ = ["RateDecision", "RateLimiter", "check_hit"]


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

    Guarantees (GCRA): hits of a key are allowed at a sustained rate of ``limit`` per ``period``
    seconds, with bursts of up to ``limit`` at once; a refused hit costs nothing and says in
    ``retry_after`` when it would be allowed. ``limit >= 1``, ``period > 0`` and
    ``1 <= cost <= limit``, otherwise :class:`~ghostart.errors.InvalidInput`.
    """

    async def hit(self, key: str, *, limit: int, period: float, cost: int = 1) -> RateDecision:
        """Count one hit of ``key`` if allowed."""
        ...


def check_hit(limit: int, period: float, cost: int) -> None:
    """Refuse a hit the port does not allow (for adapters): :class:`InvalidInput` naming it."""
    if limit < 1:
        raise InvalidInput("limit must be at least 1", field="limit")
    if not period > 0:
        raise InvalidInput("period must be positive", field="period")
    if cost < 1:
        raise InvalidInput("cost must be at least 1", field="cost")
    if cost > limit:
        raise InvalidInput(
            "cost can not exceed limit: the hit could never be allowed", field="cost"
        )
