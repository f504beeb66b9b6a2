"""The Queue port on Redis Streams: at least once, for many worker processes."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from redis import exceptions as rexc
from redis.commands.core import AsyncScript

from ghostart.builtin.queue_memory import QueueSize
from ghostart.errors import ConfigurationError
from ghostart.ports import Delivery, Monitor
from ghostart.registry import AdapterURL
from ghostart_redis import _queue_lua as lua
from ghostart_redis._batch import Coalescer
from ghostart_redis._support import NullMonitor, milliseconds
from ghostart_redis.connection import ConnectionDefaults, RedisConnection, translated
from ghostart_redis.url import URLOptions

__all__ = ["QUEUE_DEFAULTS", "DeadLetter", "QueueSize", "RedisQueue"]

log = logging.getLogger("ghostart.redis.queue")

QUEUE_DEFAULTS = ConnectionDefaults(max_connections=20, pool_timeout=5.0, timeout=5.0)

_GROUP = "ghostart"
#: The most jobs one script call carries (enqueues, acks, deliveries): bounds its time on the server.
_BATCH = 100
_ENTRY_ID = re.compile(r"^\d+-\d+$")


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A job id the queue gave up on: it was delivered ``deliveries`` times and never acked."""

    id: str
    job_id: str
    deliveries: int
    reason: str


