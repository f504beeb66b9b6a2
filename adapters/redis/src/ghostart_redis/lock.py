"""The Lock port on Redis: owner-token leases (``SET NX PX``; release and extend in Lua)."""

from __future__ import annotations

import secrets

from ghostart.errors import InvalidInput
from ghostart.registry import AdapterURL
from ghostart_redis._support import milliseconds
from ghostart_redis.connection import ConnectionDefaults, RedisConnection, translated

__all__ = ["LOCK_DEFAULTS", "RedisLock"]

LOCK_DEFAULTS = ConnectionDefaults(max_connections=20, pool_timeout=2.0, timeout=2.0)

# Compare-and-delete and compare-and-expire: only the holder's token may end or extend a lease,
# and the check and the change are one step on the server.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""

_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


class RedisLock:
    """A :class:`~ghostart.ports.lock.Lock` shared by every process using the same Redis.

    ``acquire`` is ``SET {prefix}:lock:{name} token NX PX ttl`` with a fresh random token, so a
    holder whose lease expired can neither release nor extend the lease of whoever took the
    name next. Expiry runs on the server's clock.

    Failures raise :class:`~ghostart.errors.TransientError`: a caller that can do without the
    lock (single-flight) decides what to do, rather than the lock pretending to be held.

    Args:
        url: The Redis URL (standalone, ``+sentinel`` or ``+cluster``).
    """

    def __init__(self, url: str | AdapterURL = "redis://localhost:6379/0") -> None:
        self._conn = RedisConnection.from_url(url, defaults=LOCK_DEFAULTS)
        self.namespace = f"{self._conn.prefix}:lock:"
        self._release = self._conn.client.register_script(_RELEASE)
        self._extend = self._conn.client.register_script(_EXTEND)

    @property
    def connection(self) -> RedisConnection:
        """The Redis connection."""
        return self._conn

    async def open(self) -> None:
        """Check the server when the app starts: unreachable is logged, not fatal.

        Raises:
            ConfigurationError: Redis refused the credentials of the URL.
        """
        await self._conn.check("lock")

    async def aclose(self) -> None:
        """Close the connections."""
        await self._conn.aclose()

    async def acquire(self, name: str, *, ttl: float) -> str | None:
        """Take the lease for ``ttl`` seconds and return its token, or ``None`` if it is held."""
        px = _ttl_ms(ttl)
        token = secrets.token_hex(16)
        with translated("lock acquire"):
            async with self._conn.slot():
                taken = await self._conn.client.set(self.namespace + name, token, nx=True, px=px)
        return token if taken else None

    async def release(self, name: str, token: str) -> bool:
        """Give the lease back; ``False`` if ``token`` no longer holds it."""
        with translated("lock release"):
            async with self._conn.slot():
                done = await self._release(keys=[self.namespace + name], args=[token])
        return bool(done)

    async def extend(self, name: str, token: str, *, ttl: float) -> bool:
        """Push expiry to ``ttl`` seconds from now; ``False`` if ``token`` no longer holds it."""
        px = _ttl_ms(ttl)
        with translated("lock extend"):
            async with self._conn.slot():
                done = await self._extend(keys=[self.namespace + name], args=[token, px])
        return bool(done)


def _ttl_ms(ttl: float) -> int:
    if not ttl > 0:
        raise InvalidInput("ttl must be a positive number of seconds", field="ttl")
    return milliseconds(ttl)
