"""ghostart-postgres: the Store on PostgreSQL or Supabase, with row-level security.

``GHOSTART_DATABASE_URL=postgresql://user:password@host:5432/db``, then ``ghostart migrate``.
See ``docs/adapters/postgres.md``.
"""

from __future__ import annotations

from ghostart_postgres.settings import PostgresSettings, connection_options
from ghostart_postgres.store import AUTHENTICATED, SERVICE_ROLE, PostgresStore, claims_for

__all__ = [
    "AUTHENTICATED",
    "SERVICE_ROLE",
    "PostgresSettings",
    "PostgresStore",
    "claims_for",
    "connection_options",
]
