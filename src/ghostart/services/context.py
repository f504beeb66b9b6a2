"""What services share: the ports, the clock, the retry policy and the event emitter."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from ghostart.models import DomainEvent, Job, JobKind, Post
from ghostart.ports import (
    Billing,
    Cache,
    Clock,
    Generator,
    Monitor,
    Publisher,
    Queue,
    RateLimiter,
    Store,
)
from ghostart.retry import RetryPolicy
from ghostart.settings import Settings

__all__ = ["Notifier", "ServiceContext", "month_start"]


class Wakeup(asyncio.Event):
    """An event that may carry the posts as the change left them (saving the waiter a read)."""

    def __init__(self) -> None:
        super().__init__()
        self.posts: dict[UUID, Post] = {}
        self.waiters = 0


class Notifier:
    """In-process wake-ups for waiters on a subject (a generation, a post).

    Only a latency optimisation: waiters also poll the store, so a worker in another process
    is still seen. An event lives while someone waits on it, so subjects finished elsewhere
    leave nothing behind.
    """

    def __init__(self) -> None:
        self._events: dict[UUID, Wakeup] = {}

    @contextlib.contextmanager
    def waiting(self, subject: UUID) -> Iterator[Wakeup]:
        """The event that fires when ``subject`` changes, for the duration of a wait."""
        event = self._events.get(subject)
        if event is None:
            event = self._events[subject] = Wakeup()
        event.waiters += 1
        try:
            yield event
        finally:
            event.waiters -= 1
            if event.waiters == 0 and self._events.get(subject) is event:
                del self._events[subject]

    def notify(self, subject: UUID, posts: list[Post] | None = None) -> None:
        """Wake every waiter of ``subject``, handing them ``posts`` as committed."""
        event = self._events.pop(subject, None)
        if event is not None:
            event.posts = {post.id: post for post in posts or []}
            event.set()

    def __len__(self) -> int:
        return len(self._events)


@dataclass
class ServiceContext:
    """Everything a service needs, built once by the composition root."""

    settings: Settings
    store: Store
    cache: Cache
    queue: Queue
    generator: Generator
    publisher: Publisher
    billing: Billing
    rate_limiter: RateLimiter
    monitor: Monitor
    clock: Clock
    retry: RetryPolicy
    emit: Callable[[DomainEvent], Awaitable[None]]
    notifier: Notifier = field(default_factory=Notifier)

    def new_job(
        self,
        kind: JobKind,
        *,
        organization_id: UUID,
        subject_id: UUID,
        idempotency_key: str,
        run_at: datetime | None = None,
    ) -> Job:
        """An outbox row, marked enqueued now (the caller enqueues it right after commit)."""
        now = self.clock.now()
        return Job(
            kind=kind,
            organization_id=organization_id,
            subject_id=subject_id,
            idempotency_key=idempotency_key,
            max_attempts=self.settings.job_max_attempts,
            run_at=run_at or now,
            enqueued_at=now,
            created_at=now,
            updated_at=now,
        )


def month_start(now: datetime) -> datetime:
    """The start of ``now``'s calendar month (UTC): the quota period."""
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
