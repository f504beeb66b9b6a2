"""Four worker processes drain 10,000 outbox rows from one PostgreSQL: each row claimed once.

Each process does what the worker's reconciler does with the outbox: read due jobs, claim each
(compare-and-set, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and finish what it claimed. All four
read the same due rows at once, so nearly every row is contended; the claims decide.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest

from ghostart.models import Job, JobKind, JobStatus

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(600)]

JOBS = 10_000
PROCESSES = 4

WORKER = textwrap.dedent(
    """
    import asyncio, json, sys
    from datetime import UTC, datetime, timedelta
    from ghostart_postgres import PostgresStore

    async def main(url, owner, out):
        store = PostgresStore(url)
        claimed, lost = [], 0
        try:
            while True:
                now = datetime.now(UTC)
                async with store.unit_of_work() as uow:
                    due = await uow.jobs.due(now=now, enqueued_before=now, limit=200)
                if not due:
                    break
                for job in due:
                    async with store.unit_of_work() as uow:
                        taken = await uow.jobs.claim(
                            job.id, owner=owner, now=now, lease_until=now + timedelta(hours=1)
                        )
                        if taken is None:
                            lost += 1
                            continue
                        assert await uow.jobs.finish(job.id, owner=owner, status="done", now=now)
                    claimed.append(str(job.id))
        finally:
            await store.aclose()
        with open(out, "w") as fh:
            json.dump({"claimed": claimed, "lost": lost}, fh)

    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
    """
)


async def _fill(url: str) -> set[str]:
    from ghostart_postgres import PostgresStore

    store = PostgresStore(url)
    ids: set[str] = set()
    try:
        async with store.unit_of_work() as uow:
            for n in range(JOBS):
                job = Job(
                    kind=JobKind.EMAIL,
                    subject_id=uuid4(),
                    idempotency_key=f"claim-test:{n}",
                    run_at=datetime(2026, 1, 1, tzinfo=UTC),
                )
                await uow.jobs.add(job)
                ids.add(str(job.id))
        async with store.unit_of_work() as uow:
            counts = await uow.jobs.count_by_status()
    finally:
        await store.aclose()
    assert counts.get(JobStatus.QUEUED.value) == JOBS
    return ids


def test_four_processes_claim_each_of_10000_rows_exactly_once(
    postgres_url: str, tmp_path: Path
) -> None:
    ids = asyncio.run(_fill(postgres_url))
    outputs = [tmp_path / f"worker-{n}.json" for n in range(PROCESSES)]
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, postgres_url, f"worker-{n}", str(out)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for n, out in enumerate(outputs)
    ]
    for worker in workers:
        _, errors = worker.communicate(timeout=540)
        assert worker.returncode == 0, errors

    results = [json.loads(out.read_text()) for out in outputs]
    claims = [job_id for result in results for job_id in result["claimed"]]
    per_worker = [len(result["claimed"]) for result in results]
    contended = sum(result["lost"] for result in results)
    print(f"\nclaims per worker {per_worker}, claims lost to another worker {contended}")

    assert len(claims) == JOBS  # none claimed twice...
    assert set(claims) == ids  # ...and none left behind
    assert sum(1 for n in per_worker if n > 0) >= 2, per_worker  # they really ran side by side
