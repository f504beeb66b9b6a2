"""Billing state and provider webhook events over SQLAlchemy Core (``uow.billing``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as postgresql_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from ghostart.builtin.sql import tables as t
from ghostart.builtin.sql.connection import SQLConnection
from ghostart.ports.billing import StoredBillingState, WebhookEventRow

__all__ = ["SQLBilling"]

_STATES = t.billing_states
_EVENTS = t.billing_webhook_events
# INSERT ... ON CONFLICT DO NOTHING: a duplicate writes nothing and raises nothing, so it never
# fails the unit of work; the rowcount says whether the row was new.
_NEW_EVENT = {
    name: module.insert(_EVENTS)
    .on_conflict_do_nothing(index_elements=["id"])
    .execution_options(preserve_rowcount=True)
    for name, module in (("sqlite", sqlite_dialect), ("postgresql", postgresql_dialect))
}
_NEW_STATE = {
    name: module.insert(_STATES)
    .on_conflict_do_nothing(index_elements=["organization_id"])
    .execution_options(preserve_rowcount=True)
    for name, module in (("sqlite", sqlite_dialect), ("postgresql", postgresql_dialect))
}


def _state(row: Mapping[str, Any]) -> StoredBillingState:
    return StoredBillingState(**dict(row))


def _event(row: Mapping[str, Any]) -> WebhookEventRow:
    return WebhookEventRow(**dict(row))


class SQLBilling:
    """``billing_states`` and ``billing_webhook_events``."""

    def __init__(self, conn: SQLConnection) -> None:
        self._conn = conn

    def _insert(self, statements: dict[str, Any], table: sa.Table) -> Any:
        statement = statements.get(self._conn.dialect.name)
        return table.insert() if statement is None else statement

    async def get_state(
        self, organization_id: UUID, *, for_update: bool = False
    ) -> StoredBillingState | None:
        query = sa.select(_STATES).where(_STATES.c.organization_id == organization_id)
        if for_update and self._conn.dialect.name != "sqlite":  # SQLite writers take turns
            query = query.with_for_update()
        row = (await self._conn.execute(query)).mappings().first()
        return _state(row) if row else None

    async def organization_for_customer(self, customer_id: str) -> UUID | None:
        query = sa.select(_STATES.c.organization_id).where(_STATES.c.customer_id == customer_id)
        found: UUID | None = (await self._conn.execute(query)).scalar()
        return found

    async def lapsed_grace(self, *, now: datetime, limit: int) -> list[StoredBillingState]:
        c = _STATES.c
        query = (
            sa.select(_STATES)
            .where(
                c.grace_until.is_not(None),
                c.grace_until <= now,
                c.updated_at < c.grace_until,
            )
            .order_by(c.grace_until)
            .limit(limit)
        )
        if self._conn.dialect.name != "sqlite":  # SQLite writers take turns
            query = query.with_for_update(skip_locked=True)
        rows = (await self._conn.execute(query)).mappings().all()
        return [_state(row) for row in rows]

    async def save_state(self, row: StoredBillingState, *, expected_version: int | None) -> bool:
        values = {
            "organization_id": row.organization_id,
            "state": row.state,
            "version": row.version,
            "customer_id": row.customer_id,
            "plan": row.plan,
            "status": row.status,
            "subscription_id": row.subscription_id,
            "grace_until": row.grace_until,
            "updated_at": row.updated_at,
        }
        if expected_version is None:
            result = await self._conn.execute(self._insert(_NEW_STATE, _STATES), values)
        else:
            c = _STATES.c
            result = await self._conn.execute(
                _STATES.update()
                .where(c.organization_id == row.organization_id, c.version == expected_version)
                .values(**{k: v for k, v in values.items() if k != "organization_id"})
            )
        return bool(result.rowcount == 1)

    async def record_webhook_event(self, row: WebhookEventRow) -> bool:
        values = {
            "id": row.id,
            "type": row.type,
            "livemode": row.livemode,
            "created": row.created,
            "payload": row.payload,
            "status": row.status,
            "organization_id": row.organization_id,
            "received_at": row.received_at,
            "processed_at": row.processed_at,
            "attempts": row.attempts,
            "last_error": row.last_error,
        }
        result = await self._conn.execute(self._insert(_NEW_EVENT, _EVENTS), values)
        return bool(result.rowcount == 1)

    async def get_webhook_event(self, event_id: str) -> WebhookEventRow | None:
        query = sa.select(_EVENTS).where(_EVENTS.c.id == event_id)
        row = (await self._conn.execute(query)).mappings().first()
        return _event(row) if row else None

    async def mark_webhook_event(
        self,
        event_id: str,
        *,
        status: str,
        now: datetime,
        organization_id: UUID | None = None,
        error: str | None = None,
    ) -> None:
        c = _EVENTS.c
        values: dict[str, Any] = {
            "status": status,
            "attempts": c.attempts + 1,
            "last_error": error[:2000] if error else None,
        }
        if status != "failed":
            values["processed_at"] = now
        if organization_id is not None:
            values["organization_id"] = organization_id
        await self._conn.execute(_EVENTS.update().where(c.id == event_id).values(**values))
