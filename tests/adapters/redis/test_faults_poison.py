"""A poison job (it kills every worker that runs it) is dead-lettered; the other jobs flow.

Four ``ghostart worker`` processes, one job at a time each, share the queue with
``max_deliveries=3``. The poison job crashes its worker (SIGKILL from inside the generator) each
time it runs: after three deliveries the queue buries it in the dead-letter stream instead of
delivering it again, while forty ordinary jobs are each done once. The job row stays the truth:
a worker started later finds it (the reconciler: running, its lease long gone), and since it has
had its ``max_attempts`` (3) the claim fails it for good, with its post, instead of running it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from ghostart_redis.queue import RedisQueue
from tests.adapters.redis.faultgen import calls
from tests.adapters.redis.fleet import (
    Fleet,
    Ledger,
    author,
    await_until,
    topics,
    write_requests,
)

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

DELIVERIES = 3
OTHERS = 40
POISON = "Poison: a draft that kills its worker"


async def test_poison_job_is_dead_lettered_and_others_are_unaffected(
    make_fleet: Any, ledger: Ledger, tmp_path: Path
) -> None:
    log = tmp_path / "calls"
    fleet: Fleet = make_fleet(
        lease=1.0,
        reconcile=60.0,  # only at start: the queue alone decides the deliveries here
        max_attempts=DELIVERIES,
        queue_options={"max_deliveries": str(DELIVERIES)},
        generator=f"fault?calls={log}&latency=0.02&crash=Poison",
    )
    workers = [fleet.spawn(concurrency=1, faults=True) for _ in range(DELIVERIES + 1)]
    for worker in workers:
        worker.wait_ready()
    queue = RedisQueue(fleet.queue_url)
    try:
        async with fleet.api() as api:
            principal = await author(api)
            (poison_id, *other_ids) = await write_requests(
                api, principal, [POISON, *topics(OTHERS)]
            )
            await await_until(
                lambda: (
                    len(_ran(log, POISON)) == DELIVERIES
                    and sum(not w.alive() for w in workers) == DELIVERIES
                    and ledger.done() == OTHERS
                ),
                30,
                "three crashes and the other jobs",
            )
            letters = await _dead_letters(queue)
            jobs = ledger.jobs()
            # A worker started now: its reconciler finds the poison job, and fails it.
            late = fleet.spawn(concurrency=1, faults=True)
            await await_until(
                lambda: ledger.jobs()[poison_id].status == "failed", 15, "the failure"
            )
    finally:
        await queue.aclose()
    poison = ledger.jobs()[poison_id]
    counts = ledger.counts()
    crashed = [w.popen.returncode for w in workers if not w.alive()]
    print(
        f"\npoison: ran {len(_ran(log, POISON))} times, {len(crashed)} workers killed "
        f"(exit {crashed}); dead letters {letters}; the {OTHERS} others: attempts "
        f"{sorted({jobs[j].attempts for j in other_ids})}, {counts}; the poison row then "
        f"{poison.status} after {poison.attempts} claims"
    )
    assert [(d.job_id, d.deliveries, d.reason) for d in letters] == [
        (str(poison_id), DELIVERIES, "max deliveries")
    ]
    assert crashed == [-9] * DELIVERIES
    assert all(jobs[j].status == "done" and jobs[j].attempts == 1 for j in other_ids)
    assert counts.usage == OTHERS
    assert counts.posts == {"draft": OTHERS, "failed": 1}
    assert counts.generations == {"succeeded": OTHERS, "failed": 1}
    assert (poison.status, poison.attempts) == ("failed", DELIVERIES + 1)
    assert len(_ran(log, POISON)) == DELIVERIES  # failed by the claim, not run a fourth time
    assert late.alive()


def _ran(log: Path, topic: str) -> list[int]:
    return [pid for pid, called in calls(log) if called == topic]


async def _dead_letters(queue: RedisQueue) -> Any:
    for _ in range(50):  # buried by the next receive's scan after the third crash
        letters = await queue.dead_letters()
        if letters:
            return letters
        await asyncio.sleep(0.1)
    return []