class RedisQueue:
    """A :class:`~ghostart.ports.queue.Queue` on one Redis stream and consumer group.

    - ``enqueue`` adds ``{j: job id}`` to the stream (``XADD``), or to a sorted set when
      delayed; ``receive`` reads as the group (``XREADGROUP``), so each entry goes to one
      consumer and stays in the group's pending list until ``ack`` (``XACK`` + ``XDEL``).
    - A delivery not acked within ``visibility_timeout`` is taken over by the next receiver
      (``XPENDING IDLE`` + ``XCLAIM``, scanned at most every ``poll_interval``), unless
      ``extend`` pushed its deadline further (a long job's heartbeat). Redelivery of a stalled
      id therefore takes at most the visibility timeout plus one ``poll_interval``.
    - Delayed ids (``enqueue(delay=...)``, ``nack(delay=...)``) wait in a sorted set on the
      server's clock and join the stream, atomically, once due.
    - ``attempt`` is the number of deliveries of the id (the pending list's delivery count plus
      the deliveries before a nack). An id delivered ``max_deliveries`` times without an ack
      goes to a dead-letter stream instead of being delivered again (:meth:`dead_letters`):
      a poison id can not take workers down for ever. The job row remains the truth: the
      reconciler enqueues it again if it is still due.
    - A receipt is the entry id and its delivery count, checked in the same Lua script that
      acts on it: ``ack``/``nack``/``extend`` of a receipt that was acked or delivered again
      since do nothing.
    - One copy per job id: enqueueing an id that already waits (ready or delayed) keeps one
      copy, due at the earlier time. The worker's claim would make duplicates harmless, but the
      reconciler re-enqueues every due job each lease while a backlog drains, and without this
      a backlog would grow by itself. An id enqueued while in flight (a retry scheduled by the
      running job) gets one more copy.
    - ``aclose`` gives back at once every delivery this instance still holds, rather than
      leaving it to the visibility timeout.

    Receivers block in ``XREADGROUP`` (woken by any ``XADD``) for at most ``poll_interval``,
    then run the receive script again: it moves due delayed ids, reclaims stalled ones, and
    reads the next entry, in one round trip.

    Query options of ``url`` win over keyword arguments: ``name``, ``visibility_timeout``,
    ``max_deliveries``, ``poll_interval``, and the connection options.

    Args:
        url: The Redis URL (standalone, ``+sentinel`` or ``+cluster``).
        name: The queue's name; queues of different names share nothing.
        visibility_timeout: Seconds a received id stays hidden.
        max_deliveries: Deliveries of an id before it is dead-lettered (at least 2).
        poll_interval: Longest blocking read, and the reclaim scan interval; defaults to
            a quarter of the visibility timeout, at most 1 s.
        dead_letter_length: Roughly how many dead letters to keep.
        monitor: Where dead letters are counted (``ghostart.queue.dead_lettered``).
        consumer: This instance's consumer name; unique by default (host, pid, random).
    """

    URL_OPTIONS = frozenset({"name", "visibility_timeout", "max_deliveries", "poll_interval"})

    def __init__(
        self,
        url: str | AdapterURL = "redis://localhost:6379/0",
        *,
        name: str = "jobs",
        visibility_timeout: float = 60.0,
        max_deliveries: int = 10,
        poll_interval: float | None = None,
        dead_letter_length: int = 10_000,
        monitor: Monitor | None = None,
        consumer: str | None = None,
    ) -> None:
        parsed = url if isinstance(url, AdapterURL) else AdapterURL.parse(url)
        self._conn = RedisConnection.from_url(
            parsed, own_options=self.URL_OPTIONS, defaults=QUEUE_DEFAULTS
        )
        options = URLOptions(parsed)
        shown = options.shown
        name = options.text("name", name) or name
        visibility_timeout = options.number("visibility_timeout", visibility_timeout)
        max_deliveries = options.whole("max_deliveries", max_deliveries, minimum=2)
        if "poll_interval" in options:
            poll_interval = options.number("poll_interval", 1.0)
        if "{" in name or "}" in name or not name:
            raise ConfigurationError(f"{shown}: the queue name may not be empty or hold braces")
        if not visibility_timeout > 0:
            raise ConfigurationError(
                f"{shown}: visibility_timeout must be positive", setting="visibility_timeout"
            )
        if max_deliveries < 2:
            raise ConfigurationError(
                f"{shown}: max_deliveries must be at least 2", setting="max_deliveries"
            )
        if poll_interval is None:
            poll_interval = min(1.0, visibility_timeout / 4)
        if not poll_interval > 0:
            raise ConfigurationError(
                f"{shown}: poll_interval must be positive", setting="poll_interval"
            )
        socket_timeout = self._conn.socket_timeout
        if socket_timeout is not None and poll_interval >= socket_timeout:
            raise ConfigurationError(
                f"{shown}: poll_interval ({poll_interval} s) must be shorter than the socket "
                f"timeout ({socket_timeout} s)",
                setting="poll_interval",
            )
        self.name = name
        self.visibility_timeout = visibility_timeout
        self.max_deliveries = max_deliveries
        self.poll_interval = poll_interval
        self.dead_letter_length = dead_letter_length
        self.consumer = consumer or (f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}")
        base = f"{{{self._conn.prefix}:queue:{name}}}"
        self.keys = [
            f"{base}:stream",
            f"{base}:delayed",
            f"{base}:ids",
            f"{base}:carry",
            f"{base}:leases",
            f"{base}:dead",
            f"{base}:meta",
        ]
        self._monitor: Monitor = monitor or NullMonitor()
        client = self._conn.client
        self._enqueue = client.register_script(lua.ENQUEUE)
        self._receive = client.register_script(lua.RECEIVE)
        self._ack = client.register_script(lua.ACK)
        self._nack = client.register_script(lua.NACK)
        self._extend = client.register_script(lua.EXTEND)
        self._handback = client.register_script(lua.HANDBACK)
        # Concurrent enqueues and acks share round trips (see ``_batch``).
        self._enqueues: Coalescer[tuple[str, int]] = Coalescer(self._send_enqueues, _BATCH)
        self._acks: Coalescer[tuple[str, int]] = Coalescer(self._send_acks, _BATCH)
        self._closed = False
        self._delivered = False  # whether there can be anything to give back on close

    @property
    def connection(self) -> RedisConnection:
        """The Redis connection."""
        return self._conn

    async def enqueue(self, job_id: UUID, *, delay: float = 0.0) -> None:
        """Make ``job_id`` available to receivers after ``delay`` seconds.

        Enqueues made while another is on its way go to Redis together, in one script call;
        each returns once its own has been carried out.
        """
        self._check_open()
        await self._enqueues.submit((str(job_id), milliseconds(delay) if delay > 0 else 0))

    async def receive(self, *, timeout: float) -> Delivery | None:
        """Wait up to ``timeout`` seconds for a job id; ``None`` if none came."""
        deliveries = await self.receive_many(1, timeout=timeout)
        return deliveries[0] if deliveries else None

    async def receive_many(self, count: int, *, timeout: float) -> list[Delivery]:
        """Wait up to ``timeout`` seconds for job ids; return at most ``count`` of them at once.

        Each one is a delivery like ``receive``'s, hidden for the visibility timeout from now:
        ask only for as many as can start now. An empty list if none came.
        """
        self._check_open()
        count = max(1, min(count, _BATCH))
        loop = asyncio.get_running_loop()
        give_up = loop.time() + max(timeout, 0.0)
        args = [
            self.consumer,
            milliseconds(self.visibility_timeout),
            self.max_deliveries,
            milliseconds(self.poll_interval),
            self.dead_letter_length,
            count,
        ]
        while True:
            result = await self._run(self._receive, args, "receive")
            self._count_buried(int(result[0]))
            if len(result) > 2:
                deliveries = await self._deliveries(
                    [
                        (result[i], result[i + 1], int(result[i + 2]), int(result[i + 3]))
                        for i in range(2, len(result), 4)
                    ]
                )
                if deliveries:
                    return deliveries
                continue
            wait = give_up - loop.time()
            if wait <= 0:
                return []
            block = min(wait, self.poll_interval)
            if int(result[1]) >= 0:
                block = min(block, int(result[1]) / 1000)
            if block < 0.001:
                continue
            deliveries = await self._read(block, count)
            if deliveries:
                return deliveries

    async def ack(self, delivery: Delivery) -> None:
        """The job is handled: forget the delivery. A stale receipt does nothing.

        Acks made while another is on its way go to Redis together, in one script call; each
        returns once its own has been carried out.
        """
        self._check_open()
        receipt = _receipt(delivery)
        if receipt is not None:
            await self._acks.submit(receipt)

    async def nack(self, delivery: Delivery, *, delay: float = 0.0) -> None:
        """Deliver the id again after ``delay`` seconds. A stale receipt does nothing."""
        self._check_open()
        receipt = _receipt(delivery)
        if receipt is None:
            return
        delay_ms = milliseconds(delay) if delay > 0 else 0
        outcome = await self._run(
            self._nack,
            [*receipt, delay_ms, self.max_deliveries, self.dead_letter_length],
            "nack",
        )
        if outcome == 2:
            self._count_buried(1)

    async def extend(self, delivery: Delivery, *, seconds: float) -> None:
        """Keep the id hidden at least ``seconds`` from now. A stale receipt does nothing."""
        self._check_open()
        receipt = _receipt(delivery)
        if receipt is not None and seconds > 0:
            await self._run(self._extend, [*receipt, milliseconds(seconds)], "extend")

    async def size(self) -> QueueSize:
        """Count the ids that are ready, delayed, and in flight (delivered, not yet acked)."""
        stream, delayed = self.keys[0], self.keys[1]
        client = self._conn.client
        with translated("queue size"):
            async with self._conn.slot():
                length = await client.xlen(stream)
                waiting = await client.zcard(delayed)
                try:
                    summary = await client.xpending(stream, _GROUP)
                except rexc.ResponseError:  # no group yet
                    summary = {"pending": 0}
        in_flight = int(summary["pending"])
        return QueueSize(ready=int(length) - in_flight, delayed=int(waiting), in_flight=in_flight)

    async def dead_letters(self, count: int = 100) -> list[DeadLetter]:
        """The most recent dead letters, newest first."""
        with translated("queue dead letters"):
            async with self._conn.slot():
                # RESP2 replies: [(id, {field: value})], as bytes.
                entries: Any = await self._conn.client.xrevrange(self.keys[5], count=count)
        letters = []
        for entry_id, fields in entries:
            text = {k.decode(): v.decode() for k, v in fields.items()}
            letters.append(
                DeadLetter(
                    id=entry_id.decode(),
                    job_id=text.get("j", ""),
                    deliveries=int(text.get("deliveries", "0")),
                    reason=text.get("reason", ""),
                )
            )
        return letters

    async def open(self) -> None:
        """Check the server when the app starts: unreachable is logged, not fatal.

        Raises:
            ConfigurationError: Redis refused the credentials of the URL.
        """
        error = await self._conn.check("queue")
        if error is not None:
            self._monitor.capture_exception(error, operation="queue.open", adapter="redis")

    async def aclose(self) -> None:
        """Give back the deliveries this instance holds, then close the connections."""
        if self._closed:
            return
        self._closed = True
        # What callers already handed over goes out first (they are waiting for it).
        await self._enqueues.drain()
        await self._acks.drain()
        if not self._delivered:
            await self._conn.aclose()
            return
        try:
            back, buried = await self._run(
                self._handback,
                [self.consumer, self.max_deliveries, self.dead_letter_length],
                "hand back",
            )
            if back or buried:
                log.info("queue %s: gave back %d delivery(ies) on close", self.name, back)
            self._count_buried(int(buried))
        except Exception as exc:  # closing must not fail: the visibility timeout covers it
            self._monitor.capture_exception(exc, operation="queue.aclose", adapter="redis")
        await self._conn.aclose()

    async def _read(self, block: float, count: int) -> list[Delivery]:
        """Wait in ``XREADGROUP`` for new entries (an enqueue anywhere wakes it)."""
        with translated("queue receive"):
            async with self._conn.slot():
                try:
                    # RESP2 reply: [[stream, [(id, {field: value})]]], as bytes.
                    reply: Any = await self._conn.client.xreadgroup(
                        _GROUP,
                        self.consumer,
                        {self.keys[0]: ">"},
                        count=count,
                        block=milliseconds(block),
                    )
                except rexc.ResponseError as exc:
                    # The keys were lost (FLUSHALL, failover) before or while we waited: the
                    # receive script recreates the group on the next round.
                    if str(exc).startswith(("NOGROUP", "UNBLOCKED")):
                        return []
                    raise
        if not reply:
            return []
        (_, entries) = reply[0]
        return await self._deliveries(
            [
                (entry_id, fields.get(b"j", b""), int(fields.get(b"n", b"0")) + 1, 1)
                for entry_id, fields in entries
            ]
        )

    async def _deliveries(
        self, entries: list[tuple[bytes | str, bytes | str, int, int]]
    ) -> list[Delivery]:
        """Deliveries of (entry id, job id, attempt, delivery count); foreign entries dropped."""
        deliveries = []
        for entry_id, job, attempt, count in entries:
            delivery = await self._delivery(entry_id, job, attempt, count)
            if delivery is not None:
                deliveries.append(delivery)
        return deliveries

    async def _delivery(
        self, entry_id: bytes | str, job: bytes | str, attempt: int, count: int
    ) -> Delivery | None:
        text_id = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
        try:
            job_id = UUID(job.decode() if isinstance(job, bytes) else job)
        except ValueError:
            # Not ours (written by something else): drop it rather than deliver garbage.
            log.warning("queue %s: dropping entry %s without a job id", self.name, text_id)
            self._monitor.incr("ghostart.queue.foreign_entries")
            await self._run(self._ack, [text_id, count], "ack")
            return None
        self._delivered = True
        return Delivery(job_id=job_id, receipt=f"{text_id}/{count}", attempt=attempt)

    async def _send_enqueues(self, items: Sequence[tuple[str, int]]) -> None:
        await self._run(self._enqueue, [value for item in items for value in item], "enqueue")

    async def _send_acks(self, items: Sequence[tuple[str, int]]) -> None:
        await self._run(self._ack, [value for item in items for value in item], "ack")

    async def _run(self, script: AsyncScript, args: Sequence[Any], operation: str) -> Any:
        with translated(f"queue {operation}"):
            async with self._conn.slot():
                return await script(keys=self.keys, args=[_GROUP, *args])

    def _count_buried(self, buried: int) -> None:
        if buried:
            self._monitor.incr("ghostart.queue.dead_lettered", value=buried, queue=self.name)
            log.warning(
                "queue %s: %d id(s) dead-lettered after too many deliveries", self.name, buried
            )

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"RedisQueue {self.name!r} is closed")


def _receipt(delivery: Delivery) -> tuple[str, int] | None:
    """The entry id and delivery count of a receipt, or ``None`` if it is not one of ours."""
    entry_id, _, count = delivery.receipt.rpartition("/")
    if not _ENTRY_ID.match(entry_id) or not count.isdigit():
        return None
    return entry_id, int(count)
