"""``SQLStore``: the Store port on SQLAlchemy 2 async (SQLite here; PostgreSQL in ghostart-postgres)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from ghostart.builtin.sql.migrate import upgrade
from ghostart.builtin.sql.repositories import SQLUnitOfWork
from ghostart.errors import ConfigurationError
from ghostart.models import Principal

__all__ = ["SQLStore"]


class SQLStore:
    """A store on any SQLAlchemy async URL.

    On SQLite, writers are serialised: within the process by an asyncio lock (so tasks queue instead
    of failing with "database is locked"), across processes by ``BEGIN IMMEDIATE`` and a busy timeout.
    Subclasses set per-transaction state (PostgreSQL's role and JWT claims) in :meth:`on_begin`.
    """

    def __init__(
        self, url: str, *, engine: AsyncEngine | None = None, **engine_options: Any
    ) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite and self.url.database and self.url.database != ":memory:":
            Path(self.url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        try:
            self.engine = engine or create_async_engine(self.url, **engine_options)
        except (ArgumentError, InvalidRequestError, ImportError) as exc:
            shown = self.url.render_as_string(hide_password=True)
            raise ConfigurationError(
                f"GHOSTART_DATABASE_URL={shown}: {exc}. Use an async driver, "
                "e.g. sqlite+aiosqlite:///ghostart.db or postgresql+psycopg://..."
            ) from None
        self._write_lock: asyncio.Lock | None = None
        if self.is_sqlite:
            self._write_lock = asyncio.Lock()
            _configure_sqlite(self.engine)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url.render_as_string(hide_password=True)!r})"

    @contextlib.asynccontextmanager
    async def unit_of_work(self, actor: Principal | None = None) -> AsyncIterator[SQLUnitOfWork]:
        """One transaction; committed when the block ends cleanly, rolled back on error."""
        async with self._serialised(), self.engine.begin() as conn:
            await self.on_begin(conn, actor)
            yield SQLUnitOfWork(conn)

    @contextlib.asynccontextmanager
    async def _serialised(self) -> AsyncIterator[None]:
        if self._write_lock is None:
            yield
            return
        async with self._write_lock:
            yield

    async def on_begin(self, conn: AsyncConnection, actor: Principal | None) -> None:
        """Hook run at the start of every transaction (no-op here)."""

    async def migrate(self) -> None:
        """Run the Alembic migrations up to the newest revision."""
        async with self.engine.begin() as conn:
            await conn.run_sync(upgrade)

    async def aclose(self) -> None:
        """Dispose of the connection pool."""
        await self.engine.dispose()


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, issue BEGIN (so BEGIN IMMEDIATE and savepoints work).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
