"""``ghostart doctor``: a stopped Redis or an unreachable database fails, clearly, exit 1.

Every configured adapter is a row of the table; a failing one says what to look at.

"Stopped" and "unreachable" are a URL to a port nobody listens on (connection refused), as a
stopped server looks to its clients.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ghostart.cli import main
from ghostart.secretbox import SecretBox
from ghostart.testing.services import redis_url


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _doctor(tmp_path: Path, **env: str) -> Result:
    environment = {"GHOSTART_HOME": str(tmp_path / "home"), **env}
    return CliRunner().invoke(main, ["doctor", "--timeout", "5"], env=environment)


def _row(result: Result, check: str) -> str:
    [line] = [line for line in result.stdout.splitlines() if line.split()[:1] == [check]]
    return line


def test_the_embedded_defaults_pass(tmp_path: Path) -> None:
    result = _doctor(tmp_path)
    assert result.exit_code == 0, result.output
    header = result.stdout.splitlines()[0].split()
    assert header == ["CHECK", "STATUS", "ADAPTER", "DETAIL"]
    for check in ("store", "cache", "queue", "lock", "rate_limiter", "generator", "monitor"):
        assert " OK " in _row(result, check), result.stdout
    assert "all checks passed" in result.stdout


def test_a_stopped_redis_fails_with_a_clear_message(tmp_path: Path) -> None:
    stopped = f"redis://127.0.0.1:{_closed_port()}/0"
    result = _doctor(tmp_path, GHOSTART_CACHE_URL=stopped, GHOSTART_RATE_LIMIT_URL=stopped)
    assert result.exit_code == 1, result.output
    cache = _row(result, "cache")
    assert "FAILING" in cache and "is the cache server (Redis) running" in cache, cache
    assert "FAILING" in _row(result, "rate_limiter")
    assert " OK " in _row(result, "store")  # only what is broken fails
    assert "2 failing: cache, rate_limiter" in result.stderr


def test_an_unreachable_database_fails_with_a_clear_message(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://postgres:not-this-one@127.0.0.1:{_closed_port()}/ghostart"
    result = _doctor(
        tmp_path,
        GHOSTART_DATABASE_URL=url,
        GHOSTART_SECRET_KEYS=f"k1:{SecretBox.generate_key()}",
    )
    assert result.exit_code == 1, result.output
    store = _row(result, "store")
    assert "FAILING" in store and "is the database running and reachable" in store, store
    assert "not-this-one" not in result.output  # the password is shown as ***
    assert "1 failing: store" in result.stderr


def test_bad_settings_exit_2_naming_the_setting(tmp_path: Path) -> None:
    result = _doctor(tmp_path, GHOSTART_CACHE_URL="nosuch://x")
    assert result.exit_code == 2
    assert "GHOSTART_CACHE_URL" in result.stderr


@pytest.mark.postgres
@pytest.mark.redis
def test_live_postgres_and_redis_pass(tmp_path: Path, postgres_url: str) -> None:
    redis = redis_url()
    result = _doctor(
        tmp_path,
        GHOSTART_DATABASE_URL=postgres_url,
        GHOSTART_SECRET_KEYS=f"k1:{SecretBox.generate_key()}",
        GHOSTART_CACHE_URL=redis,
        GHOSTART_QUEUE_URL=redis,
        GHOSTART_LOCK_URL=redis,
        GHOSTART_RATE_LIMIT_URL=redis,
    )
    assert result.exit_code == 0, result.output
    assert "FAILING" not in result.stdout
