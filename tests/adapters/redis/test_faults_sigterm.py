"""SIGTERM: a worker's in-flight jobs finish within the grace period or are handed back at once.

A ``ghostart worker`` holds two jobs when it is told to stop: one that ends within the grace
period and one that would run well past it. The first finishes there; the second is released
(its row queued again, its delivery given back to the queue) when the grace period ends, and a
worker started meanwhile takes it at once, long before the visibility timeout would have.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import pytest

from ghostart_redis.queue import RedisQueue
from tests.adapters.redis.faultgen import calls
from tests.adapters.redis.fleet import (
    Fleet,
    Ledger,
    QueueView,
    author,
    await_until,
    write_requests,
)

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

GRACE = 1.0
LEASE = 6.0  # the visibility timeout: a delivery not handed back would wait this long


async def test_sigterm_finishes_short_jobs_and_hands_long_ones_back_at_once(
    make_fleet: Any, ledger: Ledger, tmp_path: Path
) -> None:
    log = tmp_path / "calls"
    fleet: Fleet = make_fleet(lease=LEASE, grace=GRACE, generator=f"fault?calls={log}")
    stopping = fleet.spawn(concurrency=2, faults=True)
    stopping.wait_ready()
    short, long = "Shutdowns: a job that sleeps 0.5 s", "Shutdowns: a job that sleeps 1.8 s"
    async with fleet.api() as api:
        principal = await author(api)
        short_id, long_id = await write_requests(api, principal, [short, long])
        await await_until(
            lambda: ledger.leased_by(stopping) == {short_id, long_id}, 10, "both jobs running"
        )
    stopping.signal(signal.SIGTERM)
    told = time.monotonic()
    code = stopping.wait(timeout=GRACE + 10)
    stopped_in = time.monotonic() - told
    # The short job finished here, within the grace period; the long one was released: its row
    # queued, unleased, and its delivery back in the queue, ready (not waiting out the lease).
    jobs = ledger.jobs()
    assert (jobs[short_id].status, jobs[short_id].attempts) == ("done", 1)
    assert (jobs[long_id].status, jobs[long_id].lease_owner) == ("queued", None)
    queue, view = RedisQueue(fleet.queue_url), QueueView(fleet)
    try:
        size, waiting = await queue.size(), view.ready()
    finally:
        await queue.aclose()
        view.close()
    # Ready: the long job, and any "draft ready" email the short one queued.
    assert (size.delayed, size.in_flight) == (0, 0)
    assert long_id in waiting

    successor = fleet.spawn(concurrency=2, faults=True)
    successor.wait_ready()
    ready = time.monotonic()
    await await_until(lambda: ledger.jobs()[long_id].attempts == 2, 10, "the successor's claim")
    taken_after = time.monotonic() - ready
    await await_until(lambda: ledger.counts().jobs == {"done": 2}, 10, "the long job to finish")
    counts = ledger.counts()
    made = calls(log)
    print(
        f"\nSIGTERM: exit code {code} after {stopped_in:.2f} s (grace {GRACE} s); the 0.5 s job "
        f"finished there; the 1.8 s job was handed back (queue {size}) and claimed by the next "
        f"worker {taken_after:.2f} s after it started (visibility timeout {LEASE} s); {counts}; "
        f"generator calls {[topic for _, topic in made]}"
    )
    assert code == 0
    assert GRACE - 0.1 <= stopped_in <= GRACE + 2.0  # waited for the grace period, no longer
    assert taken_after < 1.0
    assert counts.usage == 2
    assert [topic for _, topic in made].count(short) == 1
    assert [topic for _, topic in made].count(long) == 2  # started, released, run again
    assert ledger.jobs()[long_id].status == "done"
