"""``RetryPolicy``: one retry behaviour for every provider, driven only by the error taxonomy.

- :class:`~ghostart.errors.RateLimited`: wait ``retry_after`` (capped), or back off if not given.
- :class:`~ghostart.errors.TransientError`: exponential backoff with jitter (half to all of it).
- :class:`~ghostart.errors.AuthExpired`: refresh credentials once, then retry.
- anything else: no retry.

Every retry and every final failure is reported to the Monitor.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from ghostart.errors import AuthExpired, RateLimited, TransientError
from ghostart.observability.metrics import span
from ghostart.ports import Monitor

__all__ = ["RetryPolicy"]

T = TypeVar("T")
log = logging.getLogger("ghostart.retry")


def is_retryable(exc: BaseException) -> bool:
    """Whether the taxonomy says ``exc`` is worth another try (ignoring auth refresh)."""
    return isinstance(exc, TransientError)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry calls to providers."""

    max_attempts: int = 4
    initial_backoff: float = 0.5
    max_backoff: float = 30.0
    #: The longest a provider's ``retry_after`` is obeyed in-process; longer waits belong to the job.
    max_rate_limit_wait: float = 60.0
    monitor: Monitor | None = None
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def backoff(self, attempt: int, exc: BaseException | None = None) -> float:
        """Seconds to wait before attempt ``attempt + 1``: ``retry_after`` or full-jitter backoff."""
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            return max(0.0, float(exc.retry_after))
        ceiling = min(self.max_backoff, self.initial_backoff * 2 ** max(0, attempt - 1))
        return self.rng.uniform(ceiling / 2, ceiling)

    def _timed(self, fn: Callable[[], Awaitable[T]], operation: str) -> Callable[[], Awaitable[T]]:
        monitor = self.monitor
        if monitor is None:
            return fn

        async def timed() -> T:
            started, outcome = time.perf_counter(), "error"
            try:
                with span(monitor, "provider.call", operation, operation=operation):
                    result = await fn()
                outcome = "ok"
                return result
            finally:
                elapsed = time.perf_counter() - started
                monitor.observe(
                    "ghostart.provider.seconds", elapsed, operation=operation, outcome=outcome
                )

        return timed

    async def call(
        self,
        fn: Callable[[], Awaitable[T]],
        *,
        operation: str,
        refresh_auth: Callable[[], Awaitable[None]] | None = None,
    ) -> T:
        """Run ``fn`` under the policy; the last error is re-raised unchanged.

        Each attempt is timed (``ghostart.provider.seconds``) and, with a monitor that records
        spans (Sentry), runs in a span of its own.
        """
        fn = self._timed(fn, operation)
        # The first attempt runs bare: nearly every call succeeds at once, and setting up
        # tenacity costs more than a call to a fast provider. A failure is then replayed as
        # tenacity's first attempt, so one set of rules below decides every retry.
        try:
            return await fn()
        except Exception as exc:
            first: list[BaseException] = [exc]

        async def attempt() -> T:
            if first:
                raise first.pop()
            return await fn()

        refreshed = False

        def should_retry(exc: BaseException) -> bool:
            if isinstance(exc, AuthExpired):
                return refresh_auth is not None and not refreshed
            if isinstance(exc, RateLimited) and (exc.retry_after or 0) > self.max_rate_limit_wait:
                return False
            return is_retryable(exc)

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            return 0.0 if isinstance(exc, AuthExpired) else self.backoff(state.attempt_number, exc)

        async def before_sleep(state: RetryCallState) -> None:
            nonlocal refreshed
            exc = state.outcome.exception() if state.outcome else None
            kind = type(exc).__name__
            log.warning("retrying %s after %s (attempt %d)", operation, kind, state.attempt_number)
            if self.monitor is not None:
                self.monitor.incr("ghostart.retry", operation=operation, error=kind)
            if isinstance(exc, AuthExpired) and refresh_auth is not None:
                refreshed = True
                await refresh_auth()

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts),
            retry=retry_if_exception(should_retry),
            wait=wait,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            async for state in retrying:
                with state:
                    result = await attempt()
            return result
        except Exception as exc:
            if self.monitor is not None:
                self.monitor.incr(
                    "ghostart.retry.gave_up", operation=operation, error=type(exc).__name__
                )
                self.monitor.capture_exception(exc, operation=operation)
            raise
