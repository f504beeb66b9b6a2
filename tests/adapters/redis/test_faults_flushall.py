"""Redis wiped (FLUSHALL) mid-run: the reconciler queues everything again from the outbox.

Two ``ghostart worker`` processes drain 200 jobs from a ``redis-server`` of the test's own. A
third of the way through, the server is wiped: the stream, its consumer group, the delayed set,
every delivery in flight. The job rows in PostgreSQL are the truth: the workers' reconcilers see
the jobs that are due and not in flight, enqueue them again, and every job is done exactly once.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ghostart_redis.queue import QueueSize, RedisQueue
from tests.adapters.redis.fleet import (
    Fleet,
    Ledger,
    RedisServer,
    author,
    await_until,
    topics,
    write_requests,
)

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

JOBS = 200
LEASE = 1.0
RECONCILE = 0.5


async def test_flushall_mid_run_loses_nothing(
    make_fleet: Any, ledger: Ledger, own_redis: RedisServer
) -> None:
    fleet: Fleet = make_fleet(
        redis_url=own_redis.url, lease=LEASE, reconcile=RECONCILE, generator="offline?latency=0.1"
    )
    workers = [fleet.spawn(concurrency=4) for _ in range(2)]
    for worker in workers:
        worker.wait_ready()
    async with fleet.api() as api:
        principal = await author(api)
        await write_requests(api, principal, topics(JOBS))
    await await_until(lambda: ledger.done() >= JOBS // 3, 30, "a third of the jobs", every=0.02)
    own_redis.flushall()
    at_wipe = ledger.counts()
    size_after = await _queue_size(fleet)
    drained = await await_until(lambda: ledger.done() == JOBS, 30, "every job", every=0.05)
    counts = ledger.counts()
    lost = JOBS - counts.jobs["done"]
    print(
        f"\nFLUSHALL after {at_wipe.jobs['done']} of {JOBS} jobs (queue then {size_after}); "
        f"the {JOBS - at_wipe.jobs['done']} others (in flight or re-queued from the outbox) all "
        f"done {drained:.1f} s after the wipe (lease {LEASE} s, reconcile every {RECONCILE} s); "
        f"lost {lost}; {counts}"
    )
    assert at_wipe.jobs["done"] < JOBS, "the wipe came too late to test anything"
    assert lost == 0
    assert counts.jobs == {"done": JOBS}
    assert counts.usage == JOBS  # one effect row per job, none twice
    assert counts.generations == {"succeeded": JOBS}
    assert counts.posts == {"draft": JOBS}
    assert all(worker.alive() for worker in workers)


async def _queue_size(fleet: Fleet) -> QueueSize:
    queue = RedisQueue(fleet.queue_url)
    try:
        return await asyncio.wait_for(queue.size(), 5)
    finally:
        await queue.aclose()
