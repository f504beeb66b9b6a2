"""Duplicates: a job id enqueued 10 times at once, or one delivery held by two workers: 1 effect.

Two ``ghostart worker`` processes run the job; its effect is the generation's result and usage
record, written in the transaction that finishes the job. Every generator call is recorded
(:mod:`tests.adapters.redis.faultgen`), so a second run shows even where it wrote nothing.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import pytest

from ghostart_redis.queue import RedisQueue
from tests.adapters.redis.faultgen import calls
from tests.adapters.redis.fleet import (
    Fleet,
    Ledger,
    QueueView,
    WorkerProcess,
    author,
    await_until,
    write_requests,
)

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

LEASE = 1.0


async def test_one_job_enqueued_ten_times_at_once_has_one_effect(
    make_fleet: Any, ledger: Ledger, tmp_path: Path
) -> None:
    log = tmp_path / "calls"
    fleet: Fleet = make_fleet(lease=LEASE, generator=f"fault?calls={log}&latency=0.3")
    workers = [fleet.spawn(concurrency=4, faults=True) for _ in range(2)]
    for worker in workers:
        worker.wait_ready()
    async with fleet.api() as api:
        principal = await author(api)
        (job_id,) = await write_requests(api, principal, ["Idempotence"], enqueue=False)
        # Ten API processes' worth of queue clients enqueue the same id at the same moment.
        clients = [RedisQueue(fleet.queue_url) for _ in range(10)]
        try:
            await asyncio.gather(*(client.enqueue(job_id) for client in clients))
        finally:
            for client in clients:
                await client.aclose()
        await await_until(lambda: ledger.counts().jobs == {"done": 1}, 10, "the job")
        await asyncio.sleep(2 * LEASE)  # time for any second delivery to run
    counts = ledger.counts()
    job = ledger.jobs()[job_id]
    made = len(calls(log))
    print(
        f"\n10 concurrent enqueues of one id: generator calls {made}, attempts {job.attempts}, "
        f"effects: {counts}"
    )
    assert counts.usage == 1
    assert counts.generations == {"succeeded": 1}
    assert made == 1
    assert job.attempts == 1


async def test_one_delivery_held_by_two_workers_has_one_effect(
    make_fleet: Any, ledger: Ledger, tmp_path: Path
) -> None:
    """A worker frozen mid-job (SIGSTOP: a long GC pause, a VM migration) past its lease.

    The queue hands its delivery to the other worker, which claims the expired lease and runs
    the job; then the frozen worker wakes with the same delivery and the same job in hand. Its
    result must be discarded: the lease is no longer its own.
    """
    log = tmp_path / "calls"
    fleet: Fleet = make_fleet(lease=LEASE, generator=f"fault?calls={log}")
    workers = [fleet.spawn(concurrency=2, faults=True) for _ in range(2)]
    for worker in workers:
        worker.wait_ready()
    topic = "Split brain: a job that sleeps 1.5 s"
    queue = QueueView(fleet)
    frozen: WorkerProcess | None = None
    try:
        async with fleet.api() as api:
            principal = await author(api)
            (job_id,) = await write_requests(api, principal, [topic])
            await await_until(lambda: len(calls(log)) == 1, 10, "the job to start")
            frozen = next(w for w in workers if w.pid == calls(log)[0][0])
            other = next(w for w in workers if w is not frozen)
            frozen.signal(signal.SIGSTOP)
            (entry,) = queue.holders()[job_id]
            await await_until(
                lambda: ledger.leased_by(other) == {job_id}, 10, "the other worker's claim"
            )
            (taken,) = queue.holders()[job_id]
            frozen.signal(signal.SIGCONT)
            await await_until(lambda: ledger.counts().jobs == {"done": 1}, 10, "the job")
            await asyncio.sleep(2.0)  # the woken worker finishes its own run (and discards it)
    finally:
        if frozen is not None:
            frozen.signal(signal.SIGCONT)
        queue.close()
    counts = ledger.counts()
    job = ledger.jobs()[job_id]
    runs = [pid for pid, _ in calls(log)]
    print(
        f"\none delivery, two workers: delivery {entry} then {taken}; generator runs by "
        f"{len(set(runs))} processes ({len(runs)} calls), attempts {job.attempts}; {counts}"
    )
    assert entry[1] == 1 and taken[1] == 2, "the same delivery, taken over"
    assert entry[0] != taken[0]
    assert sorted(runs) == sorted([frozen.pid, other.pid])  # both ran the generator ...
    assert counts.usage == 1  # ... one result was kept
    assert counts.generations == {"succeeded": 1}
    assert counts.posts == {"draft": 1}
    assert job.attempts == 2
    assert frozen.alive() and other.alive()
