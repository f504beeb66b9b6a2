"""The Redis queue beyond the contract.

Poison ids, delays, stalls, stale receipts, duplicates, shutdown and lost keys, with several
queue instances standing in for several processes.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Callable

import pytest
from redis.asyncio import Redis

from ghostart.errors import ConfigurationError, TransientError
from ghostart.ports import Delivery
from ghostart_redis.queue import QueueSize, RedisQueue
from ghostart_redis.testing import RecordingMonitor, closed_port, with_address, with_options
from tests.adapters.redis.conftest import VT  # make_queue's visibility timeout

pytestmark = pytest.mark.redis


async def _receive(queue: RedisQueue, within: float = 2.0) -> Delivery:
    delivery = await queue.receive(timeout=within)
    assert delivery is not None, f"nothing received within {within} s"
    return delivery


async def test_poison_id_is_dead_lettered_after_max_deliveries_while_others_flow(
    make_queue: Callable[..., RedisQueue], monitor: RecordingMonitor
) -> None:
    queue = make_queue(max_deliveries=3, monitor=monitor)
    poison, others = uuid.uuid4(), {uuid.uuid4() for _ in range(30)}
    await queue.enqueue(poison)
    for job_id in others:
        await queue.enqueue(job_id)
    poison_attempts: list[int] = []
    acked: Counter[uuid.UUID] = Counter()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        delivery = await queue.receive(timeout=0.2)
        if delivery is None:
            if set(acked) == others and len(await queue.dead_letters()) == 1:
                break
            continue
        if delivery.job_id == poison:
            poison_attempts.append(delivery.attempt)  # the worker dies: never acked
            continue
        await queue.ack(delivery)
        acked[delivery.job_id] += 1
    print(f"poison deliveries {poison_attempts}, others acked {sum(acked.values())}")
    assert poison_attempts == [1, 2, 3]
    assert set(acked) == others
    assert max(acked.values()) == 1
    (letter,) = await queue.dead_letters()
    assert (letter.job_id, letter.deliveries, letter.reason) == (str(poison), 3, "max deliveries")
    assert monitor.counters["ghostart.queue.dead_lettered"] == 1
    assert await queue.size() == QueueSize(ready=0, delayed=0, in_flight=0)
    assert await queue.receive(timeout=VT + 0.3) is None


async def test_nacked_id_is_dead_lettered_after_max_deliveries(
    make_queue: Callable[..., RedisQueue],
) -> None:
    queue = make_queue(max_deliveries=4)
    job_id = uuid.uuid4()
    await queue.enqueue(job_id)
    attempts = []
    for _ in range(4):
        delivery = await _receive(queue)
        attempts.append(delivery.attempt)
        await queue.nack(delivery, delay=0.01)
    assert attempts == [1, 2, 3, 4]
    assert await queue.receive(timeout=0.2) is None
    assert [d.job_id for d in await queue.dead_letters()] == [str(job_id)]
    # The job row is the truth: enqueued again (by the reconciler), it is delivered afresh.
    await queue.enqueue(job_id)
    assert (await _receive(queue)).attempt == 1


async def test_delayed_id_is_delivered_after_its_delay_and_not_before(
    make_queue: Callable[..., RedisQueue],
) -> None:
    producer, consumer = make_queue(), make_queue()
    job_id = uuid.uuid4()
    # The consumer is already blocked when the delayed id arrives from another "process".
    waiting = asyncio.create_task(consumer.receive(timeout=3))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await producer.enqueue(job_id, delay=0.6)
    delivery = await asyncio.wait_for(waiting, timeout=4)
    elapsed = time.monotonic() - started
    print(f"delay 0.6 s, delivered after {elapsed:.3f} s")
    assert delivery is not None
    assert delivery.job_id == job_id
    assert 0.6 - 0.01 <= elapsed < 0.6 + consumer.poll_interval + 0.2
    await consumer.ack(delivery)


async def test_delayed_ids_come_in_due_order_and_not_early(
    make_queue: Callable[..., RedisQueue],
) -> None:
    queue = make_queue()
    delays = {uuid.uuid4(): d for d in (0.6, 0.2, 0.4)}
    started = time.monotonic()
    for job_id, delay in delays.items():
        await queue.enqueue(job_id, delay=delay)
    seen = []
    for _ in delays:
        delivery = await _receive(queue)
        elapsed = time.monotonic() - started
        assert elapsed >= delays[delivery.job_id] - 0.01, "delivered before its delay"
        seen.append(delays[delivery.job_id])
        await queue.ack(delivery)
    assert seen == [0.2, 0.4, 0.6]


async def test_unacked_delivery_goes_to_another_consumer_after_the_visibility_timeout(
    make_queue: Callable[..., RedisQueue],
) -> None:
    crashed, survivor = make_queue(), make_queue()
    job_id = uuid.uuid4()
    await crashed.enqueue(job_id)
    first = await _receive(crashed)
    started = time.monotonic()
    assert await survivor.receive(timeout=VT - 0.1) is None, "redelivered before the timeout"
    second = await _receive(survivor, within=VT + 1)
    elapsed = time.monotonic() - started
    print(f"visibility timeout {VT} s, redelivered after {elapsed:.3f} s")
    assert VT - 0.02 <= elapsed <= VT + survivor.poll_interval + 0.2
    assert (second.job_id, second.attempt) == (job_id, 2)
    await crashed.ack(first)  # the stale receipt of the crashed consumer does nothing
    assert (await survivor.size()).in_flight == 1
    await survivor.ack(second)
    assert await survivor.size() == QueueSize(0, 0, 0)


async def test_stale_receipts_do_nothing(make_queue: Callable[..., RedisQueue]) -> None:
    one, two = make_queue(), make_queue()
    job_id = uuid.uuid4()
    await one.enqueue(job_id)
    stale = await _receive(one)
    current = await _receive(two, within=VT + 1)
    await one.nack(stale)
    await one.extend(stale, seconds=60)
    await one.ack(stale)
    assert (await two.size()).in_flight == 1
    # Not extended by the stale receipt: the current delivery lapses after the timeout as usual.
    third = await _receive(two, within=VT + 1)
    assert third.attempt == 3
    await two.ack(current)  # stale now too
    await two.ack(third)
    assert await two.size() == QueueSize(0, 0, 0)
    # Receipts that are not ours at all are stale too.
    await two.ack(Delivery(job_id=job_id, receipt="not-a-receipt"))
    await two.nack(Delivery(job_id=job_id, receipt="1-1/x"))


async def test_concurrent_duplicate_enqueues_keep_one_copy(
    make_queue: Callable[..., RedisQueue],
) -> None:
    api_a, api_b, worker = make_queue(), make_queue(), make_queue()
    job_id = uuid.uuid4()
    await asyncio.gather(
        *(api_a.enqueue(job_id) for _ in range(5)), *(api_b.enqueue(job_id) for _ in range(5))
    )
    assert await worker.size() == QueueSize(ready=1, delayed=0, in_flight=0)
    delivery = await _receive(worker)
    await worker.ack(delivery)
    assert await worker.receive(timeout=VT + 0.2) is None


async def test_one_copy_per_id_at_the_earliest_due_time(
    make_queue: Callable[..., RedisQueue],
) -> None:
    queue = make_queue()
    job_id = uuid.uuid4()
    await queue.enqueue(job_id, delay=30)
    await queue.enqueue(job_id, delay=60)
    assert await queue.size() == QueueSize(ready=0, delayed=1, in_flight=0)
    await queue.enqueue(job_id)  # due now wins
    assert await queue.size() == QueueSize(ready=1, delayed=0, in_flight=0)
    await queue.enqueue(job_id, delay=30)  # a later due time changes nothing
    delivery = await _receive(queue, within=0.5)
    await queue.ack(delivery)
    assert await queue.size() == QueueSize(0, 0, 0)


async def test_enqueue_while_in_flight_delivers_once_more(
    make_queue: Callable[..., RedisQueue],
) -> None:
    queue = make_queue()
    job_id = uuid.uuid4()
    await queue.enqueue(job_id)
    running = await _receive(queue)
    await queue.enqueue(job_id, delay=0.2)  # the job scheduled its own retry
    await queue.ack(running)
    retry = await _receive(queue, within=1.0)
    assert retry.job_id == job_id
    assert retry.attempt == 1
    await queue.ack(retry)
    assert await queue.receive(timeout=0.3) is None


async def test_heartbeats_keep_a_job_three_timeouts_long_with_one_consumer(
    make_queue: Callable[..., RedisQueue],
) -> None:
    worker, other = make_queue(), make_queue()
    job_id = uuid.uuid4()
    await worker.enqueue(job_id)
    delivery = await _receive(worker)
    deliveries = 1
    started = time.monotonic()
    while time.monotonic() - started < 3 * VT:  # the job runs: heartbeat every third
        await worker.extend(delivery, seconds=VT)
        if await other.receive(timeout=VT / 3) is not None:
            deliveries += 1
    await worker.ack(delivery)
    assert deliveries == 1
    assert await other.receive(timeout=VT + 0.2) is None


async def test_extend_beyond_the_visibility_timeout(make_queue: Callable[..., RedisQueue]) -> None:
    worker, other = make_queue(), make_queue()
    await worker.enqueue(uuid.uuid4())
    delivery = await _receive(worker)
    await worker.extend(delivery, seconds=3 * VT)
    assert await other.receive(timeout=2 * VT) is None
    late = await _receive(other, within=2 * VT)
    assert late.attempt == 2


async def test_close_hands_back_held_deliveries_at_once(
    make_queue: Callable[..., RedisQueue],
) -> None:
    stopping, other = make_queue(visibility_timeout=30), make_queue(visibility_timeout=30)
    job_ids = {uuid.uuid4() for _ in range(3)}
    for job_id in job_ids:
        await stopping.enqueue(job_id)
    held = [await _receive(stopping) for _ in job_ids]
    await stopping.aclose()
    started = time.monotonic()
    again = [await _receive(other, within=1.0) for _ in job_ids]
    assert time.monotonic() - started < 1.0  # not after the 30 s visibility timeout
    assert {d.job_id for d in again} == job_ids == {d.job_id for d in held}
    assert {d.attempt for d in again} == {2}
    with pytest.raises(RuntimeError, match="closed"):
        await stopping.receive(timeout=0)


async def test_lost_keys_are_recreated_and_old_receipts_are_stale(
    make_queue: Callable[..., RedisQueue], redis: Redis, prefix: str
) -> None:
    queue = make_queue()
    await queue.enqueue(uuid.uuid4())
    old = await _receive(queue)
    # Redis wiped (FLUSHALL, or a failover to a replica that had not seen the writes).
    keys = [key async for key in redis.scan_iter(match=f"*{prefix}*")]
    assert keys
    await redis.delete(*keys)
    await queue.ack(old)
    await queue.nack(old)
    assert await queue.receive(timeout=0.1) is None
    job_id = uuid.uuid4()
    await queue.enqueue(job_id)  # the reconciler enqueues from the outbox again
    delivery = await _receive(queue)
    assert delivery.job_id == job_id
    await queue.ack(delivery)


async def test_blocked_receiver_survives_lost_keys(
    make_queue: Callable[..., RedisQueue], redis: Redis, prefix: str
) -> None:
    queue, producer = make_queue(), make_queue()
    await producer.enqueue(uuid.uuid4())
    await queue.ack(await _receive(queue))
    waiting = asyncio.create_task(queue.receive(timeout=3))
    await asyncio.sleep(0.05)
    await redis.delete(*[key async for key in redis.scan_iter(match=f"*{prefix}*")])
    job_id = uuid.uuid4()
    await producer.enqueue(job_id)
    delivery = await asyncio.wait_for(waiting, timeout=4)
    assert delivery is not None
    assert delivery.job_id == job_id


async def test_entries_without_a_job_id_are_dropped(
    make_queue: Callable[..., RedisQueue], redis: Redis, monitor: RecordingMonitor
) -> None:
    queue = make_queue(monitor=monitor)
    await queue.enqueue(uuid.uuid4())
    await queue.ack(await _receive(queue))
    await redis.xadd(queue.keys[0], {"j": "not-a-uuid", "n": "0"})
    job_id = uuid.uuid4()
    await queue.enqueue(job_id)
    assert (await _receive(queue)).job_id == job_id
    assert monitor.counters["ghostart.queue.foreign_entries"] == 1


async def test_queues_of_different_names_share_nothing(
    make_queue: Callable[..., RedisQueue],
) -> None:
    emails, jobs = make_queue(name="emails"), make_queue(name="jobs")
    await emails.enqueue(uuid.uuid4())
    assert await jobs.receive(timeout=0.1) is None
    assert (await emails.size()).ready == 1


async def test_many_consumers_drain_a_queue_once_each(
    make_queue: Callable[..., RedisQueue],
) -> None:
    consumers = [make_queue() for _ in range(4)]
    job_ids = {uuid.uuid4() for _ in range(300)}
    await asyncio.gather(*(consumers[0].enqueue(job_id) for job_id in job_ids))
    acked: Counter[uuid.UUID] = Counter()
    done = asyncio.Event()

    async def consume(queue: RedisQueue) -> None:
        while not done.is_set():
            delivery = await queue.receive(timeout=0.05)
            if delivery is None:
                continue
            await queue.ack(delivery)
            acked[delivery.job_id] += 1
            if set(acked) >= job_ids:
                done.set()

    await asyncio.wait_for(asyncio.gather(*(consume(q) for q in consumers for _ in range(3))), 20)
    assert set(acked) == job_ids
    assert max(acked.values()) == 1


async def test_unreachable_redis_is_a_transient_error(url: str) -> None:
    queue = RedisQueue(with_address(url, "127.0.0.1", closed_port()))
    with pytest.raises(TransientError):
        await queue.enqueue(uuid.uuid4())
    with pytest.raises(TransientError):
        await queue.receive(timeout=0)
    await queue.aclose()  # the hand-back fails quietly


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"visibility_timeout": "0"}, "visibility_timeout"),
        ({"max_deliveries": "1"}, "max_deliveries"),
        ({"name": "a{b}"}, "braces"),
        ({"poll_interval": "10"}, "shorter than the socket timeout"),
        ({"poll_interval": "-1"}, "poll_interval"),
        ({"bogus": "1"}, "unknown option"),
    ],
)
def test_bad_options_are_configuration_errors(
    options: dict[str, str], message: str, server: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        RedisQueue(with_options(server, **options))


def test_url_options_win_over_arguments(server: str) -> None:
    queue = RedisQueue(
        with_options(server, visibility_timeout="12", max_deliveries="7", name="mail"),
        visibility_timeout=60,
        max_deliveries=3,
    )
    assert (queue.visibility_timeout, queue.max_deliveries, queue.name) == (12.0, 7, "mail")
    assert queue.poll_interval == 1.0
    assert queue.keys[0] == "{ghostart:queue:mail}:stream"
