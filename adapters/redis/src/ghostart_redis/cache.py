"""The Cache port on Redis: namespaced, versioned keys; an envelope; failures are misses."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis import exceptions as rexc

from ghostart.errors import ConfigurationError
from ghostart.ports import Monitor
from ghostart.registry import AdapterURL
from ghostart_redis._support import NullMonitor, milliseconds
from ghostart_redis.connection import ConnectionDefaults, RedisConnection
from ghostart_redis.url import URLOptions

__all__ = ["CACHE_DEFAULTS", "RedisCache"]

log = logging.getLogger("ghostart.redis.cache")

T = TypeVar("T")

#: Short timeouts: a cache that answers late is worth less than a miss.
CACHE_DEFAULTS = ConnectionDefaults(
    max_connections=50, pool_timeout=0.5, timeout=0.5, connect_timeout=0.5
)

#: Format of the stored value: 2 magic bytes, the format version, flags (none yet), the value.
_MAGIC = b"ga"
_FORMAT = 1
_HEADER = _MAGIC + bytes([_FORMAT, 0])

#: Errors that make an operation a miss (or a no-op) instead of an exception.
_DEGRADE = (rexc.RedisError, OSError, TimeoutError)


class RedisCache:
    """A :class:`~ghostart.ports.cache.Cache` on Redis, for many processes.

    Keys are ``{prefix}:cache:v1:[{version}:]{key}``: ``prefix`` separates deployments that
    share a server, ``v1`` is this adapter's value format and ``version`` (optional) lets you
    drop every entry at once by changing it. Values are stored in a small envelope (magic bytes,
    format, flags): a value written by an older or newer format, or by something else, is a
    miss, never an error.

    Redis being down, slow or refusing never reaches the caller: ``get`` is a miss, ``set`` and
    ``delete`` do nothing. The first failure of an outage is reported to the Monitor
    (``capture_exception``), every failure counts in ``ghostart.cache.errors``; for ``cooldown``
    seconds after a failure the cache answers at once without trying Redis (counted in
    ``ghostart.cache.skipped``), so that an unreachable server costs no request a connect
    timeout. Recovery counts in ``ghostart.cache.recovered``.

    Query options of ``url`` win over the keyword arguments, as in redis-py's ``from_url``:
    ``ttl``, ``version``, ``cooldown``, and the connection options of
    :class:`~ghostart_redis.connection.RedisConnection`.

    Args:
        url: The Redis URL (standalone, ``+sentinel`` or ``+cluster``).
        default_ttl: Seconds an entry lives when ``set`` gets no ``ttl``; ``None`` for ever.
        version: Added to every key; change it to start from an empty cache.
        cooldown: Seconds to skip Redis after a failure.
        monitor: Where failures are reported.
        clock: Monotonic seconds, for the cooldown; injectable for tests.
    """

    URL_OPTIONS = frozenset({"ttl", "version", "cooldown"})

    def __init__(
        self,
        url: str | AdapterURL = "redis://localhost:6379/0",
        *,
        default_ttl: float | None = 7 * 24 * 3600,
        version: str = "",
        cooldown: float = 1.0,
        monitor: Monitor | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        parsed = url if isinstance(url, AdapterURL) else AdapterURL.parse(url)
        self._conn = RedisConnection.from_url(
            parsed, own_options=self.URL_OPTIONS, defaults=CACHE_DEFAULTS
        )
        options = URLOptions(parsed)
        if "ttl" in options:
            default_ttl = options.number("ttl", 0.0)
        if default_ttl is not None and default_ttl <= 0:
            raise ConfigurationError(
                f"{options.shown}: the default ttl must be positive", setting="default_ttl"
            )
        cooldown = options.number("cooldown", cooldown)
        if cooldown < 0:
            raise ConfigurationError(
                f"{options.shown}: cooldown can not be negative", setting="cooldown"
            )
        version = options.text("version", version) or ""
        self.default_ttl = default_ttl
        self.cooldown = cooldown
        self.namespace = f"{self._conn.prefix}:cache:v{_FORMAT}:" + (
            f"{version}:" if version else ""
        )
        self._monitor: Monitor = monitor or NullMonitor()
        self._clock = clock
        self._skip_until = float("-inf")
        self._failing = False

    @property
    def connection(self) -> RedisConnection:
        """The Redis connection (for health checks and tests)."""
        return self._conn

    def key(self, key: str) -> str:
        """The Redis key that holds ``key``."""
        return self.namespace + key

    async def open(self) -> None:
        """Check the server when the app starts: unreachable is reported, not fatal.

        Raises:
            ConfigurationError: Redis refused the credentials of the URL.
        """
        error = await self._conn.check("cache")
        if error is not None:
            self._failed("open", error.__cause__ or error)

    async def ping(self) -> None:
        """PING the server, raising if it does not answer (health checks: reads fail soft).

        Raises:
            TransientError: Redis is unreachable.
            ConfigurationError: Redis refused the credentials of the URL.
        """
        error = await self._conn.check("cache ping")
        if error is not None:
            raise error

    async def aclose(self) -> None:
        """Close the connections."""
        await self._conn.aclose()

    async def get(self, key: str) -> bytes | None:
        """The value, or ``None`` when absent, expired, foreign, or Redis fails."""
        raw = await self._call("get", lambda: self._conn.client.get(self.key(key)), None)
        if raw is None:
            return None
        if not isinstance(raw, bytes) or raw[:4] != _HEADER:
            # Written by another format of this adapter, or by something else: a miss.
            reason = "format" if raw[:2] == _MAGIC else "foreign"
            self._monitor.incr("ghostart.cache.unreadable", reason=reason)
            return None
        return raw[4:]

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        """Store ``value``; ``ttl`` in seconds, ``None`` for the default, ``<= 0`` to forget."""
        ttl = self.default_ttl if ttl is None else ttl
        if ttl is not None and ttl <= 0:
            await self.delete(key)
            return
        data = _HEADER + bytes(value)
        px = None if ttl is None else milliseconds(ttl)
        await self._call("set", lambda: self._conn.client.set(self.key(key), data, px=px), None)

    async def delete(self, key: str) -> None:
        """Forget ``key``; a missing key is not an error."""
        await self._call("delete", lambda: self._conn.client.delete(self.key(key)), None)

    async def _call(self, op: str, command: Callable[[], Awaitable[T]], default: T) -> T:
        if self._clock() < self._skip_until:
            self._monitor.incr("ghostart.cache.skipped", op=op)
            return default
        try:
            async with self._conn.slot():
                result = await command()
        except _DEGRADE as exc:
            self._failed(op, exc)
            return default
        if self._failing:
            self._failing = False
            self._monitor.incr("ghostart.cache.recovered")
            log.info("Redis cache at %s answers again", self._conn.url)
        return result

    def _failed(self, op: str, exc: BaseException) -> None:
        self._monitor.incr("ghostart.cache.errors", op=op, error=type(exc).__name__)
        if not self._failing:
            self._failing = True
            log.warning(
                "Redis cache at %s failed (%s: %s); serving misses",
                self._conn.url,
                type(exc).__name__,
                exc,
            )
            self._monitor.capture_exception(
                exc, operation=f"cache.{op}", adapter="redis", url=self._conn.url
            )
        self._skip_until = self._clock() + self.cooldown
