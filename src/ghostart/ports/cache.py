"""Cache port."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["Cache"]


@runtime_checkable
class Cache(Protocol):
    """A byte cache with per-entry expiry.

    Guarantees an adapter keeps: ``get`` after ``set`` returns the value until ``ttl`` seconds pass
    and ``None`` after; ``delete`` of a missing key is not an error; keys are opaque strings of at
    most 250 characters. A cache may forget any entry early (eviction): callers treat it as a hint,
    never as the truth.
    """

    async def get(self, key: str) -> bytes | None:
        """The value, or ``None`` when absent or expired."""
        ...

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        """Store ``value``; ``ttl`` in seconds, ``None`` for the adapter's default."""
        ...

    async def delete(self, key: str) -> None:
        """Forget ``key``."""
        ...
