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
Redis here). The test looks every 0.1 s, but waits for a core as well, so the first look that
finds a piece moved on can come well after the move: a piece is late when a look after the
bound still found it held (both times are printed).
"""

from __future__ import annotations

import asyncio
import random
import signal
import statistics
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa

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
    #: Per piece, seconds after the kill: the last look that found it still held, and the first
    #: that found it moved on. It moved on in between.
    job_latency: dict[UUID, tuple[float, float]] = field(default_factory=dict)
    entry_latency: dict[str, tuple[float, float]] = field(default_factory=dict)
    looked: float = 0.0  #: seconds after the kill of the last look (what was held then)

    @property
    def settled(self) -> bool:
        return len(self.job_latency) == len(self.jobs) and len(self.entry_latency) == len(
            self.entries
        )


def _columns(pairs: list[tuple[float, float]]) -> tuple[list[float], list[float]]:
    return [a for a, _ in pairs], [b for _, b in pairs]


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
    looking = time.monotonic()
    holders = queue.holders()
    now = time.monotonic()
    for kill in unsettled:
        waiting = kill.jobs - kill.job_latency.keys()
        moved = ledger.moved_on(waiting, kill.worker)
        moved |= {j for j in waiting if {c for c, _ in holders.get(j, [])} - {kill.consumer}}
        for job_id in moved:
            kill.job_latency[job_id] = (kill.looked, now - kill.at)
        if kill.entries - kill.entry_latency.keys():
            still_held = queue.pending(kill.consumer)
            for entry in kill.entries - kill.entry_latency.keys() - still_held:
                kill.entry_latency[entry] = (kill.looked, now - kill.at)
        kill.looked = looking - kill.at


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
            for worker in workers:  # only victims die, and they are replaced at once
                assert worker.alive(), f"worker {worker.pid} exited:\n{worker.output()[-3000:]}"
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
    # Seconds after its kill: the last look that found a piece held, the first that did not.
    job_seen, job_moved = _columns([t for k in kills for t in k.job_latency.values()])
    entry_seen, entry_moved = _columns([t for k in kills for t in k.entry_latency.values()])
    lost = JOBS - counts.jobs["done"]
    print(
        f"\nSIGKILL: {JOBS} jobs, {WORKERS} workers, {len(kills)} kills; drained in "
        f"{drained_in:.1f} s; lost {lost}, "
        f"effects {counts.usage} usage records / {counts.generations['succeeded']} generations; "
        f"{len(job_moved)} jobs and {len(entry_moved)} unacked deliveries of killed workers "
        f"moved on after (median, max) {_spread(job_seen)} (jobs, last seen held) - "
        f"{_spread(job_moved)} (first seen moved on) / {_spread(entry_seen)} - "
        f"{_spread(entry_moved)} (deliveries); bound: visibility timeout "
        f"{LEASE} s + reclaim interval {poll} s = {bound} s (+{SLACK} s slack); "
        f"jobs run more than once: {sum(1 for j in jobs.values() if j.attempts > 1)}"
    )
    print(counts)
    assert len(kills) >= 3, "too few kills to mean anything"
    assert job_moved, "no kill caught a job running"
    assert lost == 0
    assert counts.jobs == {"done": JOBS}
    assert counts.usage == JOBS  # exactly one effect row per job
    assert counts.generations == {"succeeded": JOBS}
    assert counts.posts == {"draft": JOBS}
    # Held after the bound, as last seen (a look at a time of its own: this process, too, waits
    # for a core, and the first look that finds a piece moved on may come well after the move).
    assert max(job_seen) <= bound + SLACK, sorted(zip(job_seen, job_moved, strict=True))[-5:]
    assert max(entry_seen) <= bound + SLACK, sorted(zip(entry_seen, entry_moved, strict=True))[-5:]


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


async def test_a_dead_holders_job_is_claimed_as_its_lease_ends_not_behind_the_backlog(
    make_fleet: Any, ledger: Ledger
) -> None:
    """A delivery that lapses while its dead holder's lease still runs keeps its place.

    The holder's heartbeat renews the job row's lease, then the delivery; this one died in
    between, so the delivery lapses nearly half a lease before the lease does, while 200 jobs
    wait in the queue. The worker that receives it must claim the job as the lease ends, not
    give the delivery back to wait behind the 200 (what the SIGKILL test above caught: one
    job of a killed worker moved on after 5 s in CI, 23 s on a busier run).
    """
    backlog = 200
    fleet: Fleet = make_fleet(
        lease=LEASE,
        reconcile=30.0,
        generator="offline?latency=0.25",
        queue_options={"poll_interval": "0.1"},  # reclaimed soon after the deadline, surely
    )
    holder = "dead-holder:0:test"
    async with fleet.api() as api:
        principal = await author(api)
        (job_id,) = await write_requests(api, principal, topics(1))
        dying = RedisQueue(fleet.queue_url, visibility_timeout=LEASE, consumer=holder)
        delivery = await dying.receive(timeout=2)
        assert delivery is not None
        assert delivery.job_id == job_id
        now = api.clock.now()
        async with api.store.unit_of_work() as uow:
            claimed = await uow.jobs.claim(
                job_id, owner=holder, now=now, lease_until=now + timedelta(seconds=LEASE)
            )
        assert claimed is not None
        await write_requests(api, principal, topics(backlog, "A backlog, item"))

        async def renew_row(lease_until: datetime) -> None:
            async with api.store.unit_of_work() as uow:
                assert await uow.jobs.extend(job_id, owner=holder, lease_until=lease_until)

        # The holder's heartbeat (the row, then the delivery) runs until a worker does.
        worker = fleet.spawn(concurrency=4)
        while True:
            beat, beat_at = api.clock.now(), time.monotonic()
            await renew_row(beat + timedelta(seconds=LEASE))
            await dying.extend(delivery, seconds=LEASE)
            if worker.ready():
                break
            await asyncio.sleep(LEASE / 3)
        # One more beat, a little late, renews the row and dies before the delivery: the lease
        # ends 0.45 leases after the delivery's deadline (a beat on time: a third), so that
        # the delivery is surely handed over while the lease runs.
        await asyncio.sleep(LEASE / 3)
        await renew_row(beat + timedelta(seconds=LEASE * 1.45))
        lease_ends = beat_at + LEASE * 1.45
        redelivered = lease_ends - await _taken_over(dying, delivery.receipt.partition("/")[0])
        await await_until(
            lambda: ledger.jobs()[job_id].attempts == 2, 30, "the successor's claim", every=0.02
        )
        claimed_after = time.monotonic() - lease_ends
        backlog_done = ledger.done()
        await dying.connection.aclose()
    print(
        f"\nredelivered {redelivered:.2f} s before the dead holder's lease ended; claimed "
        f"{claimed_after:.2f} s after it ended, with {backlog_done} of the {backlog} jobs queued "
        "behind it done"
    )
    assert redelivered > 0, "handed over after the lease ended: nothing tested"
    assert claimed_after <= SLACK, "sent behind the backlog"
    assert backlog_done < backlog // 2


async def test_a_delivery_that_meets_its_row_locked_is_not_dropped(
    make_fleet: Any, ledger: Ledger
) -> None:
    """A claim that finds the job's row locked looks again, rather than drop the delivery.

    On PostgreSQL the claim skips a row that another transaction holds (another claim, the
    holder renewing its lease, the reconciler), so it can fail on a job nobody runs. Here the
    test holds the row while the worker receives the job, and lets go: the job must run then,
    not wait a reconcile interval (30 s here) for want of a delivery.
    """
    fleet: Fleet = make_fleet(lease=LEASE, reconcile=30.0, generator="offline")
    worker = fleet.spawn(concurrency=2)
    worker.wait_ready()
    view = QueueView(fleet)
    async with fleet.api() as api:
        principal = await author(api)
        (job_id,) = await write_requests(api, principal, topics(1), enqueue=False)
        with ledger.engine.connect() as conn, conn.begin():
            conn.execute(sa.text("SELECT id FROM jobs WHERE id = :id FOR UPDATE"), {"id": job_id})
            await api.queue.enqueue(job_id)
            await await_until(lambda: job_id in view.holders(), 10, "the worker's delivery")
            await asyncio.sleep(0.3)  # its claim has met the lock
            assert ledger.jobs()[job_id].status == "queued"
        released = time.monotonic()  # the transaction ended: the row is free
        await await_until(lambda: ledger.jobs()[job_id].status == "done", 10, "the job")
        done_after = time.monotonic() - released
    view.close()
    print(f"\ndone {done_after:.2f} s after the row's lock was released")
    assert ledger.jobs()[job_id].attempts == 1
    assert done_after <= LEASE + SLACK
