"""The plugin: registers the Redis adapters for ``redis://`` and ``rediss://``.

The ``+sentinel`` and ``+cluster`` variants reach the same factories: the registry looks a
scheme up as written, then by its base (``redis+sentinel`` -> ``redis``).

Factories import redis-py only when called, so that loading the plugin costs nothing.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ghostart.hookspecs import hookimpl
from ghostart.registry import AdapterRegistry, AdapterURL, BuildContext

__all__ = ["PACKAGE", "SCHEMES", "ghostart_register_adapters"]

PACKAGE = "ghostart-redis"
SCHEMES = ("redis", "rediss")


def _cache(url: AdapterURL, ctx: BuildContext) -> Any:
    from ghostart_redis.cache import RedisCache

    return RedisCache(url, default_ttl=ctx.settings.cache_ttl_seconds, monitor=ctx.monitor)


def _lock(url: AdapterURL, ctx: BuildContext) -> Any:
    from ghostart_redis.lock import RedisLock

    return RedisLock(url)


def _queue(url: AdapterURL, ctx: BuildContext) -> Any:
    from ghostart_redis.queue import RedisQueue

    return RedisQueue(url, visibility_timeout=ctx.settings.job_lease_seconds, monitor=ctx.monitor)


def _rate_limiter(url: AdapterURL, ctx: BuildContext) -> Any:
    from ghostart_redis.ratelimit import RedisRateLimiter

    return RedisRateLimiter(url, monitor=ctx.monitor)


def _broadcast(url: AdapterURL, ctx: BuildContext) -> Any:
    from ghostart_redis.broadcast import RedisBroadcast
    from ghostart_redis.queue import RedisQueue

    if ctx.settings.broadcast_url is None:
        # GHOSTART_BROADCAST_URL unset: this is the queue's URL, whose own options are not ours.
        kept = {k: v for k, v in url.options.items() if k not in RedisQueue.URL_OPTIONS}
        url = dataclasses.replace(url, options=kept)
    return RedisBroadcast(url, monitor=ctx.monitor)


@hookimpl
def ghostart_register_adapters(registry: AdapterRegistry) -> None:
    """Register the cache, lock, queue, rate limiter and broadcast for ``redis``/``rediss``."""
    kw = {"package": PACKAGE}
    for scheme in SCHEMES:
        registry.add_cache(scheme, _cache, description="shared; misses when Redis is down", **kw)
        registry.add_lock(scheme, _lock, description="owner-token leases", **kw)
        registry.add_queue(
            scheme, _queue, description="Streams consumer group, at least once", **kw
        )
        registry.add_rate_limiter(
            scheme, _rate_limiter, description="GCRA in Lua, server clock", **kw
        )
        registry.add_broadcast(
            scheme, _broadcast, description="pub/sub completion signals to every process", **kw
        )
