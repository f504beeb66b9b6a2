"""``ghostart worker --metrics-port``: a worker process serves its own Prometheus metrics."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx

from tests.service.live import BIN, clean_env, free_port


def test_a_worker_serves_its_metrics(tmp_path: Path) -> None:
    port = free_port()
    worker = subprocess.Popen(
        [str(BIN / "ghostart"), "worker", "--metrics-port", str(port)],
        cwd=tmp_path,
        env=clean_env(GHOSTART_HOME=str(tmp_path / "home")),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        body = ""
        for _ in range(300):  # up to a minute for the process to start
            try:
                body = httpx.get(f"http://127.0.0.1:{port}/metrics").text
                break
            except httpx.TransportError:
                assert worker.poll() is None, worker.stdout.read().decode() if worker.stdout else ""
                time.sleep(0.2)
        for series in ("ghostart_jobs_total", "ghostart_job_duration_seconds", "process_cpu"):
            assert f"# TYPE {series}" in body or series in body, series
    finally:
        worker.terminate()
        worker.wait(timeout=30)
