"""Monitor port."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["Monitor"]


@runtime_checkable
class Monitor(Protocol):
    """Errors, metrics and breadcrumbs. Guarantee: never raises, never blocks the caller."""

    def capture_exception(self, exc: BaseException, **context: Any) -> None:
        """Report an error with context (ids, never secrets)."""
        ...

    def incr(self, metric: str, value: float = 1, **tags: str) -> None:
        """Add to a counter."""
        ...

    def observe(self, metric: str, value: float, **tags: str) -> None:
        """Record a measurement (a duration in seconds, a size)."""
        ...
