"""The SQLite store passes the Store contract, and its migrations match its tables."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ghostart.builtin.sql import SQLStore
from ghostart.builtin.sql.tables import metadata
from ghostart.testing.contracts.store import StoreContract


class TestSQLiteStore(StoreContract):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[SQLStore]:
        store = SQLStore(f"sqlite+aiosqlite:///{tmp_path / 'contract.db'}")
        await store.migrate()
        yield store
        await store.aclose()


async def test_migrations_create_exactly_the_tables_in_code(tmp_path: Path) -> None:
    store = SQLStore(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    await store.migrate()
    async with store.engine.connect() as conn:
        diff = await conn.run_sync(
            lambda c: compare_metadata(MigrationContext.configure(c), metadata)
        )
    await store.aclose()
    assert diff == []
