"""The README's walk-through, run as written against the example service in a real process."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.service.live import clean_env, running_service

README = Path(__file__).resolve().parents[2] / "README.md"


def _walkthrough() -> str:
    text = README.read_text(encoding="utf-8")
    found = re.search(r"^```bash\n(export TOKEN=.*?)^```$", text, re.MULTILINE | re.DOTALL)
    assert found, "README.md lost its walk-through block"
    return found.group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the walk-through uses curl")
def test_the_readme_walkthrough_works_as_written(tmp_path: Path) -> None:
    env = clean_env()
    with running_service(tmp_path, env) as url:
        script = _walkthrough().replace("http://127.0.0.1:8000", url)
        run = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert lines[-3:] == ["approved", "scheduled", "published"], run.stdout
    assert "design docs" in run.stdout.lower()  # the draft was printed
