"""Test doubles that ship with ghostart, for our tests and for plugin authors'."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from ghostart.builtin.generator_offline import OfflineGenerator
from ghostart.hookspecs import hookimpl
from ghostart.models import BrandVoice, ContentRequest, DomainEvent, Draft

__all__ = ["CountingGenerator", "EventRecorder", "ManualClock", "ManualTimer"]


class CountingGenerator:
    """Wraps a generator (offline by default), counts calls, and can be slow or fail on cue.

    ``failures`` is consumed one per call: an exception instance is raised, ``None`` lets the call
    through. ``gate``, when set, makes every call wait for it (to hold generations in flight).
    """

    def __init__(
        self,
        inner: Any = None,
        *,
        delay: float = 0.0,
        failures: Iterable[BaseException | None] = (),
        gate: asyncio.Event | None = None,
    ) -> None:
        self.inner = inner or OfflineGenerator()
        self.model = self.inner.model
        self.delay = delay
        self.failures = list(failures)
        self.gate = gate
        self.calls: list[tuple[BrandVoice, ContentRequest]] = []
        self.started = asyncio.Event()

    async def generate(self, voice: BrandVoice, request: ContentRequest) -> Draft:
        """Count, wait, maybe fail, then delegate."""
        self.calls.append((voice, request))
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.failures:
            failure = self.failures.pop(0)
            if failure is not None:
                raise failure
        draft: Draft = await self.inner.generate(voice, request)
        return draft

    @property
    def count(self) -> int:
        """Calls so far."""
        return len(self.calls)


class ManualClock:
    """A clock that moves only when told."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 15, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        """The current (fake) time."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move forward."""
        self._now += timedelta(seconds=seconds)

    def set(self, when: datetime) -> None:
        """Jump to ``when``."""
        self._now = when


class ManualTimer:
    """A ``() -> float`` time source (like ``time.monotonic``) that moves only when told."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move forward."""
        self.now += seconds


class EventRecorder:
    """A plugin that keeps every domain event it is sent; register it with the plugin manager."""

    def __init__(self) -> None:
        self.events: list[DomainEvent] = []

    @hookimpl
    def ghostart_handle_event(self, event: DomainEvent, app: Any) -> None:
        """Keep the event."""
        self.events.append(event)

    def names(self) -> list[str]:
        """The names of the events, in order."""
        return [e.name for e in self.events]
