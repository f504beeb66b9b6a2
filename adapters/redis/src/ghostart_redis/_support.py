"""Small pieces the adapters share."""

from __future__ import annotations

import logging
import math
from typing import Any

__all__ = ["NullMonitor", "milliseconds"]

log = logging.getLogger("ghostart.redis")


class NullMonitor:
    """A Monitor that only logs, for adapters built without one (tests, scripts)."""

    def capture_exception(self, exc: BaseException, **context: Any) -> None:
        """Log the error."""
        log.warning("%s: %s %s", type(exc).__name__, exc, context or "")

    def incr(self, metric: str, value: float = 1, **tags: str) -> None:
        """Drop the metric."""

    def observe(self, metric: str, value: float, **tags: str) -> None:
        """Drop the measurement."""


def milliseconds(seconds: float) -> int:
    """Whole milliseconds, rounded up, at least 1 (Redis expiries and blocks take integers)."""
    return max(1, math.ceil(seconds * 1000))
