"""Workers SIGKILLed at random while 1,000 jobs drain: nothing lost, every effect exactly once.

Four ``ghostart worker`` processes share one Redis queue and one PostgreSQL database. While the
test process writes 1,000 distinct draft requests (each one a job whose result, a generation and
its usage record, is written in the transaction that finishes the job), it kills a random worker
with SIGKILL every second and a half (once every worker runs) and starts a new one, as a process
supervisor would, until every job is done. The rows of the requests are written in bulk, as
``GenerationService.request`` writes them one by one: the subject here is the workers.

For every kill it records what the dead worker held: the jobs it had claimed or received, and
the queue deliveries it had not acked (pending entries of its consumer), and measures how long
each takes to move on: the delivery taken over by another consumer, and the job delivered to,
claimed or finished by another worker. Both must happen within the visibility timeout plus one
reclaim interval (plus scheduling slack: two cores run five Python processes, PostgreSQL and
Redis here).
"""

from __future__ import annotations

import asyncio
import random
import signal
import statistics
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from ghostart_redis.queue import RedisQueue
from tests.adapters.redis.fleet import (
    Fleet,
    Ledger,
    QueueView,
    WorkerProcess,
    author,
    await_until,
    topics,
    write_requests,
)

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(180)]

JOBS = 1000
WORKERS = 4
LEASE = 1.0  # the job lease, which is the queue's visibility timeout
KILL_EVERY = 1.5
# Scheduling slack: the receiving process runs its next receive, and this test its next look,
# on two cores shared by five Python processes, PostgreSQL and Redis.
SLACK = 0.75


@dataclass
class Kill:
    """One SIGKILL: what the dead worker held, and when each piece moved on."""

    at: float
    worker: WorkerProcess
    consumer: str
    jobs: set[UUID]  # jobs it had claimed, or received and not yet claimed
    entries: set[str]  # deliveries it had not acked
    job_latency: dict[UUID, float] = field(default_factory=dict)
    entry_latency: dict[str, float] = field(default_factory=dict)

    @property
    def settled(self) -> bool:
        return len(self.job_latency) == len(self.jobs) and len(self.entry_latency) == len(
            self.entries
        )


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s, {max(values):.2f} s" if values else "-"


async def _taken_over(queue: RedisQueue, entry: str) -> float:
    """Wait until another consumer holds ``entry`` (or it is gone); when, in monotonic time."""
    client: Any = queue.connection.client
    (group,) = await client.xinfo_groups(queue.keys[0])
    while True:
        rows = await client.xpending_range(queue.keys[0], group["name"], entry, entry, 1)
        if not rows or rows[0]["consumer"].decode() != queue.consumer:
            return time.monotonic()
        await asyncio.sleep(0.02)


async def _seed(fleet: Fleet) -> None:
    async with fleet.api() as api:
        principal = await author(api)
        await write_requests(api, principal, topics(JOBS))


def _observe(kills: list[Kill], ledger: Ledger, queue: QueueView) -> None:
    """Note what the dead workers held that has moved on: redelivered, claimed or finished."""
    unsettled = [kill for kill in kills if not kill.settled]
    if not unsettled:
        return
    holders = queue.holders()
    now = time.monotonic()
    for kill in unsettled:
        waiting = kill.jobs - kill.job_latency.keys()
        moved = ledger.moved_on(waiting, kill.worker)
        moved |= {j for j in waiting if {c for c, _ in holders.get(j, [])} - {kill.consumer}}
        for job_id in moved:
            kill.job_latency[job_id] = now - kill.at
        if kill.entries - kill.entry_latency.keys():
            still_held = queue.pending(kill.consumer)
            for entry in kill.entries - kill.entry_latency.keys() - still_held:
                kill.entry_latency[entry] = now - kill.at


