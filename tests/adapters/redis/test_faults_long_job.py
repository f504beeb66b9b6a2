"""A job three visibility timeouts long, kept by heartbeats, runs once.

Two ``ghostart worker`` processes share the queue. One runs a job that takes 3.3 times the
visibility timeout (the job lease); its heartbeat extends both the delivery and the lease every
third of it. The other worker keeps receiving (short jobs arrive all along), so it scans for
stalled deliveries the whole time and would take the long one over if it ever lapsed.

Both heartbeats are checked: the job row's lease (else the reconciler would queue the job again
and another worker would claim it: a second attempt) and the queue delivery's (else the other
worker would be handed the delivery: a second delivery, seen in the pending list).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

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

LEASE = 1.0
LONG = "Patience: a job that sleeps 3.3 s"


async def test_a_job_three_visibility_timeouts_long_runs_once(
    make_fleet: Any, ledger: Ledger, tmp_path: Path
) -> None:
    log = tmp_path / "calls"
    fleet: Fleet = make_fleet(lease=LEASE, generator=f"fault?calls={log}&latency=0.05")
    workers = [fleet.spawn(concurrency=4, faults=True) for _ in range(2)]
    for worker in workers:
        worker.wait_ready()
    async with fleet.api() as api:
        principal = await author(api)
        started = time.monotonic()
        (long_id,) = await write_requests(api, principal, [LONG])
        short = 0
        queue = QueueView(fleet)
        deliveries: set[tuple[str, int]] = set()  # (consumer, delivery count) of the long job
        try:
            while ledger.jobs()[long_id].status != "done":  # short jobs keep both receiving
                await write_requests(api, principal, [f"Patience, meanwhile, lesson {short}"])
                short += 1
                deliveries.update(queue.holders().get(long_id, []))
                await asyncio.sleep(0.1)
                assert time.monotonic() - started < 15, "the long job never finished"
        finally:
            queue.close()
        took = time.monotonic() - started
    await await_until(lambda: ledger.counts().jobs == {"done": short + 1}, 10, "the short jobs")
    long_job = ledger.jobs()[long_id]
    runs = [topic for _, topic in calls(log)].count(LONG)
    print(
        f"\nlong job: {took:.2f} s = {took / LEASE:.1f} visibility timeouts; runs {runs}, "
        f"attempts {long_job.attempts}, deliveries seen {sorted(deliveries)}; {short} short "
        f"jobs beside it; {ledger.counts()}"
    )
    assert took >= 3 * LEASE
    assert runs == 1
    assert len(deliveries) == 1, "the delivery was handed to another consumer"
    assert {count for _, count in deliveries} == {1}
    assert long_job.attempts == 1
    assert ledger.counts().usage == short + 1
