"""The LinkedIn repositories of the unit of work: members' connections and spent OAuth states.

Connections are reached by their key (organization, user, app); on PostgreSQL a member's unit
of work sees and deletes only their own rows (migration 0008), the system's sees all.
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Protocol
from uuid import UUID

from ghostart.models.linkedin import LinkedInApp, LinkedInConnection

__all__ = ["LinkedInConnectionRepository", "OAuthStateRepository"]


class LinkedInConnectionRepository(Protocol):
    """Rows of ``linkedin_connections``; tokens are ciphertext, never plaintext."""

    async def get(
        self, organization_id: UUID, user_id: UUID, app: LinkedInApp
    ) -> LinkedInConnection | None: ...

    async def list_for_user(
        self, organization_id: UUID, user_id: UUID
    ) -> builtins.list[LinkedInConnection]:
        """The user's connections in the organization (``member`` first)."""
        ...

    async def save(self, connection: LinkedInConnection, *, expected_version: int | None) -> bool:
        """Insert, replace or compare-and-set the row; whether it wrote.

        ``expected_version=None`` inserts (``version`` 0) or replaces (the stored version plus
        one); a version writes only over a row that still has it.
        """
        ...

    async def delete(self, organization_id: UUID, user_id: UUID, app: LinkedInApp) -> bool: ...

    async def expiring(
        self, before: datetime, *, limit: int = 500
    ) -> builtins.list[LinkedInConnection]:
        """Working connections whose access token expires before ``before``, soonest first."""
        ...

    async def batch(
        self, *, after: tuple[UUID, UUID, str] | None, limit: int
    ) -> builtins.list[LinkedInConnection]:
        """Every connection, ordered by key, after the key ``after``: for key rotation."""
        ...


class OAuthStateRepository(Protocol):
    """Spent OAuth ``state`` nonces: a sign-in link works once."""

    async def claim(
        self, nonce: str, *, expires_at: datetime, organization_id: UUID, user_id: UUID
    ) -> bool:
        """Record ``nonce`` (of ``user_id``'s link); whether it was new (atomic across processes)."""
        ...

    async def purge(self, *, before: datetime) -> int:
        """Forget nonces that expired before ``before`` (they are refused as expired anyway)."""
        ...
