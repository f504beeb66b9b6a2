"""The Redis queue's batching.

Concurrent enqueues and acks share script calls, a receive takes several deliveries at once,
and none of it changes what a caller is told.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from ghostart.errors import TransientError
from ghostart.ports import BatchQueue, Delivery
from ghostart_redis.queue import QueueSize, RedisQueue
from ghostart_redis.testing import closed_port, with_address
from tests.adapters.redis.conftest import VT  # make_queue's visibility timeout

pytestmark = pytest.mark.redis


def _count_calls(queue: RedisQueue) -> list[str]:
    """Record the operation of every script call the queue makes."""
    calls: list[str] = []
    run = queue._run

    async def counted(script: Any, args: Any, operation: str) -> Any:
        calls.append(operation)
        return await run(script, args, operation)

    queue._run = counted  # type: ignore[method-assign]
    return calls


async def _receive_all(queue: RedisQueue, count: int, within: float = 2.0) -> list[Delivery]:
    deliveries: list[Delivery] = []
    deadline = time.monotonic() + within
    while len(deliveries) < count and time.monotonic() < deadline:
        deliveries += await queue.receive_many(count - len(deliveries), timeout=0.2)
    return deliveries


async def test_is_a_batch_queue(make_queue: Callable[..., RedisQueue]) -> None:
    assert isinstance(make_queue(), BatchQueue)


async def test_concurrent_enqueues_share_script_calls(
    make_queue: Callable[..., RedisQueue],
) -> None:
    queue = make_queue()
    calls = _count_calls(queue)
    job_ids = [uuid.uuid4() for _ in range(250)]
    await asyncio.gather(*(queue.enqueue(job_id) for job_id in job_ids))
    print(f"250 concurrent enqueues: {calls.count('enqueue')} script calls")
    assert calls.count("enqueue") <= 10  # at most 100 a call
    assert await queue.size() == QueueSize(ready=250, delayed=0, in_flight=0)
    deliveries = await _receive_all(queue, 250)
    assert sorted(str(d.job_id) for d in deliveries) == sorted(str(j) for j in job_ids)


async def test_one_batch_keeps_one_copy_per_id_and_the_earliest_due_time(
    make_queue: Callable[..., RedisQueue],
) -> None:
    queue = make_queue()
    calls = _count_calls(queue)
    twice, delayed = uuid.uuid4(), uuid.uuid4()
    await asyncio.gather(
        queue.enqueue(twice),
        queue.enqueue(twice),
        queue.enqueue(delayed, delay=60),
        queue.enqueue(delayed, delay=30),
        queue.enqueue(twice, delay=30),
    )
    assert calls.count("enqueue") == 1
    assert await queue.size() == QueueSize(ready=1, delayed=1, in_flight=0)


async def test_receive_many_takes_stalled_and_new_deliveries_together(
    make_queue: Callable[..., RedisQueue],
) -> None:
    dead, alive = make_queue(), make_queue()
    stalled = uuid.uuid4()
    await dead.enqueue(stalled)
    assert (await dead.receive_many(5, timeout=1))[0].job_id == stalled  # never acked
    fresh = [uuid.uuid4() for _ in range(3)]
    for job_id in fresh:
        await dead.enqueue(job_id)
    await asyncio.sleep(VT + 0.05)
    calls = _count_calls(alive)
    deliveries = await alive.receive_many(10, timeout=1)
    assert calls == ["receive"]
    attempts = {d.job_id: d.attempt for d in deliveries}
    assert attempts == {stalled: 2, **{job_id: 1 for job_id in fresh}}
    for delivery in deliveries:
        await alive.ack(delivery)
    assert await alive.size() == QueueSize(0, 0, 0)


async def test_concurrent_acks_share_script_calls_and_skip_stale_receipts(
    make_queue: Callable[..., RedisQueue],
) -> None:
    queue = make_queue()
    job_ids = [uuid.uuid4() for _ in range(20)]
    for job_id in job_ids:
        await queue.enqueue(job_id)
    deliveries = await _receive_all(queue, 20)
    stale = deliveries[0]
    await queue.ack(stale)
    await queue.enqueue(stale.job_id)
    current = await queue.receive(timeout=1)
    assert current is not None and current.job_id == stale.job_id
    calls = _count_calls(queue)
    await asyncio.gather(*(queue.ack(d) for d in [stale, *deliveries[1:]]))
    assert calls.count("ack") <= 2
    # The stale receipt ended nothing: the current delivery still holds its id.
    assert await queue.size() == QueueSize(ready=0, delayed=0, in_flight=1)
    await queue.ack(current)
    assert await queue.size() == QueueSize(0, 0, 0)


async def test_every_caller_of_a_failed_batch_gets_the_error(url: str) -> None:
    queue = RedisQueue(with_address(url, "127.0.0.1", closed_port()))
    outcomes = await asyncio.gather(
        *(queue.enqueue(uuid.uuid4()) for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(outcome, TransientError) for outcome in outcomes), outcomes
    await queue.aclose()


async def test_close_sends_the_acks_it_was_given_before_handing_back(
    make_queue: Callable[..., RedisQueue],
) -> None:
    queue, other = make_queue(), make_queue()
    for _ in range(10):
        await queue.enqueue(uuid.uuid4())
    deliveries = await _receive_all(queue, 10)
    acks = [asyncio.create_task(queue.ack(d)) for d in deliveries[:6]]
    await asyncio.sleep(0)  # the acks are handed over, not yet sent
    await queue.aclose()
    await asyncio.gather(*acks)
    # Six acked, four given back at once (ready again), none left in flight.
    assert await other.size() == QueueSize(ready=4, delayed=0, in_flight=0)
