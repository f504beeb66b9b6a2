"""Clock port."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

__all__ = ["Clock"]


@runtime_checkable
class Clock(Protocol):
    """Time, injectable so that tests control it. Guarantee: ``now`` is timezone-aware UTC."""

    def now(self) -> datetime:
        """The current time."""
        ...
