"""The RateLimiter port on Redis: GCRA in one Lua script, on the server's clock."""

from __future__ import annotations

import logging

from ghostart.errors import TransientError
from ghostart.ports import Monitor, RateDecision
from ghostart.ports.ratelimit import check_hit
from ghostart.registry import AdapterURL
from ghostart_redis._support import NullMonitor
from ghostart_redis.connection import ConnectionDefaults, RedisConnection, translated
from ghostart_redis.url import URLOptions

__all__ = ["RATE_LIMIT_DEFAULTS", "RedisRateLimiter"]

log = logging.getLogger("ghostart.redis.ratelimit")

#: On the request path: short timeouts, then fail open (see ``fail_open``).
RATE_LIMIT_DEFAULTS = ConnectionDefaults(
    max_connections=20, pool_timeout=1.0, timeout=1.0, connect_timeout=1.0
)

# GCRA (after brandur's "Rate Limiting, Cells, and GCRA"), times in microseconds of the
# server's clock so that every process agrees. The key holds the theoretical arrival time
# (TAT); a hit costs ``cost`` emission intervals; a refused hit changes nothing. The key expires
# when its TAT passes, when it would be as good as new. One microsecond of slack absorbs the
# rounding of doubles near 1.7e15.
_GCRA = """
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = period / limit
local tat = tonumber(redis.call('GET', KEYS[1]) or '') or now
if tat < now then tat = now end
local new_tat = tat + cost * interval
local allow_at = new_tat - period
if allow_at - now > 1 then
    local remaining = math.floor((now + period - tat + 1) / interval)
    if remaining < 0 then remaining = 0 end
    return {0, remaining, string.format('%.0f', math.ceil(allow_at - now))}
end
redis.call('SET', KEYS[1], string.format('%.17g', new_tat),
           'PX', math.ceil((new_tat - now) / 1000) + 1)
local remaining = math.floor((now + period - new_tat + 1) / interval)
if remaining < 0 then remaining = 0 end
return {1, remaining, '0'}
"""


class RedisRateLimiter:
    """A :class:`~ghostart.ports.ratelimit.RateLimiter` shared by every process.

    GCRA in one Lua script: atomic, one round trip a hit, one small key per limited key
    (``{prefix}:rate:{key}``) that expires on its own, and the server's clock, so that
    processes on machines whose clocks differ still agree.

    With ``fail_open`` (the default), a Redis failure (unreachable, timeout, failover) allows
    the hit, reports the first failure of an outage to the Monitor and counts each in
    ``ghostart.ratelimit.errors``: limits protect against abuse, and Redis down should cost
    that protection for a while, not refuse every request. With ``fail_open=False`` (or
    ``?fail_open=false``) failures raise :class:`~ghostart.errors.TransientError`. Refused
    credentials are a :class:`~ghostart.errors.ConfigurationError` either way.

    Args:
        url: The Redis URL (standalone, ``+sentinel`` or ``+cluster``).
        fail_open: Allow hits when Redis fails.
        monitor: Where failures are reported.
    """

    URL_OPTIONS = frozenset({"fail_open"})

    def __init__(
        self,
        url: str | AdapterURL = "redis://localhost:6379/0",
        *,
        fail_open: bool = True,
        monitor: Monitor | None = None,
    ) -> None:
        parsed = url if isinstance(url, AdapterURL) else AdapterURL.parse(url)
        self._conn = RedisConnection.from_url(
            parsed, own_options=self.URL_OPTIONS, defaults=RATE_LIMIT_DEFAULTS
        )
        self.fail_open = URLOptions(parsed).flag("fail_open", fail_open)
        self.namespace = f"{self._conn.prefix}:rate:"
        self._monitor: Monitor = monitor or NullMonitor()
        self._gcra = self._conn.client.register_script(_GCRA)
        self._failing = False

    @property
    def connection(self) -> RedisConnection:
        """The Redis connection."""
        return self._conn

    async def open(self) -> None:
        """Check the server when the app starts: unreachable is logged, not fatal.

        Raises:
            ConfigurationError: Redis refused the credentials of the URL.
        """
        error = await self._conn.check("rate limiter")
        if error is not None:
            self._monitor.capture_exception(error, operation="rate_limiter.open", adapter="redis")

    async def ping(self) -> None:
        """PING the server, raising if it does not answer (health checks: reads fail soft).

        Raises:
            TransientError: Redis is unreachable.
            ConfigurationError: Redis refused the credentials of the URL.
        """
        error = await self._conn.check("rate limiter ping")
        if error is not None:
            raise error

    async def aclose(self) -> None:
        """Close the connections."""
        await self._conn.aclose()

    async def hit(self, key: str, *, limit: int, period: float, cost: int = 1) -> RateDecision:
        """Count ``cost`` hits of ``key`` if allowed.

        Raises:
            InvalidInput: ``limit`` or ``cost`` is below 1, ``cost`` exceeds ``limit``, or
                ``period`` is not positive.
            TransientError: Redis failed and ``fail_open`` is off.
        """
        check_hit(limit, period, cost)
        period_us = max(1, round(period * 1_000_000))
        try:
            with translated("rate limit"):
                async with self._conn.slot():
                    allowed, remaining, retry_us = await self._gcra(
                        keys=[self.namespace + key], args=[limit, period_us, cost]
                    )
        except TransientError as exc:
            if not self.fail_open:
                raise
            self._failed(exc.__cause__ or exc)
            return RateDecision(allowed=True, remaining=max(0, limit - cost), retry_after=0.0)
        if self._failing:
            self._failing = False
            self._monitor.incr("ghostart.ratelimit.recovered")
        return RateDecision(
            allowed=bool(allowed),
            remaining=int(remaining),
            retry_after=int(retry_us) / 1_000_000,
        )

    def _failed(self, exc: BaseException) -> None:
        self._monitor.incr("ghostart.ratelimit.errors", error=type(exc).__name__)
        if not self._failing:
            self._failing = True
            log.warning("Redis rate limiter at %s failed (%s); allowing hits", self._conn.url, exc)
            self._monitor.capture_exception(
                exc, operation="ratelimit.hit", adapter="redis", url=self._conn.url
            )
