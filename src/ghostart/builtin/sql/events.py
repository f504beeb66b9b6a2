"""The event outbox over SQLAlchemy Core (``domain_events``, migration 0012)."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from ghostart.builtin.sql import tables as t
from ghostart.builtin.sql.connection import SQLConnection
from ghostart.builtin.sql.prepared import hot
from ghostart.models.events import DomainEvent
from ghostart.ports.events import PendingEvent

__all__ = ["SQLDomainEvents"]

_c = t.domain_events.c
# Every event is inserted and marked once: both are prepared (see ``prepared.py``).
_INSERT = hot(t.domain_events.insert())
_MARK = hot(
    t.domain_events.update()
    .where(_c.id == sa.bindparam("b_id"), _c.dispatched_at.is_(None))
    .values(dispatched_at=sa.bindparam("b_at"), error=sa.bindparam("b_error"))
)


class SQLDomainEvents:
    """Events written with their change, claimed by compare-and-set, dispatched, purged."""

    _t = t.domain_events

    def __init__(self, conn: SQLConnection) -> None:
        self._conn = conn

    async def add(self, event: DomainEvent, *, available_at: datetime) -> None:
        values = {
            "id": event.id,
            "organization_id": event.organization_id,
            "name": event.name,
            "payload": event.model_dump(mode="json")["payload"],
            "occurred_at": event.occurred_at,
            "attempts": 1,  # its own process's claim, until available_at
            "available_at": available_at,
            "dispatched_at": None,
            "error": None,
        }
        await self._conn.execute(_INSERT, values)

    async def claim_due(
        self, *, now: datetime, until: datetime, limit: int
    ) -> builtins.list[PendingEvent]:
        c = self._t.c
        due = (c.dispatched_at.is_(None), c.available_at <= now)
        query = sa.select(self._t).where(*due).order_by(c.available_at, c.id).limit(limit)
        if self._conn.dialect.name == "postgresql":  # concurrent workers take other rows
            query = query.with_for_update(skip_locked=True)
        claimed = []
        for row in (await self._conn.execute(query)).mappings().all():
            # One by one: the rowcount says whether this claim, not another, took the row.
            result = await self._conn.execute(
                self._t.update()
                .where(c.id == row["id"], *due)
                .values(attempts=c.attempts + 1, available_at=until)
            )
            if result.rowcount == 1:
                claimed.append(PendingEvent(self._event(row), int(row["attempts"]) + 1))
        return claimed

    async def mark_dispatched(self, event_id: UUID, *, at: datetime, error: str | None) -> None:
        await self._conn.execute(_MARK, {"b_id": event_id, "b_at": at, "b_error": error})

    async def retry_at(self, event_id: UUID, *, at: datetime, error: str) -> None:
        c = self._t.c
        await self._conn.execute(
            self._t.update()
            .where(c.id == event_id, c.dispatched_at.is_(None))
            .values(available_at=at, error=error[:2000])
        )

    async def purge_dispatched(self, *, before: datetime, limit: int) -> int:
        c = self._t.c
        old = sa.select(c.id).where(c.dispatched_at < before).limit(limit)
        result = await self._conn.execute(self._t.delete().where(c.id.in_(old.scalar_subquery())))
        return int(result.rowcount)

    async def oldest_undispatched(self) -> datetime | None:
        c = self._t.c
        query = sa.select(sa.func.min(c.occurred_at)).where(c.dispatched_at.is_(None))
        oldest: datetime | None = (await self._conn.execute(query)).scalar()
        return oldest

    async def get(self, event_id: UUID) -> tuple[DomainEvent, int, datetime | None] | None:
        row = (
            (await self._conn.execute(sa.select(self._t).where(self._t.c.id == event_id)))
            .mappings()
            .first()
        )
        if row is None:
            return None
        return self._event(row), int(row["attempts"]), row["dispatched_at"]

    @staticmethod
    def _event(row: Any) -> DomainEvent:
        return DomainEvent(
            id=row["id"],
            name=row["name"],
            organization_id=row["organization_id"],
            payload=row["payload"],
            occurred_at=row["occurred_at"],
        )
