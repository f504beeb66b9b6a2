"""The adapter's storage ports on the core's store: ``linkedin_connections`` and ``oauth_states``.

What the plugin uses inside an app (the in-memory ones in :mod:`.connections` serve tests and
code built outside an app). Every call is one unit of work of the system (``actor=None``: on
PostgreSQL ``service_role``); the core's services check who is asking before they get here, and
a member's own reads and disconnects run under row-level security (migration 0008).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from ghostart.models.events import DomainEvent
from ghostart.models.linkedin import LinkedInConnection
from ghostart.ports import Clock, Store
from ghostart.services.events import add_event
from ghostart_linkedin.connections import Connection, ConnectionKey

__all__ = ["StoreConnectionStore", "StoreUsedStates"]


def _to_core(connection: Connection) -> LinkedInConnection:
    return LinkedInConnection.model_validate(connection.model_dump())  # the plain core model


def _from_core(row: LinkedInConnection) -> Connection:
    return Connection.model_validate(row.model_dump())


class StoreConnectionStore:
    """A :class:`~ghostart_linkedin.connections.ConnectionStore` on the core's store.

    A connection's event is kept in the transaction of its save (the core's event outbox).
    """

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def get(self, key: ConnectionKey) -> Connection | None:
        """The connection, if any."""
        async with self.store.unit_of_work(readonly=True) as uow:
            row = await uow.linkedin_connections.get(key.organization_id, key.user_id, key.app)
        return _from_core(row) if row else None

    async def save(
        self,
        connection: Connection,
        *,
        expected_version: int | None,
        event: DomainEvent | None = None,
    ) -> bool:
        """Insert or compare-and-set the row, and keep ``event`` with it if it was saved."""
        async with self.store.unit_of_work() as uow:
            saved = await uow.linkedin_connections.save(
                _to_core(connection), expected_version=expected_version
            )
            if saved and event is not None:
                await add_event(uow, event, now=self.clock.now())
            return saved

    async def delete(self, key: ConnectionKey) -> bool:
        """Forget the connection."""
        async with self.store.unit_of_work() as uow:
            return await uow.linkedin_connections.delete(key.organization_id, key.user_id, key.app)

    async def expiring(self, before: datetime, *, limit: int = 500) -> list[Connection]:
        """Working connections expiring before ``before``, soonest first."""
        async with self.store.unit_of_work(readonly=True) as uow:
            rows = await uow.linkedin_connections.expiring(before, limit=limit)
        return [_from_core(row) for row in rows]

    async def batch(self, *, after: ConnectionKey | None, limit: int) -> list[Connection]:
        """Every connection in key order, after ``after``."""
        start = None if after is None else (after.organization_id, after.user_id, after.app)
        async with self.store.unit_of_work(readonly=True) as uow:
            rows = await uow.linkedin_connections.batch(after=start, limit=limit)
        return [_from_core(row) for row in rows]


class StoreUsedStates:
    """A :class:`~ghostart_linkedin.connections.UsedStates` on the core's ``oauth_states``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def claim(
        self, nonce: str, *, expires_at: datetime, organization_id: UUID, user_id: UUID
    ) -> bool:
        """Spend ``nonce``; whether it was unspent."""
        async with self.store.unit_of_work() as uow:
            return await uow.oauth_states.claim(
                nonce, expires_at=expires_at, organization_id=organization_id, user_id=user_id
            )

    async def purge(self, *, before: datetime) -> int:
        """Forget nonces that expired before ``before``."""
        async with self.store.unit_of_work() as uow:
            return await uow.oauth_states.purge(before=before)
