"""Where members' LinkedIn connections live: two small ports the adapter needs from storage.

- :class:`ConnectionStore`: one row per (organization, user, app) with the *encrypted* tokens,
  their expiries, the member URN and the needs-reconnect flag; updates are compare-and-set on
  ``version`` so that two workers refreshing at once do not clobber each other.
- :class:`UsedStates`: the OAuth ``state`` nonces already spent, so a sign-in link works once.

The in-memory implementations serve the tests and code built outside an app; inside one, the
core's store backs both (:mod:`ghostart_linkedin.stored`, "Storage" in
docs/adapters/linkedin.md). The tokens in a
:class:`Connection` are ciphertext from the core :class:`~ghostart.secretbox.SecretBox`; only
:mod:`ghostart_linkedin.tokens` decrypts them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable
from uuid import UUID

from ghostart.models.events import DomainEvent
from ghostart.models.linkedin import LinkedInConnection
from ghostart.ports import Clock
from ghostart_linkedin.settings import AppKind

__all__ = [
    "Connection",
    "ConnectionKey",
    "ConnectionStore",
    "MemoryConnectionStore",
    "MemoryUsedStates",
    "UsedStates",
]


@dataclass(frozen=True, slots=True)
class ConnectionKey:
    """Whose connection: a user of an organization, through one of the two LinkedIn apps."""

    organization_id: UUID
    user_id: UUID
    app: AppKind = "member"

    def aad(self, field: str) -> str:
        """The associated data that binds a ciphertext to this row and field."""
        return (
            f"ghostart_linkedin.connections.{field}:"
            f"{self.organization_id}:{self.user_id}:{self.app}"
        )


class Connection(LinkedInConnection):
    """One member's connection as stored: the core's row, with its key.

    The tokens are SecretBox ciphertext, never plaintext; ``reminded_for`` is the access expiry
    the "expiring soon" reminder was sent for; ``version``, bumped by every save, is the
    compare-and-set token.
    """

    @property
    def key(self) -> ConnectionKey:
        """This connection's key."""
        return ConnectionKey(self.organization_id, self.user_id, self.app)


@runtime_checkable
class ConnectionStore(Protocol):
    """Stores connections.

    Guarantees: ``save`` with ``expected_version=None`` inserts or replaces (a new connection);
    with a version it replaces only if the stored row still has that version, and returns
    whether it did. A store on the app's database keeps the ``event`` given to ``save`` in the
    same transaction as the row (the event outbox; the caller dispatches it after), so a crash
    after the save can not lose it; a store without one ignores it. A saved row comes back
    with ``version`` one higher than the one it replaced (0 for a new row). ``expiring`` lists
    rows whose access token expires before ``before``.
    """

    async def get(self, key: ConnectionKey) -> Connection | None:
        """The connection, if any."""
        ...

    async def save(
        self,
        connection: Connection,
        *,
        expected_version: int | None,
        event: DomainEvent | None = None,
    ) -> bool:
        """Insert or compare-and-set the row (with ``event``, if this store keeps events)."""
        ...

    async def delete(self, key: ConnectionKey) -> bool:
        """Forget the connection (the member disconnected); whether there was one."""
        ...

    async def expiring(self, before: datetime, *, limit: int = 500) -> list[Connection]:
        """Working connections whose access token expires before ``before``, soonest first."""
        ...

    async def batch(self, *, after: ConnectionKey | None, limit: int) -> list[Connection]:
        """Every connection in key order, after ``after`` (for re-sealing under a new key)."""
        ...


@runtime_checkable
class UsedStates(Protocol):
    """Remembers spent OAuth ``state`` nonces.

    Guarantee: ``claim`` returns ``True`` once per nonce, atomically across processes, and
    ``False`` for every later claim until ``expires_at`` has passed (after which the state is
    refused as expired anyway, so the record may be dropped).
    """

    async def claim(
        self, nonce: str, *, expires_at: datetime, organization_id: UUID, user_id: UUID
    ) -> bool:
        """Spend ``nonce`` (of ``user_id``'s sign-in link); whether it was unspent."""
        ...


class MemoryConnectionStore:
    """A :class:`ConnectionStore` in this process's memory (tests, one process).

    ``rows`` holds what a database row would: tests read it to see that no token is stored in
    plaintext.
    """

    def __init__(self) -> None:
        self.rows: dict[ConnectionKey, Connection] = {}
        self._lock = asyncio.Lock()

    async def get(self, key: ConnectionKey) -> Connection | None:
        """The connection, if any."""
        return self.rows.get(key)

    async def save(
        self,
        connection: Connection,
        *,
        expected_version: int | None,
        event: DomainEvent | None = None,
    ) -> bool:
        """Insert or compare-and-set the row (no events kept: there is no outbox here)."""
        async with self._lock:
            current = self.rows.get(connection.key)
            if expected_version is None:
                version = 0 if current is None else current.version + 1
            elif current is None or current.version != expected_version:
                return False
            else:
                version = expected_version + 1
            self.rows[connection.key] = connection.model_copy(update={"version": version})
            return True

    async def delete(self, key: ConnectionKey) -> bool:
        """Forget the connection."""
        return self.rows.pop(key, None) is not None

    async def expiring(self, before: datetime, *, limit: int = 500) -> list[Connection]:
        """Working connections expiring before ``before``, soonest first."""
        rows = [
            c for c in self.rows.values() if not c.needs_reconnect and c.access_expires_at < before
        ]
        return sorted(rows, key=lambda c: c.access_expires_at)[:limit]

    async def batch(self, *, after: ConnectionKey | None, limit: int) -> list[Connection]:
        """Every connection in key order, after ``after``."""
        rows = sorted(self.rows.values(), key=lambda c: _order(c.key))
        if after is not None:
            rows = [c for c in rows if _order(c.key) > _order(after)]
        return rows[:limit]


def _order(key: ConnectionKey) -> tuple[str, str, str]:
    return (key.organization_id.hex, key.user_id.hex, key.app)


class MemoryUsedStates:
    """A :class:`UsedStates` in this process's memory; expired nonces are dropped as it goes."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock
        self._spent: dict[str, datetime] = {}
        self._claims = 0

    async def claim(
        self, nonce: str, *, expires_at: datetime, organization_id: UUID, user_id: UUID
    ) -> bool:
        """Spend ``nonce``; whether it was unspent."""
        self._claims += 1
        if self._claims % 256 == 0:  # memory stays bounded by the states of one TTL
            now = self._clock.now() if self._clock else datetime.now(UTC)
            self._spent = {n: until for n, until in self._spent.items() if until >= now}
        if nonce in self._spent:
            return False
        self._spent[nonce] = expires_at
        return True
