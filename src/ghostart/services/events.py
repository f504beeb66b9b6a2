"""Domain events through the outbox: recorded with their change, dispatched at least once.

A service records an event in the unit of work of the change it reports
(:meth:`ServiceContext.record`) and dispatches it right after the commit
(:meth:`ServiceContext.dispatch`): the event reaches the plugins as fast as before. If the
process dies between the commit and the dispatch, or a plugin's handler fails, the row is still
undispatched when its ``available_at`` passes, and :class:`EventRedelivery` (run by every
worker) claims and dispatches it again, with a growing delay after failures, until
``MAX_ATTEMPTS``. Handlers therefore see an event at least once and deduplicate by ``event.id``
(the email outbox keys its rows by it).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ghostart.models.events import DomainEvent
from ghostart.ports.store import UnitOfWork

if TYPE_CHECKING:
    from ghostart.services.context import ServiceContext

__all__ = [
    "CLAIM",
    "KEEP_DISPATCHED",
    "MAX_ATTEMPTS",
    "EventRedelivery",
    "add_event",
    "dispatch_events",
    "record_event",
]

log = logging.getLogger("ghostart.events")

#: How long a claim lasts: an event its process has not dispatched by then is taken by a worker.
CLAIM = timedelta(seconds=60)
#: Claims of one event before it is given up on (its handlers kept failing).
MAX_ATTEMPTS = 8
#: How long dispatched events stay in the table (for operators) before the workers purge them.
KEEP_DISPATCHED = timedelta(days=7)


async def add_event(uow: UnitOfWork, event: DomainEvent, *, now: datetime) -> DomainEvent:
    """Keep ``event`` in ``uow``'s transaction; returns it as handlers will see it (JSON payload).

    The row is born claimed by this process for ``CLAIM``: its dispatch right after the commit
    needs no claim of its own, and a worker takes the event only once that claim runs out.
    Adapters that write through the core's store use this too (ghostart-linkedin), and hand
    the event to ``BuildContext.dispatch`` after their commit.
    """
    stored = DomainEvent.model_validate(event.model_dump(mode="json"))
    await uow.events.add(stored, available_at=now + CLAIM)
    return stored


async def record_event(ctx: ServiceContext, uow: UnitOfWork, event: DomainEvent) -> DomainEvent:
    """:func:`add_event` at the context's clock."""
    return await add_event(uow, event, now=ctx.clock.now())


async def dispatch_events(ctx: ServiceContext, events: list[DomainEvent]) -> None:
    """Hand committed events to the plugins now (never raises: a worker retries what fails)."""
    for event in events:
        await _deliver(ctx, event, attempts=1)


async def _deliver(ctx: ServiceContext, event: DomainEvent, *, attempts: int) -> None:
    failed = await ctx.deliver(event)
    now = ctx.clock.now()
    try:
        async with ctx.store.unit_of_work() as uow:
            if not failed:
                await uow.events.mark_dispatched(event.id, at=now, error=None)
            elif attempts >= MAX_ATTEMPTS:
                error = f"given up after {attempts} attempts; failed: {', '.join(failed)}"
                await uow.events.mark_dispatched(event.id, at=now, error=error)
                log.error("event %s (%s): %s", event.id, event.name, error)
                ctx.monitor.incr("ghostart.events.given_up", name=event.name)
            else:
                delay = min(CLAIM * 2 ** (attempts - 1), timedelta(hours=1))
                error = f"failed: {', '.join(failed)}"
                await uow.events.retry_at(event.id, at=now + delay, error=error)
                ctx.monitor.incr("ghostart.events.retried", name=event.name)
    except Exception as exc:  # the claim runs out and the event is dispatched again
        ctx.monitor.capture_exception(exc, operation="events.mark", event=event.name)


class EventRedelivery:
    """Dispatches the events that their own process did not (a worker's periodic task)."""

    def __init__(self, ctx: ServiceContext, *, batch: int = 100) -> None:
        self.ctx = ctx
        self.batch = batch

    async def run_once(self) -> int:
        """Claim and dispatch due events, purge old dispatched ones; how many were dispatched."""
        now = self.ctx.clock.now()
        async with self.ctx.store.unit_of_work() as uow:
            pending = await uow.events.claim_due(now=now, until=now + CLAIM, limit=self.batch)
            await uow.events.purge_dispatched(before=now - KEEP_DISPATCHED, limit=1000)
        for item in pending:
            event = item.event
            log.info("dispatching event %s (%s), attempt %d", event.id, event.name, item.attempts)
            self.ctx.monitor.incr("ghostart.events.redelivered", name=item.event.name)
            await _deliver(self.ctx, item.event, attempts=item.attempts)
        return len(pending)
