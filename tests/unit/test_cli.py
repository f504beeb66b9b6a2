"""The ``ghostart`` command, as a newcomer runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ghostart.cli import main


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GHOSTART_HOME", str(tmp_path / "home"))
    runner = CliRunner()

    def invoke(*args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        return runner.invoke(main, list(args), env=env, catch_exceptions=False)

    return invoke


def test_generate_twice_second_from_cache(run) -> None:  # type: ignore[no-untyped-def]
    first = run("generate", "--topic", "What our interns taught us", "--length", "short")
    assert first.exit_code == 0, first.stderr
    assert "created local organization" in first.stderr
    assert "source: generated" in first.stderr and "not by AI" in first.stderr
    assert "draft" in first.stderr  # progress lines
    second = run("generate", "--topic", "what our interns taught us", "--length", "short")
    assert second.exit_code == 0
    assert "source: cache" in second.stderr and "created local organization" not in second.stderr
    assert second.stdout == first.stdout and "interns" in first.stdout


def test_generate_json_and_no_wait(run) -> None:  # type: ignore[no-untyped-def]
    result = run("generate", "--topic", "Queued for later", "--no-wait", "--json")
    assert result.exit_code == 0
    post = json.loads(result.stdout)
    assert post["status"] == "requested" and post["body"] is None


@pytest.mark.parametrize(
    ("args", "env", "code", "message"),
    [
        (["generate", "--topic", ""], None, 1, "error (invalid_input): topic"),
        (["generate", "--topic", "x" * 10_000], None, 1, "at most 500 characters"),
        (
            ["generate", "--topic", "ok topic"],
            {"GHOSTART_QUEUE_URL": "sqs://q"},
            2,
            "GHOSTART_QUEUE_URL=sqs://q",
        ),
        (
            ["generate", "--topic", "ok topic"],
            {"GHOSTART_WORKER_CONCURRENCY": "0"},
            2,
            "GHOSTART_WORKER_CONCURRENCY",
        ),
    ],
)
def test_errors_are_messages_not_tracebacks(run, args, env, code, message) -> None:  # type: ignore[no-untyped-def]
    result = run(*args, env=env)
    assert result.exit_code == code
    assert message in result.stderr and "Traceback" not in result.stderr


def test_plugins_lists_adapters_and_selection(run) -> None:  # type: ignore[no-untyped-def]
    result = run("plugins", env={"GHOSTART_CACHE_URL": "memory://"})
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert "  ghostart.builtin.plugin (builtin)" in lines
    assert any(line.startswith(" * cache         memory") for line in lines)
    assert any(line.startswith("   cache         sqlite") for line in lines)


def test_migrate(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run("migrate")
    assert result.exit_code == 0 and "up to date" in result.stdout
    assert (tmp_path / "home" / "ghostart.db").exists()


def test_secrets_new_key_and_rotate(run) -> None:  # type: ignore[no-untyped-def]
    key = run("secrets", "new-key", "--id", "k2").stdout.strip()
    assert key.startswith("k2:") and len(key) > 40
    result = run("secrets", "rotate", env={"GHOSTART_SECRET_KEYS": key})
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["scanned"] == 0 and report["finished"] is True
