"""In-process named leases."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from ghostart.errors import InvalidInput

__all__ = ["MemoryLock"]

# Drop expired leases nobody released after this many acquisitions, to bound memory.
_SWEEP_EVERY = 1024


class MemoryLock:
    """A :class:`~ghostart.ports.lock.Lock` valid within this process only.

    Each acquisition gets a fresh random token, so a holder whose lease expired can neither
    release nor extend the lease of whoever took the name next.

    Args:
        clock: Monotonic seconds; injectable for tests.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._leases: dict[str, tuple[str, float]] = {}  # name -> (token, expires_at)
        self._acquired_since_sweep = 0

    async def acquire(self, name: str, *, ttl: float) -> str | None:
        """Take the lease for ``ttl`` seconds and return its token, or ``None`` if it is held."""
        _check_ttl(ttl)
        now = self._clock()
        self._maybe_sweep(now)
        lease = self._leases.get(name)
        if lease is not None and lease[1] > now:
            return None
        token = secrets.token_hex(16)
        self._leases[name] = (token, now + ttl)
        return token

    async def release(self, name: str, token: str) -> bool:
        """Give the lease back; ``False`` if ``token`` no longer holds it."""
        if not self._holds(name, token):
            return False
        del self._leases[name]
        return True

    async def extend(self, name: str, token: str, *, ttl: float) -> bool:
        """Push expiry to ``ttl`` seconds from now; ``False`` if ``token`` no longer holds it."""
        _check_ttl(ttl)
        if not self._holds(name, token):
            return False
        self._leases[name] = (token, self._clock() + ttl)
        return True

    def _holds(self, name: str, token: str) -> bool:
        lease = self._leases.get(name)
        return (
            lease is not None
            and secrets.compare_digest(lease[0], token)
            and lease[1] > self._clock()
        )

    def _maybe_sweep(self, now: float) -> None:
        self._acquired_since_sweep += 1
        if self._acquired_since_sweep < _SWEEP_EVERY:
            return
        self._acquired_since_sweep = 0
        expired = [name for name, (_, expires_at) in self._leases.items() if expires_at <= now]
        for name in expired:
            del self._leases[name]


def _check_ttl(ttl: float) -> None:
    if not ttl > 0:
        raise InvalidInput("ttl must be a positive number of seconds", field="ttl")
