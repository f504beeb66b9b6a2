"""Contract suite for :class:`~ghostart.ports.broadcast.Broadcast` adapters.

Subclass :class:`BroadcastContract` in a ``Test*`` class and provide ``broadcast``, an adapter
private to the test (on a shared server, its own channel or key prefix), closed afterwards. A
networked adapter also provides ``peer``: a second adapter on the same transport and channel,
standing for another process (by default ``peer`` is ``broadcast`` itself)::

    class TestRedisBroadcast(BroadcastContract):
        @pytest.fixture
        async def broadcast(self, redis_url):
            broadcast = RedisBroadcast(redis_url)
            yield broadcast
            await broadcast.aclose()

        @pytest.fixture
        async def peer(self, redis_url):
            peer = RedisBroadcast(redis_url)
            yield peer
            await peer.aclose()

A listener is known to be subscribed once it hears a probe signal published after it started
(subscribing may take a round trip); the tests then publish what they check.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from uuid import UUID

import pytest

from ghostart.ports.broadcast import Broadcast

__all__ = ["BroadcastContract"]

#: How long a signal may take to arrive, with room for a loaded machine.
WITHIN = 2.0
#: How long until a listener must be subscribed.
SUBSCRIBE_WITHIN = 5.0


class _Listening:
    """One ``listen()`` of a broadcast, read into a queue by a task."""

    def __init__(self, broadcast: Broadcast, probes: set[UUID]) -> None:
        self.broadcast = broadcast
        self.probes = probes
        self.received: asyncio.Queue[UUID] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        async for subject in self.broadcast.listen():
            self.received.put_nowait(subject)

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def next(self, within: float = WITHIN) -> UUID:
        """The next subject that is not a probe."""
        async with asyncio.timeout(within):
            while True:
                subject = await self.received.get()
                if subject not in self.probes:
                    return subject

    async def take(self, count: int, within: float = WITHIN) -> list[UUID]:
        """The next ``count`` subjects that are not probes."""
        return [await self.next(within) for _ in range(count)]

    def pending(self) -> list[UUID]:
        """What has arrived and not been read, probes left out."""
        items = []
        while not self.received.empty():
            subject = self.received.get_nowait()
            if subject not in self.probes:
                items.append(subject)
        return items


async def _until_subscribed(publisher: Broadcast, *listeners: _Listening) -> None:
    """Publish probes until every listener has heard one."""
    waiting = list(listeners)
    async with asyncio.timeout(SUBSCRIBE_WITHIN):
        while waiting:
            probe = uuid.uuid4()
            for listener in waiting:
                listener.probes.add(probe)
            await publisher.publish(probe)
            await asyncio.sleep(0.02)
            for listener in list(waiting):
                heard = False
                while not listener.received.empty():
                    heard |= listener.received.get_nowait() in listener.probes
                if heard:
                    waiting.remove(listener)


class BroadcastContract:
    """Tests every :class:`~ghostart.ports.broadcast.Broadcast` adapter must pass."""

    pytestmark = [pytest.mark.asyncio]

    @pytest.fixture
    def broadcast(self) -> Broadcast:
        """The adapter under test, private to the test; override it in the subclass."""
        raise NotImplementedError(
            "subclass must provide a `broadcast` fixture returning the Broadcast adapter under "
            "test, on a channel private to the test"
        )

    @pytest.fixture
    def peer(self, broadcast: Broadcast) -> Broadcast:
        """Another process's adapter on the same channel; override it for a networked adapter."""
        return broadcast

    @contextlib.asynccontextmanager
    async def listening(
        self, publisher: Broadcast, *broadcasts: Broadcast
    ) -> AsyncIterator[list[_Listening]]:
        """One subscribed listener per broadcast given (probed through ``publisher``)."""
        probes: set[UUID] = set()
        listeners = [_Listening(broadcast, probes) for broadcast in broadcasts]
        for listener in listeners:
            listener.start()
        try:
            await _until_subscribed(publisher, *listeners)
            yield listeners
        finally:
            for listener in listeners:
                await listener.stop()

    async def test_conforms_to_protocol(self, broadcast: Broadcast) -> None:
        assert isinstance(broadcast, Broadcast)

    async def test_a_signal_reaches_a_listener_in_another_process(
        self, broadcast: Broadcast, peer: Broadcast
    ) -> None:
        async with self.listening(peer, broadcast) as [listener]:
            subject = uuid.uuid4()
            await peer.publish(subject)
            assert await listener.next() == subject

    async def test_every_listener_hears_every_signal(
        self, broadcast: Broadcast, peer: Broadcast
    ) -> None:
        targets = [broadcast, broadcast] if peer is broadcast else [broadcast, broadcast, peer]
        async with self.listening(peer, *targets) as listeners:
            sent = [uuid.uuid4() for _ in range(10)]
            for index, subject in enumerate(sent):
                await (peer if index % 2 else broadcast).publish(subject)
            for listener in listeners:
                assert sorted(await listener.take(len(sent))) == sorted(sent)
            await asyncio.sleep(0.05)
            assert [listener.pending() for listener in listeners] == [[]] * len(listeners)

    async def test_a_burst_arrives_whole(self, broadcast: Broadcast, peer: Broadcast) -> None:
        async with self.listening(peer, broadcast) as [listener]:
            sent = [uuid.uuid4() for _ in range(500)]
            for subject in sent:
                await peer.publish(subject)
            assert sorted(await listener.take(len(sent), within=5.0)) == sorted(sent)

    async def test_publishing_without_listeners_is_harmless(
        self, broadcast: Broadcast, peer: Broadcast
    ) -> None:
        for _ in range(3):
            await peer.publish(uuid.uuid4())
        async with self.listening(peer, broadcast) as [listener]:
            subject = uuid.uuid4()
            await peer.publish(subject)
            received = await listener.next()
            while received != subject:  # a replay of earlier signals is allowed, not required
                received = await listener.next()

    async def test_a_listener_that_does_not_read_never_holds_publishers(
        self, broadcast: Broadcast, peer: Broadcast
    ) -> None:
        stream = broadcast.listen()
        first = asyncio.ensure_future(anext(stream))
        try:
            async with asyncio.timeout(SUBSCRIBE_WITHIN):
                while not first.done():
                    await peer.publish(uuid.uuid4())
                    await asyncio.sleep(0.02)
            async with asyncio.timeout(WITHIN):  # nobody reads these
                for _ in range(200):
                    await peer.publish(uuid.uuid4())
            subject = uuid.uuid4()
            await peer.publish(subject)
            async with asyncio.timeout(WITHIN):  # and reading resumes where it can
                while await anext(stream) != subject:
                    pass
        finally:
            first.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await first
            closer = getattr(stream, "aclose", None)
            if closer is not None:
                await closer()

    async def test_close_ends_listening_and_later_publishing_is_harmless(
        self, broadcast: Broadcast, peer: Broadcast
    ) -> None:
        async with self.listening(peer, broadcast) as [listener]:
            await broadcast.aclose()
            assert listener.task is not None
            await asyncio.wait_for(listener.task, WITHIN)
            await broadcast.publish(uuid.uuid4())
            await broadcast.aclose()
        async with asyncio.timeout(WITHIN):
            async for _ in broadcast.listen():
                raise AssertionError("a closed broadcast delivered a signal")
