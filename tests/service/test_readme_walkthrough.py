"""The README's walk-through, run as written against the example service in a real process."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
BIN = Path(sys.executable).parent


def _walkthrough() -> str:
    text = README.read_text(encoding="utf-8")
    found = re.search(r"^```bash\n(export TOKEN=.*?)^```$", text, re.MULTILINE | re.DOTALL)
    assert found, "README.md lost its walk-through block"
    return found.group(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(shutil.which("curl") is None, reason="the walk-through uses curl")
def test_the_readme_walkthrough_works_as_written(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GHOSTART_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    service = subprocess.Popen(
        [str(BIN / "ghostart-service"), "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert service.poll() is None, service.stdout.read().decode()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the service did not start"
            time.sleep(0.2)
        script = _walkthrough().replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        run = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        service.terminate()
        service.wait(timeout=30)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert lines[-3:] == ["approved", "scheduled", "published"], run.stdout
    assert "design docs" in run.stdout.lower()  # the draft was printed
