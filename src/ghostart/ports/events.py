"""The event outbox: domain events kept in the transaction of the change they report.

A change and its event commit together or not at all. After the commit the process hands the
event to the plugins and marks it dispatched; one still undispatched when ``available_at``
passes (the process died first, or a handler failed) is claimed by a worker and dispatched
again. Plugins therefore see an event at least once, and deduplicate by ``event.id``.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from ghostart.models.events import DomainEvent

__all__ = ["DomainEventRepository", "PendingEvent"]


@dataclass(frozen=True)
class PendingEvent:
    """An event claimed for dispatch, and how many claims it has had (this one included)."""

    event: DomainEvent
    attempts: int


class DomainEventRepository(Protocol):
    """The ``domain_events`` table."""

    async def add(self, event: DomainEvent, *, available_at: datetime) -> None:
        """Keep ``event``, claimed once by its own process until ``available_at``.

        A worker may take it from then on if it is still undispatched.
        """
        ...

    async def claim_due(
        self, *, now: datetime, until: datetime, limit: int
    ) -> builtins.list[PendingEvent]:
        """Take up to ``limit`` undispatched events whose ``available_at`` has passed."""
        ...

    async def mark_dispatched(self, event_id: UUID, *, at: datetime, error: str | None) -> None:
        """Done with (``error`` says why it was given up on, if it was)."""
        ...

    async def retry_at(self, event_id: UUID, *, at: datetime, error: str) -> None:
        """A handler failed: dispatch again from ``at``."""
        ...

    async def purge_dispatched(self, *, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` events dispatched before ``before``; how many."""
        ...

    async def oldest_undispatched(self) -> datetime | None:
        """When the oldest event not yet dispatched happened (``None``: all are dispatched)."""
        ...

    async def get(self, event_id: UUID) -> tuple[DomainEvent, int, datetime | None] | None:
        """The event, its attempts and when it was dispatched (for tests and operators)."""
        ...
