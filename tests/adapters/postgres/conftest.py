"""Fixtures for the PostgreSQL adapter: stores, Supabase-shaped databases, seeded tenants."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from ghostart.testing import services
from tests.adapters.postgres.world import SUPABASE_AUTH, World, seed
from tests.postgres import create_database, database_url, drop_database, server_sql

T = TypeVar("T")

try:
    import ghostart_postgres  # noqa: F401
except ImportError:  # pragma: no cover - CI installs every adapter
    if services.required():
        raise
    # Not installed here: collect nothing below (the contract test skips with the reason).
    collect_ignore_glob = ["test_*.py"]


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to the end on a loop of its own (for fixtures wider than one test)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def supabase_database() -> str:
    """A new database shaped like a fresh Supabase project (not migrated); its name."""
    name = create_database("template0")
    server_sql(SUPABASE_AUTH, database=name)
    return name


async def _migrate_and_seed(url: str, *, migrate: bool) -> World:
    from ghostart_postgres import PostgresStore

    store = PostgresStore(url)
    try:
        if migrate:
            await store.migrate()
        return await seed(store)
    finally:
        await store.aclose()


@pytest.fixture(scope="module", params=["postgres", "supabase"])
def seeded(request: pytest.FixtureRequest, postgres_template: str) -> Iterator[tuple[str, World]]:
    """(url, world): tenants A and B in a migrated database, plain or Supabase-shaped.

    Shared by a module's tests, which must leave it as they found it (roll back).
    """
    supabase = request.param == "supabase"
    name = supabase_database() if supabase else create_database(postgres_template)
    try:
        url = database_url(name)
        yield url, run_async(_migrate_and_seed(url, migrate=supabase))
    finally:
        drop_database(name)


@pytest.fixture
async def seeded_store(seeded: tuple[str, World]) -> AsyncIterator[Any]:
    """A store on the seeded database, for this test's event loop."""
    from ghostart_postgres import PostgresStore

    store = PostgresStore(seeded[0])
    yield store
    await store.aclose()


@pytest.fixture
def supabase_url(postgres_admin: str) -> Iterator[str]:
    """A fresh database with Supabase's auth schema, roles and default privileges, not migrated."""
    name = supabase_database()
    try:
        yield database_url(name)
    finally:
        drop_database(name)


@pytest.fixture
async def store(postgres_url: str) -> AsyncIterator[Any]:
    """A PostgreSQL store on a fresh, migrated database of this test's."""
    from ghostart_postgres import PostgresStore

    store = PostgresStore(postgres_url)
    yield store
    await store.aclose()


@pytest.fixture
async def world(store: Any) -> World:
    """Tenants A and B (see ``world.py``) written into ``store``."""
    return await seed(store)
