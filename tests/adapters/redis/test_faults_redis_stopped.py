"""Redis stopped during requests: reads fall through, requests are accepted and done once it is back.

A ``redis-server`` of the test's own carries the cache, lock and queue of an API (the test
process) and a ``ghostart worker`` process. It is stopped while requests arrive, then started
again, empty (nothing is persisted). Meanwhile:

- a request answered from the Redis cache before the outage is answered again: the cache read
  fails, falls through to the store, whose finished generation answers it (no new generation);
- new requests are accepted at once (their rows written, the failed enqueue reported) and,
  once Redis is back, the worker's reconciler enqueues them from the outbox and they are done;
- the worker process rides the outage out.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from ghostart.models import PostStatus
from ghostart_redis.testing import RecordingMonitor
from tests.adapters.redis.faultgen import calls
from tests.adapters.redis.fleet import Fleet, Ledger, RedisServer, author

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

CACHED = "What outages teach"


async def test_requests_during_a_redis_outage_are_accepted_and_done_once_it_is_back(
    make_fleet: Any, ledger: Ledger, own_redis: RedisServer, tmp_path: Path
) -> None:
    log = tmp_path / "calls"
    fleet: Fleet = make_fleet(
        redis_url=own_redis.url, lease=1.0, reconcile=0.3, generator=f"fault?calls={log}"
    )
    worker = fleet.spawn(concurrency=4, faults=True)
    worker.wait_ready()
    monitor = RecordingMonitor()
    async with fleet.api(monitor=monitor) as api:
        author_ = await author(api)
        first = await api.generation.request(author_, {"topic": CACHED})
        first = await api.generation.wait(author_, first, timeout=15, poll_interval=0.05)
        assert first.status is PostStatus.DRAFT
        assert (await api.generation.request(author_, {"topic": CACHED})).from_cache

        own_redis.stop()
        started = time.monotonic()
        again = await api.generation.request(author_, {"topic": CACHED})
        during = [
            await api.generation.request(author_, {"topic": f"Outage lesson {n}"}) for n in range(5)
        ]
        accepted_in = time.monotonic() - started
        down_for = 1.0
        await asyncio.sleep(max(0.0, down_for - accepted_in))
        assert {(await api.generation.get(author_, p.id)).status for p in during} == {
            PostStatus.REQUESTED
        }, "done without Redis?"
        own_redis.start()
        back = time.monotonic()
        after = [
            await api.generation.request(author_, {"topic": f"Recovery lesson {n}"})
            for n in range(3)
        ]
        done = [
            await api.generation.wait(author_, post, timeout=20, poll_interval=0.1)
            for post in during + after
        ]
        drafted_in = time.monotonic() - back
    counts = ledger.counts()
    made = [topic for _, topic in calls(log)]
    failures = sorted({context.get("operation", "enqueue") for _, context in monitor.exceptions})
    print(
        f"\nRedis down {down_for} s: the cached request answered again ({again.status}, from "
        f"the store), 5 new requests accepted in {accepted_in:.2f} s; reported: {failures}; "
        f"Redis back (empty): those 5 and 3 more drafted {drafted_in:.2f} s later; generator "
        f"calls {len(made)}; {counts}"
    )
    assert again.status is PostStatus.DRAFT and again.from_cache
    assert [p.status for p in during] == [PostStatus.REQUESTED] * 5
    assert accepted_in < 3.0
    assert monitor.exceptions, "the failing cache and queue were not reported"
    assert [p.status for p in done] == [PostStatus.DRAFT] * 8
    assert made.count(CACHED) == 1  # the outage did not make it generate again
    assert len(made) == 1 + 5 + 3
    assert counts.usage == 1 + 5 + 3
    assert worker.alive()
