"""The PostgreSQL store passes the Store contract, on a real server, in a database of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from ghostart.testing.contracts.store import StoreContract


class TestPostgresStore(StoreContract):
    @pytest.fixture
    async def store(self, postgres_url: str) -> AsyncIterator[Any]:
        from ghostart_postgres import PostgresStore

        store = PostgresStore(postgres_url)
        yield store
        await store.aclose()
