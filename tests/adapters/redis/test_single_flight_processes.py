"""Single flight across processes: 100 identical requests over two app instances, 1 generation.

Two processes, each a whole app (API and worker) on the same PostgreSQL and Redis (cache, lock,
queue), send 50 identical draft requests each at the same moment. Every generator call in either
process is recorded (:mod:`tests.adapters.redis.faultgen`); the generator takes half a second,
so all 100 requests arrive while the first generation runs.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ghostart.models import Principal
from tests.adapters.redis.faultgen import calls
from tests.adapters.redis.fleet import ROOT, Fleet, Ledger, author

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

PER_PROCESS = 50
TOPIC = "What single flight saves us"


async def _author(fleet: Fleet) -> Principal:
    async with fleet.api() as api:
        return await author(api)


def test_identical_requests_in_two_processes_make_one_generation(
    make_fleet: Any, ledger: Ledger, tmp_path: Path
) -> None:
    log = tmp_path / "calls"
    fleet: Fleet = make_fleet(generator=f"fault?calls={log}&latency=0.5")
    principal = asyncio.run(_author(fleet))
    args = [str(principal.user_id), str(principal.organization_id), str(PER_PROCESS), TOPIC]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.adapters.redis.requester", *args],
            env=fleet.env(),
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=(tmp_path / f"requester-{n}.log").open("wb"),
            text=True,
        )
        for n in range(2)
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "ready", "a requester did not start"
        for process in processes:  # both at once
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        results = [json.loads(process.communicate(timeout=60)[0]) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    posts = [post for result in results for post in result]
    made = calls(log)
    counts = ledger.counts()
    print(
        f"\nsingle flight: {len(posts)} requests from 2 processes -> generator calls {len(made)} "
        f"(by processes {sorted(Counter(pid for pid, _ in made).values())}), generations "
        f"{dict(counts.generations)}, posts {dict(Counter(p['status'] for p in posts))}, "
        f"{sum(p['from_cache'] for p in posts)} answered from the cache"
    )
    assert all(process.returncode == 0 for process in processes)
    assert len(posts) == 2 * PER_PROCESS
    assert len(made) == 1
    assert counts.generations == {"succeeded": 1}
    assert counts.posts == {"draft": 2 * PER_PROCESS}
    assert {p["status"] for p in posts} == {"draft"}
    assert len({p["body"] for p in posts}) == 1
    assert len({p["generation_id"] for p in posts}) == 1
