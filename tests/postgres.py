"""PostgreSQL for the tests: a database of its own per test, dropped afterwards.

The server is ``GHOSTART_TEST_POSTGRES_URL`` (default: the local one, as user ``postgres``).
Without it, or without ghostart-postgres installed, the tests skip with the reason, and fail
under ``GHOSTART_REQUIRE_SERVICES=1`` (:mod:`ghostart.testing.services`). Every database is
named ``ghostart_test_<random>``, so parallel runs on one server never meet. A test run migrates
one template database once and clones it for each test that wants a migrated store.

The fixtures are imported by ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from ghostart.testing import services

__all__ = [
    "create_database",
    "database_url",
    "drop_database",
    "empty_postgres_url",
    "postgres_admin",
    "postgres_template",
    "postgres_url",
    "server_sql",
]


def database_url(name: str) -> str:
    """The URL of database ``name`` on the test server."""
    url = make_url(services.postgres_url()).set(drivername="postgresql+psycopg", database=name)
    return url.render_as_string(hide_password=False)


def _conninfo(database: str | None = None) -> str:
    url = make_url(services.postgres_url()).set(drivername="postgresql")
    if database is not None:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


def server_sql(sql: str, *, database: str | None = None) -> list[tuple[Any, ...]]:
    """Run one statement in autocommit (CREATE/DROP DATABASE need it); the rows it returned."""
    import psycopg

    with psycopg.connect(_conninfo(database), autocommit=True, connect_timeout=5) as conn:
        cursor = conn.execute(sql.encode())
        return cursor.fetchall() if cursor.description else []


def create_database(template: str, *, suffix: str = "") -> str:
    """A new database ``ghostart_test_<random><suffix>`` copied from ``template``; its name."""
    name = f"ghostart_test_{uuid4().hex[:16]}{suffix}"
    server_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return name


def drop_database(name: str) -> None:
    """Drop database ``name``, closing whatever is still connected to it."""
    server_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_admin() -> str:
    """The test server's URL, once it is known to answer (skip or fail otherwise)."""
    try:
        import psycopg

        import ghostart_postgres  # noqa: F401
    except ImportError as exc:
        services.unavailable("PostgreSQL", f"ghostart-postgres is not installed ({exc})")
    try:
        server_sql("SELECT 1")
    except psycopg.Error as exc:
        services.unavailable("PostgreSQL", str(exc).strip() or type(exc).__name__)
    return services.postgres_url()


@pytest.fixture(scope="session")
def postgres_template(postgres_admin: str) -> Iterator[str]:
    """A database migrated to the newest revision, cloned by :func:`postgres_url`."""
    from ghostart.builtin.sql.migrate import upgrade

    name = create_database("template0", suffix="_template")
    engine = sa.create_engine(database_url(name), poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            upgrade(conn)
        engine.dispose()  # a template can not be cloned while anyone is connected to it
        yield name
    finally:
        engine.dispose()
        drop_database(name)


@pytest.fixture
def postgres_url(postgres_template: str) -> Iterator[str]:
    """A fresh, migrated, empty database of this test's own."""
    name = create_database(postgres_template)
    try:
        yield database_url(name)
    finally:
        drop_database(name)


@pytest.fixture
def empty_postgres_url(postgres_admin: str) -> Iterator[str]:
    """A fresh database with nothing in it (not migrated)."""
    name = create_database("template0")
    try:
        yield database_url(name)
    finally:
        drop_database(name)