def test_sigkilled_workers_lose_nothing_and_effects_happen_once(
    make_fleet: Any, ledger: Ledger
) -> None:
    fleet: Fleet = make_fleet(lease=LEASE, reconcile=30.0, generator="offline?latency=0.25")
    poll = RedisQueue(fleet.queue_url, visibility_timeout=LEASE).poll_interval
    bound = LEASE + poll
    workers = [fleet.spawn(concurrency=8) for _ in range(WORKERS)]
    started = time.monotonic()
    # The requests arrive while the workers run, and die.
    seeding = threading.Thread(target=asyncio.run, args=(_seed(fleet),))
    seeding.start()
    for worker in workers:
        worker.wait_ready()

    queue = QueueView(fleet)
    rng = random.Random(5)
    kills: list[Kill] = []
    next_kill = time.monotonic() + KILL_EVERY
    deadline = time.monotonic() + 150
    done, checked = 0, 0.0
    try:
        while done < JOBS or seeding.is_alive() or not all(k.settled for k in kills):
            now = time.monotonic()
            assert now < deadline, f"not drained in time: {ledger.counts()}"
            _observe(kills, ledger, queue)
            if now - checked > 0.5:
                done, checked = ledger.done(), now
            # The next kill once every worker runs again (a worker still starting holds nothing).
            if now >= next_kill and done < JOBS and all(w.ready() for w in workers):
                victim = rng.choice(workers)
                consumer = queue.consumer(victim)
                victim.signal(signal.SIGKILL)
                at = time.monotonic()
                assert victim.wait(timeout=10) == -signal.SIGKILL
                # Dead now: what it holds can only be taken over by others.
                held = queue.holders()
                holding = ledger.leased_by(victim) | {
                    j for j, out in held.items() if consumer in {c for c, _ in out}
                }
                kills.append(Kill(at, victim, consumer, holding, queue.pending(consumer)))
                workers[workers.index(victim)] = fleet.spawn(concurrency=8)  # as systemd would
                next_kill = time.monotonic() + KILL_EVERY
            time.sleep(0.1)
        drained_in = time.monotonic() - started
    finally:
        queue.close()
        seeding.join()

    counts = ledger.counts()
    jobs = ledger.jobs()
    job_latencies = [s for k in kills for s in k.job_latency.values()]
    entry_latencies = [s for k in kills for s in k.entry_latency.values()]
    lost = JOBS - counts.jobs["done"]
    print(
        f"\nSIGKILL: {JOBS} jobs, {WORKERS} workers, {len(kills)} kills; drained in "
        f"{drained_in:.1f} s; lost {lost}, "
        f"effects {counts.usage} usage records / {counts.generations['succeeded']} generations; "
        f"{len(job_latencies)} jobs and {len(entry_latencies)} unacked deliveries of "
        f"killed workers moved on after (median, max) {_spread(job_latencies)} (jobs) / "
        f"{_spread(entry_latencies)} (deliveries); bound: visibility timeout "
        f"{LEASE} s + reclaim interval {poll} s = {bound} s (+{SLACK} s slack); "
        f"jobs run more than once: {sum(1 for j in jobs.values() if j.attempts > 1)}"
    )
    print(counts)
    assert len(kills) >= 3, "too few kills to mean anything"
    assert job_latencies, "no kill caught a job running"
    assert lost == 0
    assert counts.jobs == {"done": JOBS}
    assert counts.usage == JOBS  # exactly one effect row per job
    assert counts.generations == {"succeeded": JOBS}
    assert counts.posts == {"draft": JOBS}
    assert max(job_latencies) <= bound + SLACK, sorted(job_latencies)[-5:]
    assert max(entry_latencies) <= bound + SLACK, sorted(entry_latencies)[-5:]


async def test_a_delivery_that_lapses_before_its_dead_holders_lease_is_not_dropped(
    make_fleet: Any, ledger: Ledger
) -> None:
    """A redelivery that meets the dead holder's lease comes back when the lease ends.

    The queue gives a dead worker's delivery to another consumer after the visibility timeout,
    which may come a moment before the job row's lease ends (the row is claimed, and its lease
    set, a little after the delivery). The claim then fails; the delivery must come back when the
    lease ends, not be dropped and left to the reconciler.
    """
    fleet: Fleet = make_fleet(lease=LEASE, reconcile=30.0, generator="offline")
    holder = "dead-holder:0:test"
    async with fleet.api() as api:
        principal = await author(api)
        (job_id,) = await write_requests(api, principal, topics(1))
        dying = RedisQueue(fleet.queue_url, visibility_timeout=LEASE, consumer=holder)
        delivery = await dying.receive(timeout=2)
        assert delivery is not None
        assert delivery.job_id == job_id
        # Claimed late: the row's lease ends well after the delivery's visibility deadline.
        now = api.clock.now()
        lease_ends = time.monotonic() + 3 * LEASE
        async with api.store.unit_of_work() as uow:
            claimed = await uow.jobs.claim(
                job_id, owner=holder, now=now, lease_until=now + timedelta(seconds=3 * LEASE)
            )
        assert claimed is not None
        # ... and the holder dies (no ack, no heartbeat). A worker starts.
        worker = fleet.spawn(concurrency=2)
        worker.wait_ready()
        redelivered = lease_ends - await _taken_over(dying, delivery.receipt.partition("/")[0])
        waited = await await_until(
            lambda: ledger.counts().jobs == {"done": 1}, 15, "the job to be done"
        )
        done_after_lease = time.monotonic() - lease_ends
        await dying.connection.aclose()
    print(
        f"\nredelivered {redelivered:.2f} s before the dead holder's lease ended; done "
        f"{done_after_lease:.2f} s after it ended (waited {waited:.2f} s)"
    )
    assert redelivered > 0, "the worker started too late to test anything"
    assert ledger.jobs()[job_id].attempts == 2
    assert done_after_lease <= LEASE + SLACK, "left to the reconciler"
