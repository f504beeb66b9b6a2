"""What services share: the ports, the clock, the retry policy and the event emitter."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from ghostart.models import DomainEvent, Job, JobKind, Post
from ghostart.ports import (
    Billing,
    Broadcast,
    Cache,
    Clock,
    Generator,
    Monitor,
    Publisher,
    Queue,
    RateLimiter,
    Store,
)
from ghostart.ports.store import UnitOfWork
from ghostart.retry import RetryPolicy
from ghostart.services.events import dispatch_events, record_event
from ghostart.settings import Settings

__all__ = ["Notifier", "ServiceContext", "Wakeup", "month_start"]

log = logging.getLogger("ghostart.notifier")
_jobs_log = logging.getLogger("ghostart.jobs")

#: The relay's first wait before listening again after a failure; doubles up to the maximum.
_RELISTEN_DELAY = 0.1
_RELISTEN_MAX_DELAY = 5.0


class Wakeup(asyncio.Event):
    """An event that may carry the posts as the change left them (saving the waiter a read)."""

    def __init__(self) -> None:
        super().__init__()
        self.posts: dict[UUID, Post] = {}
        self.waiters = 0


class Notifier:
    """Wakes waiters on a subject (a generation, a post) when it changes, in every process.

    :meth:`notify` wakes this process's waiters at once and, once :meth:`start` ran with a
    :class:`~ghostart.ports.Broadcast`, hands the subject to a background relay that publishes
    it; the relay also listens, and wakes this process's waiters for every subject it hears.
    Only a latency optimisation: waiters read the store on a bounded poll anyway, so a lost
    signal costs latency, never a result. An event lives while someone waits on it, so subjects
    finished elsewhere leave nothing behind.

    Args:
        broadcast: How signals reach other processes; ``None``: this process only.
        monitor: Where relay failures and dropped signals are reported.
        backlog: Signals waiting to be published; beyond it the oldest is dropped.
    """

    def __init__(
        self,
        broadcast: Broadcast | None = None,
        *,
        monitor: Monitor | None = None,
        backlog: int = 10_000,
    ) -> None:
        self.broadcast = broadcast
        self.backlog = backlog
        self._monitor = monitor
        self._events: dict[UUID, Wakeup] = {}
        self._outbox: asyncio.Queue[UUID] | None = None
        self._tasks: list[asyncio.Task[None]] = []

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
        """Wake every waiter of ``subject``, here with ``posts`` as committed, and elsewhere.

        Call it after the change is committed: a woken waiter in another process reads the
        store. Publishing happens in the background, so a slow broadcast never holds a job.
        """
        self.wake(subject, posts)
        outbox = self._outbox
        if outbox is None:
            return
        if outbox.full():  # a broadcast that can not keep up: the oldest signal costs latency
            outbox.get_nowait()
            outbox.task_done()
            self._incr("ghostart.broadcast.dropped")
        outbox.put_nowait(subject)

    def wake(self, subject: UUID, posts: list[Post] | None = None) -> bool:
        """Wake this process's waiters of ``subject``; whether there were any."""
        event = self._events.pop(subject, None)
        if event is None:
            return False
        event.posts = {post.id: post for post in posts or []}
        event.set()
        return True

    @property
    def relaying(self) -> bool:
        """Whether signals go to and come from other processes (after :meth:`start`)."""
        return any(not task.done() for task in self._tasks)

    def start(self) -> None:
        """Start the relay: publish what :meth:`notify` hands over, wake waiters on what is heard.

        Call it from the running event loop; without a broadcast it does nothing.
        """
        if self.broadcast is None or self._tasks:
            return
        self._outbox = asyncio.Queue(self.backlog)
        self._tasks = [
            asyncio.create_task(
                self._publish(self.broadcast, self._outbox), name="ghostart-signals-out"
            ),
            asyncio.create_task(self._listen(self.broadcast), name="ghostart-signals-in"),
        ]

    async def aclose(self, *, flush_timeout: float = 1.0) -> None:
        """Publish the signals still queued (for up to ``flush_timeout`` s), then stop the relay."""
        outbox, self._outbox = self._outbox, None
        tasks, self._tasks = self._tasks, []
        if outbox is not None and tasks and not tasks[0].done():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(flush_timeout):
                    await outbox.join()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _publish(self, broadcast: Broadcast, outbox: asyncio.Queue[UUID]) -> None:
        while True:
            subject = await outbox.get()
            try:
                await broadcast.publish(subject)
            except Exception as exc:  # the port never raises; a plugin's bug must not stop us
                self._report(exc, "broadcast.publish")
            finally:
                outbox.task_done()

    async def _listen(self, broadcast: Broadcast) -> None:
        delay = _RELISTEN_DELAY
        while True:
            try:
                async for subject in broadcast.listen():
                    delay = _RELISTEN_DELAY
                    if self.wake(subject):
                        self._incr("ghostart.broadcast.wakeups")
            except Exception as exc:  # the port resubscribes by itself; this is the safety net
                self._report(exc, "broadcast.listen")
                log.warning(
                    "completion signals: listening failed (%s); again in %.1f s", exc, delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RELISTEN_MAX_DELAY)
                continue
            log.debug("completion signals: the broadcast was closed")
            return

    def _incr(self, metric: str) -> None:
        if self._monitor is not None:
            self._monitor.incr(metric)

    def _report(self, exc: Exception, operation: str) -> None:
        if self._monitor is not None:
            self._monitor.incr("ghostart.broadcast.errors", op=operation.rpartition(".")[2])
            self._monitor.capture_exception(exc, operation=operation)

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
    #: Hands an event to every plugin; the names of those whose handler failed.
    deliver: Callable[[DomainEvent], Awaitable[list[str]]]
    notifier: Notifier = field(default_factory=Notifier)

    async def enqueue(self, *jobs: Job, delay: float = 0.0) -> None:
        """Queue committed jobs; one the queue refuses waits for the reconciler, not the rest.

        The job's row is the truth (the outbox): a lost enqueue costs latency, never the job.
        """
        for job in jobs:
            try:
                await self.queue.enqueue(job.id, delay=delay)
            except Exception as exc:
                _jobs_log.warning(
                    "enqueue of job %s failed (%s); the reconciler will retry", job.id, exc
                )
                self.monitor.capture_exception(exc, job_id=str(job.id))

    async def record(self, uow: UnitOfWork, event: DomainEvent) -> DomainEvent:
        """Keep ``event`` in the transaction of its change; :meth:`dispatch` it after commit."""
        return await record_event(self, uow, event)

    async def dispatch(self, *events: DomainEvent) -> None:
        """Hand recorded, committed events to the plugins (a worker retries what fails)."""
        await dispatch_events(self, list(events))

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
