"""Throughput of the whole generation flow on embedded adapters, with a slow generator.

1,000 distinct requests, at most 50 in flight, a generator that takes 200 ms: at best
50 / 0.2 s = 250 requests a second. We print the flow's throughput as a fraction of that ideal
(goal: at least 0.9) and of a baseline measured in the same run (the bare generator, called the
same way), plus how much the process's memory grew. Only correctness is asserted; speed never
fails the run.

Opt-in, so that a plain ``pytest`` never runs it: ``nox -s bench``, or
``GHOSTART_TEST_BENCH=1 pytest tests/benchmarks -s -q -p no:cacheprovider``. (The tests'
``conftest.py`` removes other ``GHOSTART_*`` variables from the environment, which is why the
switch is ``GHOSTART_TEST_BENCH``.)
"""

from __future__ import annotations

import asyncio
import gc
import os
import resource
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from ghostart.app import Ghostart
from ghostart.builtin.generator_offline import OfflineGenerator
from ghostart.models import BrandVoice, ContentRequest, Draft, Post, PostStatus
from ghostart.settings import load_settings
from tests.support import make_team

pytestmark = [
    pytest.mark.skipif(
        os.environ.get("GHOSTART_TEST_BENCH") != "1",
        reason="benchmark: run `nox -s bench` (or set GHOSTART_TEST_BENCH=1)",
    ),
    pytest.mark.timeout(900),  # the suite's 120 s per test is too short on a slow machine
]

DELAY = 0.2  # seconds per generator call
IN_FLIGHT = 50
REQUESTS = 1_000
IDEAL = IN_FLIGHT / DELAY  # 250 requests a second


class SlowGenerator:
    """The offline generator taking ``delay`` seconds a call; counts calls without keeping them.

    (``ghostart.testing.CountingGenerator`` keeps every call's arguments, which would show up
    as memory growth here.)
    """

    def __init__(self, delay: float) -> None:
        self.inner = OfflineGenerator(latency=delay)
        self.model = self.inner.model
        self.count = 0

    async def generate(self, voice: BrandVoice, request: ContentRequest) -> Draft:
        """Count, then generate slowly."""
        self.count += 1
        return await self.inner.generate(voice, request)


def _status_kb(field: str) -> int | None:
    """A ``/proc/self/status`` field in kB (Linux), or ``None``."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _max_rss_kb() -> int:
    """The high-water mark of resident memory, in kB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # macOS reports bytes


def _memory() -> tuple[int | None, int]:
    """(current RSS kB or ``None``, peak RSS kB), after a full collection."""
    gc.collect()
    return _status_kb("VmRSS"), _max_rss_kb()


async def _bounded(count: int, limit: int, one: Callable[[int], Awaitable[None]]) -> float:
    """Run ``one(i)`` for ``i`` in ``range(count)``, at most ``limit`` at once; return seconds."""
    slots = asyncio.Semaphore(limit)

    async def guarded(i: int) -> None:
        async with slots:
            await one(i)

    started = time.perf_counter()
    await asyncio.gather(*(guarded(i) for i in range(count)))
    return time.perf_counter() - started


def _topic(i: int) -> str:
    return f"Benchmark topic number {i}: lessons from shipping"


async def test_flow_throughput(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = load_settings(
        home=tmp_path / "home",
        generation_rate_limit=1_000_000,
        default_monthly_generations=None,
        worker_concurrency=64,  # the worker must hold all 50 generations at once
    )
    generator = SlowGenerator(DELAY)
    async with Ghostart.from_settings(settings, generator=generator) as app:
        team = await make_team(app)
        member = team.employee

        # Baseline, same process and loop: the bare generator, driven exactly like the flow.
        bare = SlowGenerator(DELAY)
        requests = [ContentRequest.parse({"topic": _topic(i)}) for i in range(REQUESTS)]

        async def generate(i: int) -> None:
            await bare.generate(team.voice, requests[i])

        baseline_seconds = await _bounded(REQUESTS, IN_FLIGHT, generate)
        assert bare.count == REQUESTS

        # The flow: request, then wait for the draft; at most IN_FLIGHT requests at once.
        rss_before, peak_before = _memory()
        finished: list[Post] = []
        request_seconds: list[float] = []
        wait_seconds: list[float] = []

        async def flow(i: int) -> None:
            t0 = time.perf_counter()
            post = await app.generation.request(member, {"topic": _topic(i)})
            t1 = time.perf_counter()
            done = await app.generation.wait(member, post, timeout=300)
            t2 = time.perf_counter()
            request_seconds.append(t1 - t0)
            wait_seconds.append(t2 - t1)
            finished.append(done)

        cpu_started = time.process_time()
        flow_seconds = await _bounded(REQUESTS, IN_FLIGHT, flow)
        cpu_seconds = time.process_time() - cpu_started
        rss_after, peak_after = _memory()

    assert len({p.id for p in finished}) == REQUESTS
    statuses = {p.status for p in finished}
    assert statuses == {PostStatus.DRAFT}, statuses
    assert not any(p.from_cache for p in finished)
    assert generator.count == REQUESTS

    throughput = REQUESTS / flow_seconds
    baseline = REQUESTS / baseline_seconds

    def ms(values: list[float], q: float) -> str:
        ordered = sorted(values)
        return f"{1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]:.1f}"

    def mb(kb: int | None) -> str:
        return "n/a" if kb is None else f"{kb / 1024:.1f}"

    growth = None if rss_before is None or rss_after is None else rss_after - rss_before
    lines = [
        "",
        f"flow throughput benchmark ({REQUESTS} distinct requests, {IN_FLIGHT} in flight, "
        f"generator {DELAY * 1000:.0f} ms, embedded adapters)",
        f"  flow:            {flow_seconds:8.2f} s  {throughput:7.1f} req/s",
        f"  bare generator:  {baseline_seconds:8.2f} s  {baseline:7.1f} req/s",
        f"  ideal:           {REQUESTS / IDEAL:8.2f} s  {IDEAL:7.1f} req/s "
        f"({IN_FLIGHT} in flight / {DELAY} s)",
        f"  ratio to ideal:            {throughput / IDEAL:.3f}  (goal >= 0.9)",
        f"  ratio to bare generator:   {throughput / baseline:.3f}",
        f"  generator calls: {generator.count}",
        f"  process CPU:     {cpu_seconds:8.2f} s  {1000 * cpu_seconds / REQUESTS:.2f} ms/request "
        f"(CPU alone caps the flow at {REQUESTS / max(cpu_seconds, 1e-9):.0f} req/s)",
        f"  request() latency ms p50/p90/p99: {ms(request_seconds, 0.5)} / "
        f"{ms(request_seconds, 0.9)} / {ms(request_seconds, 0.99)}",
        f"  wait() latency ms    p50/p90/p99: {ms(wait_seconds, 0.5)} / "
        f"{ms(wait_seconds, 0.9)} / {ms(wait_seconds, 0.99)}",
        f"  RSS MB (VmRSS): start {mb(rss_before)}, end {mb(rss_after)}, growth {mb(growth)}",
        f"  peak RSS MB (ru_maxrss): start {mb(peak_before)}, end {mb(peak_after)}, "
        f"growth {mb(peak_after - peak_before)}",
    ]
    with capsys.disabled():
        print("\n".join(lines))
