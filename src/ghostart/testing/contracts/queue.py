"""Contract suite for :class:`~ghostart.ports.queue.Queue` adapters.

Subclass :class:`QueueContract` in a ``Test*`` class and provide two fixtures: ``queue``, an
empty queue private to the test (on a shared server, a fresh key prefix), built with a short
visibility timeout, and ``visibility_timeout``, that timeout in seconds (0.1 to 0.5)::

    class TestRedisQueue(QueueContract):
        @pytest.fixture
        def visibility_timeout(self):
            return 0.3

        @pytest.fixture
        async def queue(self, redis_url, visibility_timeout):
            queue = RedisQueue(redis_url, prefix=uuid.uuid4().hex,
                               visibility_timeout=visibility_timeout)
            yield queue
            await queue.aclose()

Timing is checked with real sleeps, a few times the visibility timeout at most. The
``receive_many`` tests run only for a :class:`~ghostart.ports.queue.BatchQueue`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

import pytest

from ghostart.ports.queue import BatchQueue, Delivery, Queue

__all__ = ["QueueContract"]

#: How long a receive that should find nothing waits.
GLANCE = 0.05
#: Slack for scheduling jitter and for clocks on a server.
MARGIN = 0.15
DELAY = 0.3


async def _receive(queue: Queue, within: float = 1.0) -> Delivery:
    delivery = await queue.receive(timeout=within)
    assert delivery is not None, f"nothing received within {within} s"
    return delivery


class QueueContract:
    """Tests every :class:`~ghostart.ports.queue.Queue` adapter must pass."""

    pytestmark = [pytest.mark.asyncio]

    @pytest.fixture
    def queue(self) -> Queue:
        """The adapter under test, empty and private to the test; override it in the subclass."""
        raise NotImplementedError(
            "subclass must provide a `queue` fixture returning an empty Queue private to the "
            "test, built with the `visibility_timeout` fixture's value"
        )

    @pytest.fixture
    def visibility_timeout(self) -> float:
        """The visibility timeout the ``queue`` fixture uses; override it in the subclass."""
        raise NotImplementedError(
            "subclass must provide a `visibility_timeout` fixture returning the queue's "
            "visibility timeout in seconds (0.1 to 0.5)"
        )

    @pytest.fixture
    def vt(self, visibility_timeout: float) -> float:
        """The checked visibility timeout."""
        assert 0.1 <= visibility_timeout <= 0.5, "the contract needs a short visibility timeout"
        return visibility_timeout

    async def test_conforms_to_protocol(self, queue: Queue) -> None:
        assert isinstance(queue, Queue)

    async def test_enqueue_receive_ack(self, queue: Queue) -> None:
        job_id = uuid.uuid4()
        await queue.enqueue(job_id)
        delivery = await _receive(queue)
        assert delivery.job_id == job_id
        assert isinstance(delivery.job_id, uuid.UUID)
        assert delivery.attempt == 1
        assert isinstance(delivery.receipt, str)
        assert delivery.receipt
        await queue.ack(delivery)
        assert await queue.receive(timeout=GLANCE) is None

    async def test_receive_times_out_promptly_on_empty_queue(self, queue: Queue) -> None:
        started = time.monotonic()
        assert await queue.receive(timeout=0) is None
        assert time.monotonic() - started < MARGIN
        started = time.monotonic()
        assert await queue.receive(timeout=0.2) is None
        assert 0.2 - 0.02 <= time.monotonic() - started < 0.2 + MARGIN

    async def test_waiting_receive_wakes_on_enqueue(self, queue: Queue) -> None:
        job_id = uuid.uuid4()
        waiting = asyncio.create_task(queue.receive(timeout=3))
        await asyncio.sleep(GLANCE)
        started = time.monotonic()
        await queue.enqueue(job_id)
        delivery = await asyncio.wait_for(waiting, timeout=1)
        assert delivery is not None
        assert delivery.job_id == job_id
        assert time.monotonic() - started < MARGIN
        await queue.ack(delivery)

    async def test_delay_is_honoured(self, queue: Queue) -> None:
        job_id = uuid.uuid4()
        started = time.monotonic()
        await queue.enqueue(job_id, delay=DELAY)
        assert await queue.receive(timeout=GLANCE) is None
        delivery = await _receive(queue, within=DELAY + 1)
        elapsed = time.monotonic() - started
        assert delivery.job_id == job_id
        assert DELAY - 0.05 <= elapsed < DELAY + MARGIN + 0.1
        await queue.ack(delivery)

    async def test_unacked_delivery_is_redelivered_after_visibility_timeout(
        self, queue: Queue, vt: float
    ) -> None:
        job_id = uuid.uuid4()
        await queue.enqueue(job_id)
        first = await _receive(queue)
        started = time.monotonic()
        assert await queue.receive(timeout=GLANCE) is None, "a received id must be hidden"
        second = await _receive(queue, within=vt + 1)
        assert time.monotonic() - started >= vt - GLANCE - 0.05
        assert second.job_id == job_id
        assert second.attempt == 2
        assert second.receipt != first.receipt
        await queue.ack(second)

    async def test_nack_redelivers_at_once(self, queue: Queue, vt: float) -> None:
        job_id = uuid.uuid4()
        await queue.enqueue(job_id)
        first = await _receive(queue)
        await queue.nack(first)
        second = await _receive(queue, within=vt / 2)
        assert second.job_id == job_id
        assert second.attempt == 2
        await queue.ack(second)

    async def test_nack_with_delay_holds_back(self, queue: Queue, vt: float) -> None:
        job_id = uuid.uuid4()
        await queue.enqueue(job_id)
        first = await _receive(queue)
        started = time.monotonic()
        await queue.nack(first, delay=DELAY)
        assert await queue.receive(timeout=GLANCE) is None
        second = await _receive(queue, within=DELAY + 1)
        assert time.monotonic() - started >= DELAY - 0.05
        assert second.job_id == job_id
        await queue.ack(second)

    async def test_extend_prevents_redelivery(self, queue: Queue, vt: float) -> None:
        job_id = uuid.uuid4()
        await queue.enqueue(job_id)
        delivery = await _receive(queue)
        await asyncio.sleep(vt / 2)
        await queue.extend(delivery, seconds=vt * 2)
        await asyncio.sleep(vt / 2 + MARGIN)  # past the first visibility deadline
        assert await queue.receive(timeout=GLANCE) is None
        await queue.ack(delivery)

    async def test_ack_stops_redelivery(self, queue: Queue, vt: float) -> None:
        await queue.enqueue(uuid.uuid4())
        delivery = await _receive(queue)
        await queue.ack(delivery)
        assert await queue.receive(timeout=vt + MARGIN) is None

    async def test_stale_receipt_after_redelivery_is_a_no_op(self, queue: Queue, vt: float) -> None:
        job_id = uuid.uuid4()
        await queue.enqueue(job_id)
        stale = await _receive(queue)
        second = await _receive(queue, within=vt + 1)
        await queue.ack(stale)
        await queue.extend(stale, seconds=30)
        # Neither removed nor extended: the second delivery lapses as usual.
        third = await _receive(queue, within=vt + 1)
        assert third.job_id == job_id
        assert third.attempt == 3
        await queue.nack(second)
        assert await queue.receive(timeout=GLANCE) is None
        await queue.ack(third)

    async def test_stale_receipt_after_ack_is_a_no_op(self, queue: Queue, vt: float) -> None:
        job_id = uuid.uuid4()
        await queue.enqueue(job_id)
        acked = await _receive(queue)
        await queue.ack(acked)
        await queue.enqueue(job_id)
        current = await _receive(queue)
        await queue.nack(acked)
        assert await queue.receive(timeout=GLANCE) is None
        await queue.ack(acked)
        await queue.nack(current)  # still valid: the stale ack did not end it
        again = await _receive(queue, within=vt / 2)
        assert again.job_id == job_id
        await queue.ack(again)

    async def test_concurrent_consumers_ack_every_id_once(self, queue: Queue) -> None:
        job_ids = {uuid.uuid4() for _ in range(200)}
        acked: Counter[uuid.UUID] = Counter()
        all_acked, stop = asyncio.Event(), asyncio.Event()

        async def consume() -> None:
            while not stop.is_set():
                delivery = await queue.receive(timeout=GLANCE)
                if delivery is None:
                    continue
                await queue.ack(delivery)
                acked[delivery.job_id] += 1
                if set(acked) >= job_ids:
                    all_acked.set()

        consumers = [asyncio.create_task(consume()) for _ in range(10)]
        await asyncio.gather(*(queue.enqueue(job_id) for job_id in job_ids))
        try:
            await asyncio.wait_for(all_acked.wait(), timeout=5)
        finally:
            stop.set()
            await asyncio.gather(*consumers)
        assert set(acked) == job_ids
        assert max(acked.values()) == 1

    async def test_receive_many_hands_out_each_id_once(self, queue: Queue) -> None:
        batch = _batch_queue(queue)
        job_ids = {uuid.uuid4() for _ in range(7)}
        for job_id in job_ids:
            await batch.enqueue(job_id)
        first = await batch.receive_many(3, timeout=1.0)
        assert 1 <= len(first) <= 3
        deliveries = list(first)
        while len(deliveries) < len(job_ids):
            more = await batch.receive_many(10, timeout=1.0)
            assert more, "ids went missing"
            deliveries += more
        assert sorted(str(d.job_id) for d in deliveries) == sorted(str(j) for j in job_ids)
        assert {d.attempt for d in deliveries} == {1}
        assert len({d.receipt for d in deliveries}) == len(deliveries)
        assert await batch.receive_many(10, timeout=GLANCE) == []
        for delivery in deliveries:
            await batch.ack(delivery)
        assert await batch.receive(timeout=GLANCE) is None

    async def test_receive_many_waits_then_times_out(self, queue: Queue) -> None:
        batch = _batch_queue(queue)
        started = time.monotonic()
        assert await batch.receive_many(5, timeout=0.2) == []
        assert 0.2 - 0.02 <= time.monotonic() - started < 0.2 + MARGIN
        job_id = uuid.uuid4()
        waiting = asyncio.create_task(batch.receive_many(5, timeout=3))
        await asyncio.sleep(GLANCE)
        await batch.enqueue(job_id)
        deliveries = await asyncio.wait_for(waiting, timeout=1)
        assert [d.job_id for d in deliveries] == [job_id]
        await batch.ack(deliveries[0])

    async def test_receive_many_deliveries_lapse_like_receives(
        self, queue: Queue, vt: float
    ) -> None:
        batch = _batch_queue(queue)
        job_ids = {uuid.uuid4(), uuid.uuid4()}
        for job_id in job_ids:
            await batch.enqueue(job_id)
        first: list[Delivery] = []
        while len(first) < 2:
            more = await batch.receive_many(2, timeout=1.0)
            assert more
            first += more
        assert await batch.receive_many(2, timeout=GLANCE) == [], "received ids must be hidden"
        again: list[Delivery] = []
        while len(again) < 2:
            more = await batch.receive_many(2, timeout=vt + 1)
            assert more, "unacked ids must come back after the visibility timeout"
            again += more
        assert {d.job_id for d in again} == job_ids
        assert {d.attempt for d in again} == {2}
        for delivery in first:
            await batch.ack(delivery)  # stale: does nothing
        for delivery in again:
            await batch.ack(delivery)
        assert await batch.receive(timeout=vt + MARGIN) is None


def _batch_queue(queue: Queue) -> BatchQueue:
    if not isinstance(queue, BatchQueue):
        pytest.skip("not a BatchQueue (receive_many is optional)")
    return queue
