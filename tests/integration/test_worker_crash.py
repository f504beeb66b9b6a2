"""Nothing accepted is lost: a worker killed mid-job, or a process killed after enqueueing.

These tests run real processes against one SQLite file, as a user would run them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ghostart.builtin.sql import tables as t

pytestmark = pytest.mark.slow


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GHOSTART_")}
    env.update(
        GHOSTART_HOME=str(home),
        GHOSTART_JOB_LEASE_SECONDS="1.5",
        GHOSTART_RECONCILE_INTERVAL_SECONDS="0.2",
        GHOSTART_SHUTDOWN_GRACE_SECONDS="0.5",
    )
    env.update(extra)
    return env


def _rows(home: Path, table: sa.Table) -> list[dict[str, Any]]:
    engine = sa.create_engine(f"sqlite:///{home / 'ghostart.db'}")
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(table)).mappings()]
    except sa.exc.OperationalError:  # not created yet
        return []
    finally:
        engine.dispose()


def _wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _ghostart(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ghostart", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _worker_until(home: Path, table: sa.Table, statuses: list[str], **env: str) -> None:
    """Run `ghostart worker` until ``table``'s statuses are ``statuses``, then SIGTERM it."""
    worker = _ghostart("worker", env=_env(home, **env))
    try:
        _wait_for(lambda: [r["status"] for r in _rows(home, table)] == statuses, 30, str(statuses))
    finally:
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=15)
    assert worker.returncode == 0, err


def _finish_with_new_worker(home: Path) -> None:
    _worker_until(home, t.posts, ["draft"])


def test_worker_killed_during_generation_loses_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    # A generator that takes 60 s: the process is killed while the job is running.
    first = _ghostart(
        "generate",
        "--topic",
        "What a killed worker teaches",
        "--json",
        env=_env(home, GHOSTART_GENERATOR="offline?latency=60"),
    )
    try:
        # The post is "generating" once the claimed job has marked its generation running.
        _wait_for(
            lambda: [p["status"] for p in _rows(home, t.posts)] == ["generating"],
            30,
            "the generation to start",
        )
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    assert first.returncode == -signal.SIGKILL
    assert [j["status"] for j in _rows(home, t.jobs)] == ["running"]
    [generation] = _rows(home, t.generations)
    assert generation["status"] == "running"

    _finish_with_new_worker(home)

    [job] = _rows(home, t.jobs)
    assert job["status"] == "done" and job["attempts"] == 2
    [post] = _rows(home, t.posts)
    assert post["body"] and post["status"] == "draft"
    [generation] = _rows(home, t.generations)
    assert generation["status"] == "succeeded"


def test_process_killed_after_enqueue_before_any_worker_loses_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    script = textwrap.dedent(
        """
        import asyncio, sys
        from ghostart.app import Ghostart
        from ghostart.local import local_principal

        async def main():
            app = Ghostart.from_settings()
            await app.start(worker=False)  # enqueue only: the in-process queue dies with us
            principal, _ = await local_principal(app)
            post = await app.generation.request(principal, {"topic": "Queued, then killed"})
            print(post.id, flush=True)
            await asyncio.sleep(600)

        asyncio.run(main())
        """
    )
    first = subprocess.Popen(
        [sys.executable, "-c", script],
        env=_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert first.stdout is not None
        post_id = first.stdout.readline().strip()
        assert post_id, first.stderr.read() if first.stderr else ""
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    [job] = _rows(home, t.jobs)
    assert job["status"] == "queued" and job["attempts"] == 0

    _finish_with_new_worker(home)

    [post] = _rows(home, t.posts)
    assert str(post["id"]) == post_id and post["body"]
    [job] = _rows(home, t.jobs)
    assert job["status"] == "done" and job["attempts"] == 1


def test_sigterm_releases_a_running_job_for_the_next_worker(tmp_path: Path) -> None:
    home = tmp_path / "home"
    request = _ghostart(
        "generate", "--topic", "Graceful shutdowns", "--no-wait", "--json", env=_env(home)
    )
    out, err = request.communicate(timeout=60)
    assert request.returncode == 0, err
    assert json.loads(out)["status"] == "requested"

    # A slow worker is stopped (SIGTERM) while the job runs: the job goes back, unleased.
    _worker_until(home, t.jobs, ["running"], GHOSTART_GENERATOR="offline?latency=60")
    [job] = _rows(home, t.jobs)
    assert job["status"] == "queued" and job["lease_owner"] is None, "released, not left leased"

    _finish_with_new_worker(home)
