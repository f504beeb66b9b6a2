"""Cross-process completion signals over Redis pub/sub: "this subject changed, look again".

The Redis side of the core's ``Broadcast`` port (``GHOSTART_BROADCAST_URL``, by default the
queue's URL): the core's ``Notifier`` publishes when a job finishes, and every process's relay
listens and wakes its own waiters, so that a request waiting for its post in an API process is
woken when a worker elsewhere finishes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from uuid import UUID

from redis import exceptions as rexc
from redis.asyncio.cluster import RedisCluster

from ghostart.ports import Monitor
from ghostart.registry import AdapterURL
from ghostart_redis._support import NullMonitor
from ghostart_redis.connection import ConnectionDefaults, RedisConnection
from ghostart_redis.url import URLOptions

__all__ = ["BROADCAST_DEFAULTS", "RedisBroadcast"]

log = logging.getLogger("ghostart.redis.broadcast")

#: A subscription lives for the whole process: PING it, so that a dead link is noticed.
BROADCAST_DEFAULTS = ConnectionDefaults(
    max_connections=8, pool_timeout=1.0, timeout=5.0, connect_timeout=2.0, health_check_interval=15
)

_FAILURES = (rexc.RedisError, OSError, TimeoutError)


class RedisBroadcast:
    """Best-effort "subject changed" signals to every process, on one pub/sub channel.

    Guarantees (those of :class:`~ghostart.ports.Broadcast`): a latency hint only. A signal may be lost (while
    a listener reconnects, or Redis is down), so waiters keep reading the store now and then;
    ``publish`` never raises; ``listen`` never ends until :meth:`aclose`, reconnecting with a
    backoff and reporting failures to the Monitor.

    Every process receives every signal (16 bytes each). That is cheap at the rate jobs finish;
    per-subject channels would cost a SUBSCRIBE and an UNSUBSCRIBE per waiting request instead.

    Args:
        url: The Redis URL (standalone, ``+sentinel`` or ``+cluster``).
        channel: The pub/sub channel; ``{prefix}:changed`` by default.
        monitor: Where failures are reported.
        reconnect_delay: First wait before resubscribing; doubles up to ``max_reconnect_delay``.
    """

    URL_OPTIONS = frozenset({"channel"})

    def __init__(
        self,
        url: str | AdapterURL = "redis://localhost:6379/0",
        *,
        channel: str | None = None,
        monitor: Monitor | None = None,
        reconnect_delay: float = 0.1,
        max_reconnect_delay: float = 5.0,
    ) -> None:
        parsed = url if isinstance(url, AdapterURL) else AdapterURL.parse(url)
        self._conn = RedisConnection.from_url(
            parsed, own_options=self.URL_OPTIONS, defaults=BROADCAST_DEFAULTS
        )
        self.channel = (
            URLOptions(parsed).text("channel") or channel or f"{self._conn.prefix}:changed"
        )
        self._monitor: Monitor = monitor or NullMonitor()
        self.reconnect_delay = reconnect_delay
        self.max_reconnect_delay = max_reconnect_delay
        self._closed = asyncio.Event()
        self._publish_failing = False

    @property
    def connection(self) -> RedisConnection:
        """The Redis connection."""
        return self._conn

    async def publish(self, subject: UUID) -> None:
        """Tell every listening process that ``subject`` changed. Never raises."""
        if self._closed.is_set():
            return
        try:
            async with self._conn.slot():
                await self._conn.client.publish(self.channel, subject.bytes)
        except _FAILURES as exc:
            self._monitor.incr("ghostart.broadcast.errors", op="publish")
            if not self._publish_failing:
                self._publish_failing = True
                self._monitor.capture_exception(exc, operation="broadcast.publish", adapter="redis")
            return
        self._publish_failing = False

    async def listen(self) -> AsyncIterator[UUID]:
        """The subjects that change, from now on, until :meth:`aclose`."""
        delay = self.reconnect_delay
        while not self._closed.is_set():
            client = self._conn.client
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                if isinstance(client, RedisCluster):
                    await client.initialize()  # the slot map, which SUBSCRIBE needs
                await pubsub.subscribe(self.channel)
                delay = self.reconnect_delay
                while not self._closed.is_set():
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    data = message.get("data")
                    if isinstance(data, bytes) and len(data) == 16:
                        yield UUID(bytes=data)
            except Exception as exc:  # whatever it is, keep listening: signals are worth it
                if self._closed.is_set():
                    break
                self._monitor.incr("ghostart.broadcast.errors", op="listen")
                self._monitor.capture_exception(exc, operation="broadcast.listen", adapter="redis")
                log.warning("broadcast: subscription lost (%s); again in %.1f s", exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closed.wait(), timeout=delay)
                delay = min(delay * 2, self.max_reconnect_delay)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore]

    async def open(self) -> None:
        """Check the server when the app starts: unreachable is logged, not fatal.

        Raises:
            ConfigurationError: Redis refused the credentials of the URL.
        """
        error = await self._conn.check("broadcast")
        if error is not None:
            self._monitor.capture_exception(error, operation="broadcast.open", adapter="redis")

    async def aclose(self) -> None:
        """End every :meth:`listen` and close the connections; later publications do nothing."""
        self._closed.set()
        await self._conn.aclose()
