"""Lock port."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["Lock"]


@runtime_checkable
class Lock(Protocol):
    """Named leases with a time to live.

    Guarantees: at most one holder of a name at a time while its lease lasts; a lease not released
    expires after ``ttl`` seconds, so a crashed holder never blocks forever; only the holder's token
    can release or extend it.
    """

    async def acquire(self, name: str, *, ttl: float) -> str | None:
        """Take the lease and return its token, or ``None`` if someone holds it."""
        ...

    async def release(self, name: str, token: str) -> bool:
        """Give the lease back; ``False`` if ``token`` no longer holds it."""
        ...

    async def extend(self, name: str, token: str, *, ttl: float) -> bool:
        """Push expiry to ``ttl`` seconds from now; ``False`` if ``token`` no longer holds it."""
        ...
