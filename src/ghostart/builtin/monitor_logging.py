"""The logging monitor: errors and metrics to the ``ghostart.monitor`` logger, counters in memory."""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

__all__ = ["LoggingMonitor"]

log = logging.getLogger("ghostart.monitor")


def _key(metric: str, tags: dict[str, str]) -> str:
    return metric + "".join(f",{k}={v}" for k, v in sorted(tags.items()))


class LoggingMonitor:
    """Never raises. ``counters`` and ``observations`` keep metrics in memory for tests and health checks."""

    def __init__(self) -> None:
        self.counters: defaultdict[str, float] = defaultdict(float)
        self.observations: dict[str, list[float]] = {}

    def capture_exception(self, exc: BaseException, **context: Any) -> None:
        """Log the error with its context."""
        self.counters[_key("ghostart.errors", {"type": type(exc).__name__})] += 1
        log.error("%s: %s %s", type(exc).__name__, exc, context or "", exc_info=exc)

    def incr(self, metric: str, value: float = 1, **tags: str) -> None:
        """Add to a counter."""
        self.counters[_key(metric, tags)] += value

    def observe(self, metric: str, value: float, **tags: str) -> None:
        """Keep the last 1,000 measurements of a metric."""
        values = self.observations.setdefault(_key(metric, tags), [])
        values.append(value)
        del values[:-1000]
