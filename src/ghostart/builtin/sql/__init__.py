"""The SQL store: SQLite embedded, and the base the Postgres adapter builds on."""

from ghostart.builtin.sql.store import SQLiteStore, SQLStore

__all__ = ["SQLStore", "SQLiteStore"]
