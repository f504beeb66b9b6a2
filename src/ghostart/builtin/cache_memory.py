"""In-process cache: a bounded LRU dictionary with per-entry expiry."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from ghostart.errors import ConfigurationError

__all__ = ["MemoryCache"]


class MemoryCache:
    """A :class:`~ghostart.ports.cache.Cache` held in this process's memory.

    Entries expire ``ttl`` seconds after they are set and are dropped when next read. When more
    than ``max_entries`` are held, the least recently used ones are evicted.

    Args:
        max_entries: How many entries to keep at most (at least 1).
        default_ttl: Seconds an entry lives when ``set`` is given no ``ttl``; ``None`` for ever.
        clock: Monotonic seconds; injectable for tests.
    """

    def __init__(
        self,
        max_entries: int = 10_000,
        default_ttl: float | None = 3600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ConfigurationError("max_entries must be at least 1", setting="max_entries")
        if default_ttl is not None and default_ttl <= 0:
            raise ConfigurationError("default_ttl must be positive or None", setting="default_ttl")
        self._max_entries = max_entries
        self._default_ttl = default_ttl
        self._clock = clock
        # key -> (value, expires_at or None); order is least to most recently used.
        self._entries: OrderedDict[str, tuple[bytes, float | None]] = OrderedDict()

    def __len__(self) -> int:
        """How many entries are held, expired ones not yet dropped included."""
        return len(self._entries)

    async def get(self, key: str) -> bytes | None:
        """The value, or ``None`` when absent or expired."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, expires_at = entry
        if expires_at is not None and expires_at <= self._clock():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        """Store ``value``; ``ttl`` in seconds, ``None`` for the default, ``<= 0`` to forget."""
        ttl = self._default_ttl if ttl is None else ttl
        if ttl is not None and ttl <= 0:
            self._entries.pop(key, None)
            return
        expires_at = None if ttl is None else self._clock() + ttl
        self._entries[key] = (value, expires_at)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    async def delete(self, key: str) -> None:
        """Forget ``key``; a missing key is not an error."""
        self._entries.pop(key, None)
