"""RetryPolicy reads only the error taxonomy, and reports every retry and final failure."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable

import pytest

from ghostart.builtin.monitor_logging import LoggingMonitor
from ghostart.errors import AuthExpired, InvalidInput, PermanentError, RateLimited, TransientError
from ghostart.retry import RetryPolicy


def _policy(monitor: LoggingMonitor | None = None, **kw: float) -> RetryPolicy:
    return RetryPolicy(
        initial_backoff=0.001, max_backoff=0.002, monitor=monitor, rng=random.Random(1), **kw
    )  # type: ignore[arg-type]


def _failing(*errors: Exception) -> tuple[Callable[[], Awaitable[str]], list[int]]:
    calls: list[int] = []
    pending = list(errors)

    async def fn() -> str:
        calls.append(1)
        if pending:
            raise pending.pop(0)
        return "ok"

    return fn, calls


async def test_transient_errors_are_retried_and_reported() -> None:
    monitor = LoggingMonitor()
    fn, calls = _failing(TransientError("503"), RateLimited("429", retry_after=0.001))
    assert await _policy(monitor).call(fn, operation="op") == "ok"
    assert len(calls) == 3
    assert monitor.counters["ghostart.retry,error=TransientError,operation=op"] == 1
    assert monitor.counters["ghostart.retry,error=RateLimited,operation=op"] == 1


@pytest.mark.parametrize("error", [PermanentError("400"), InvalidInput("bad"), ValueError("bug")])
async def test_non_retryable_errors_surface_at_once(error: Exception) -> None:
    monitor = LoggingMonitor()
    fn, calls = _failing(error, error)
    with pytest.raises(type(error)):
        await _policy(monitor).call(fn, operation="op")
    assert len(calls) == 1
    assert (
        monitor.counters[f"ghostart.retry.gave_up,error={type(error).__name__},operation=op"] == 1
    )


async def test_gives_up_after_max_attempts_with_the_last_error() -> None:
    fn, calls = _failing(*(TransientError(f"t{i}") for i in range(10)))
    with pytest.raises(TransientError, match="t3"):
        await _policy(max_attempts=4).call(fn, operation="op")
    assert len(calls) == 4


async def test_auth_expired_refreshes_once_then_retries() -> None:
    refreshed: list[int] = []

    async def refresh() -> None:
        refreshed.append(1)

    fn, calls = _failing(AuthExpired("401"))
    assert await _policy().call(fn, operation="op", refresh_auth=refresh) == "ok"
    assert (len(calls), len(refreshed)) == (2, 1)

    fn, calls = _failing(AuthExpired("401"), AuthExpired("401 again"))
    with pytest.raises(AuthExpired, match="again"):
        await _policy().call(fn, operation="op", refresh_auth=refresh)
    assert (len(calls), len(refreshed)) == (2, 2)

    fn, calls = _failing(AuthExpired("401"))
    with pytest.raises(AuthExpired):
        await _policy().call(fn, operation="op")  # nothing to refresh with: no retry
    assert len(calls) == 1


async def test_long_rate_limits_are_left_to_the_job() -> None:
    fn, calls = _failing(RateLimited("daily cap", retry_after=3600))
    with pytest.raises(RateLimited):
        await _policy().call(fn, operation="op")
    assert len(calls) == 1


def test_backoff_grows_with_jitter_and_obeys_retry_after() -> None:
    policy = RetryPolicy(initial_backoff=1, max_backoff=8, rng=random.Random(7))
    delays = [policy.backoff(n) for n in range(1, 7)]
    assert all(0.5 <= d <= 1 for d in delays[:1]) and all(4 <= d <= 8 for d in delays[4:])
    assert policy.backoff(1, RateLimited("x", retry_after=42)) == 42
