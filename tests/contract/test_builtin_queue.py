"""The built-in queue against the queue contract, plus its own specifics."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from ghostart.builtin.queue_memory import MemoryQueue, QueueSize
from ghostart.errors import ConfigurationError
from ghostart.ports.queue import Delivery
from ghostart.testing import ManualTimer
from ghostart.testing.contracts.queue import QueueContract

VT = 10.0


class TestMemoryQueue(QueueContract):
    @pytest.fixture
    def visibility_timeout(self) -> float:
        return 0.3

    @pytest.fixture
    def queue(self, visibility_timeout: float) -> MemoryQueue:
        return MemoryQueue(visibility_timeout=visibility_timeout)


@pytest.fixture
def clock() -> ManualTimer:
    return ManualTimer()


@pytest.fixture
def queue(clock: ManualTimer) -> MemoryQueue:
    return MemoryQueue(visibility_timeout=VT, clock=clock)


async def _take(queue: MemoryQueue) -> Delivery:
    delivery = await queue.receive(timeout=0)
    assert delivery is not None
    return delivery


async def test_redelivery_happens_exactly_at_the_visibility_deadline(
    queue: MemoryQueue, clock: ManualTimer
) -> None:
    job_id = uuid.uuid4()
    await queue.enqueue(job_id)
    first = await _take(queue)
    clock.advance(VT - 0.001)
    assert await queue.receive(timeout=0) is None
    clock.advance(0.001)
    second = await _take(queue)
    assert (second.job_id, second.attempt) == (job_id, 2)
    assert second.receipt != first.receipt


async def test_enqueue_of_a_waiting_id_keeps_one_copy_due_at_the_earlier_time(
    queue: MemoryQueue, clock: ManualTimer
) -> None:
    job_id = uuid.uuid4()
    await queue.enqueue(job_id, delay=60)
    await queue.enqueue(job_id, delay=5)
    await queue.enqueue(job_id, delay=30)
    assert await queue.size() == QueueSize(ready=0, delayed=1, in_flight=0)
    clock.advance(5)
    delivery = await _take(queue)
    assert (delivery.job_id, delivery.attempt) == (job_id, 1)
    await queue.ack(delivery)
    clock.advance(60)
    assert await queue.size() == QueueSize(0, 0, 0)


async def test_enqueue_of_an_id_in_flight_delivers_it_again_after_the_ack(
    queue: MemoryQueue, clock: ManualTimer
) -> None:
    job_id = uuid.uuid4()
    await queue.enqueue(job_id)
    first = await _take(queue)
    await queue.enqueue(job_id)
    assert await queue.receive(timeout=0) is None
    await queue.ack(first)
    second = await _take(queue)
    assert (second.job_id, second.attempt) == (job_id, 1)
    await queue.ack(second)
    assert await queue.size() == QueueSize(0, 0, 0)


async def test_a_redelivery_after_the_requested_time_satisfies_an_enqueue_in_flight(
    queue: MemoryQueue, clock: ManualTimer
) -> None:
    job_id = uuid.uuid4()
    await queue.enqueue(job_id)
    await _take(queue)
    await queue.enqueue(job_id)
    clock.advance(VT)
    second = await _take(queue)
    assert second.attempt == 2
    await queue.ack(second)
    assert await queue.size() == QueueSize(0, 0, 0)


async def test_an_earlier_redelivery_does_not_satisfy_a_delayed_enqueue_in_flight(
    queue: MemoryQueue, clock: ManualTimer
) -> None:
    job_id = uuid.uuid4()
    await queue.enqueue(job_id)
    await _take(queue)
    await queue.enqueue(job_id, delay=VT + 20)
    clock.advance(VT)
    await queue.ack(await _take(queue))
    assert await queue.size() == QueueSize(ready=0, delayed=1, in_flight=0)
    clock.advance(20)
    assert (await _take(queue)).attempt == 1


async def test_nack_keeps_the_earlier_of_its_delay_and_a_pending_enqueue(
    queue: MemoryQueue, clock: ManualTimer
) -> None:
    job_id = uuid.uuid4()
    await queue.enqueue(job_id)
    first = await _take(queue)
    await queue.enqueue(job_id, delay=3)
    await queue.nack(first, delay=60)
    clock.advance(3)
    assert (await _take(queue)).attempt == 2


async def test_extend_never_shortens_the_deadline(queue: MemoryQueue, clock: ManualTimer) -> None:
    await queue.enqueue(uuid.uuid4())
    delivery = await _take(queue)
    await queue.extend(delivery, seconds=1)
    clock.advance(VT - 1)
    assert await queue.receive(timeout=0) is None
    await queue.extend(delivery, seconds=VT)
    clock.advance(VT - 0.001)
    assert await queue.receive(timeout=0) is None
    clock.advance(0.001)
    assert (await _take(queue)).attempt == 2


async def test_size_counts_ready_delayed_and_in_flight(
    queue: MemoryQueue, clock: ManualTimer
) -> None:
    await queue.enqueue(uuid.uuid4())
    await queue.enqueue(uuid.uuid4())
    await queue.enqueue(uuid.uuid4(), delay=5)
    await _take(queue)
    assert await queue.size() == QueueSize(ready=1, delayed=1, in_flight=1)
    clock.advance(VT)
    assert await queue.size() == QueueSize(ready=3, delayed=0, in_flight=0)


async def test_receive_sleeps_until_the_next_due_time_instead_of_polling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    queue = MemoryQueue()
    calls = 0
    take_due = queue._take_due

    def counting_take_due() -> Delivery | None:
        nonlocal calls
        calls += 1
        return take_due()

    monkeypatch.setattr(queue, "_take_due", counting_take_due)
    assert await queue.receive(timeout=0.1) is None
    assert calls <= 2
    calls = 0
    await queue.enqueue(uuid.uuid4(), delay=0.1)
    assert await queue.receive(timeout=1) is not None
    assert calls <= 4


async def test_each_waiting_receiver_gets_one_of_the_new_ids() -> None:
    queue = MemoryQueue()
    receivers = [asyncio.create_task(queue.receive(timeout=2)) for _ in range(5)]
    await asyncio.sleep(0.01)
    job_ids = {uuid.uuid4() for _ in range(5)}
    for job_id in job_ids:
        await queue.enqueue(job_id)
    deliveries = await asyncio.wait_for(asyncio.gather(*receivers), timeout=0.5)
    assert {delivery.job_id for delivery in deliveries if delivery} == job_ids


async def test_superseded_schedule_entries_do_not_pile_up(queue: MemoryQueue) -> None:
    job_id = uuid.uuid4()
    for delay in range(1000, 0, -1):
        await queue.enqueue(job_id, delay=delay)
    assert len(queue._heap) <= 2 * 1 + 64 + 1


@pytest.mark.parametrize("visibility_timeout", [0, -1])
def test_rejects_non_positive_visibility_timeout(visibility_timeout: float) -> None:
    with pytest.raises(ConfigurationError):
        MemoryQueue(visibility_timeout=visibility_timeout)
