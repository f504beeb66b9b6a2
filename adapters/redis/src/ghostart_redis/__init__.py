"""ghostart on Redis: a cache, locks, a job queue and rate limits shared by many processes.

Install ``ghostart-redis`` and point the settings at a Redis URL::

    GHOSTART_CACHE_URL=redis://localhost:6379/0
    GHOSTART_QUEUE_URL=redis://localhost:6379/0
    GHOSTART_LOCK_URL=redis://localhost:6379/0
    GHOSTART_RATE_LIMIT_URL=redis://localhost:6379/0

The classes are importable from here; importing this package does not import redis-py until a
class is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ghostart_redis.broadcast import RedisBroadcast
    from ghostart_redis.cache import RedisCache
    from ghostart_redis.connection import RedisConnection
    from ghostart_redis.lock import RedisLock
    from ghostart_redis.queue import DeadLetter, RedisQueue
    from ghostart_redis.ratelimit import RedisRateLimiter

__all__ = [
    "DeadLetter",
    "RedisBroadcast",
    "RedisCache",
    "RedisConnection",
    "RedisLock",
    "RedisQueue",
    "RedisRateLimiter",
]

_HOMES = {
    "DeadLetter": "queue",
    "RedisBroadcast": "broadcast",
    "RedisCache": "cache",
    "RedisConnection": "connection",
    "RedisLock": "lock",
    "RedisQueue": "queue",
    "RedisRateLimiter": "ratelimit",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'ghostart_redis' has no attribute {name!r}")
    return getattr(importlib.import_module(f"ghostart_redis.{home}"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
