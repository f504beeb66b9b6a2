"""``SQLStore`` (any SQLAlchemy async URL) and ``SQLiteStore`` (the embedded default).

PostgreSQL (ghostart-postgres) builds on ``SQLStore`` and sets per-transaction state in
:meth:`SQLStore.on_begin`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, InvalidRequestError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from ghostart.builtin.sql.connection import LoopConnection
from ghostart.builtin.sql.migrate import upgrade
from ghostart.builtin.sql.prepared import PreparedStatements
from ghostart.builtin.sql.repositories import SQLUnitOfWork
from ghostart.builtin.sqlite_wal import Checkpointer
from ghostart.errors import ConfigurationError, TransientError
from ghostart.models import Principal

__all__ = ["SQLStore", "SQLiteStore"]


def _bad_url(url: Any, exc: Exception) -> ConfigurationError:
    shown = url.render_as_string(hide_password=True)
    return ConfigurationError(
        f"GHOSTART_DATABASE_URL={shown}: {exc}. Use e.g. sqlite:///ghostart.db "
        "or postgresql+psycopg://user@host/db"
    )


class SQLStore:
    """A store on any SQLAlchemy async URL; one connection per unit of work."""

    def __init__(
        self, url: str, *, engine: AsyncEngine | None = None, **engine_options: Any
    ) -> None:
        self.url = make_url(url)
        try:
            self.engine = engine or create_async_engine(self.url, **engine_options)
        except (ArgumentError, InvalidRequestError, ImportError) as exc:
            raise _bad_url(self.url, exc) from None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url.render_as_string(hide_password=True)!r})"

    @contextlib.asynccontextmanager
    async def unit_of_work(
        self, actor: Principal | None = None, *, readonly: bool = False
    ) -> AsyncIterator[SQLUnitOfWork]:
        """One transaction; committed when the block ends cleanly, rolled back on error."""
        async with self.engine.begin() as conn:
            await self.on_begin(conn, actor)
            yield SQLUnitOfWork(conn)

    async def on_begin(self, conn: AsyncConnection, actor: Principal | None) -> None:
        """Hook run at the start of every transaction (no-op here)."""

    async def migrate(self) -> None:
        """Run the Alembic migrations up to the newest revision."""
        async with self.engine.begin() as conn:
            await conn.run_sync(upgrade)

    async def aclose(self) -> None:
        """Dispose of the connection pool."""
        await self.engine.dispose()


class SQLiteStore:
    """The embedded store: one SQLite file, statements run on the event loop.

    Writers are serialised within the process by an asyncio lock and across processes by
    ``BEGIN IMMEDIATE``; a busy database is waited for asynchronously (never blocking the loop
    for long). Read-only units of work take no lock. WAL lets readers and one writer overlap.
    """

    #: How long a writer waits for another process to release the database.
    busy_wait_seconds = 15.0
    #: Reader connections kept open for the next read-only unit of work.
    idle_readers = 8

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        if parsed.get_backend_name() != "sqlite":
            raise ConfigurationError(f"SQLiteStore needs a sqlite URL, got {parsed.drivername}")
        self.url = parsed.set(drivername="sqlite+pysqlite")
        database = self.url.database
        self._checkpointer: Checkpointer | None = None
        if database and database != ":memory:":
            self._checkpointer = Checkpointer(Path(database).expanduser())
            try:
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigurationError(
                    f"GHOSTART_DATABASE_URL: can not create the folder for {database!r}: {exc}"
                ) from None
        try:
            # No reset-on-return rollback: every connection comes back committed or rolled back.
            self.engine: Engine = create_engine(self.url, pool_reset_on_return=None)
            # Readers are pooled here (self._readers), not by SQLAlchemy: its pool would block
            # the event loop once more units of work than its size were open at once.
            self._read_engine: Engine = create_engine(self.url, poolclass=NullPool)
        except (ArgumentError, InvalidRequestError) as exc:
            raise _bad_url(self.url, exc) from None
        _configure_sqlite(self.engine, readonly=False)
        # Readers get their own pool of query_only connections: a write in a read-only unit of
        # work fails loudly instead of racing the writer (set once per connection: it is cheap
        # there, but a pragma per transaction costs more than the transaction).
        _configure_sqlite(self._read_engine, readonly=True)
        self._write_lock = asyncio.Lock()
        self._writer: Connection | None = None
        self._readers: list[Connection] = []
        self._prepared = PreparedStatements(self.engine.dialect)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url.database!r})"

    @contextlib.asynccontextmanager
    async def unit_of_work(
        self, actor: Principal | None = None, *, readonly: bool = False
    ) -> AsyncIterator[SQLUnitOfWork]:
        """One transaction; committed when the block ends cleanly, rolled back on error."""
        if readonly:
            # Reader connections are kept open between units of work (a WAL reader outside a
            # transaction holds nothing), which saves a pool checkout and return each time.
            conn = self._readers.pop() if self._readers else self._connect(self._read_engine)
            try:
                with conn.begin():
                    yield SQLUnitOfWork(LoopConnection(conn, self._prepared))
            except BaseException:
                conn.close()
                raise
            if len(self._readers) < self.idle_readers:
                self._readers.append(conn)
            else:
                conn.close()
            return
        async with self._write_lock:
            conn = await self._begin_immediate()
            try:
                yield SQLUnitOfWork(LoopConnection(conn, self._prepared))
            except BaseException:
                self._end(conn.rollback)
                raise
            else:
                self._end(conn.commit)
                if self._checkpointer is not None:
                    self._checkpointer.committed()

    def _end(self, finish: Callable[[], None]) -> None:
        """Commit or roll back; a writer that failed to do so is replaced, never reused."""
        try:
            finish()
        except BaseException:
            if self._writer is not None:
                self._writer.invalidate()
                self._writer = None
            raise

    async def _begin_immediate(self) -> Connection:
        """Begin on the writer connection (one per process: writers take turns anyway)."""
        deadline = time.monotonic() + self.busy_wait_seconds
        delay = 0.002
        while True:
            if self._writer is None or self._writer.invalidated or self._writer.closed:
                self._writer = self._connect()
            try:
                self._writer.begin()
                return self._writer
            except OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    self._writer.close()
                    self._writer = None
                    raise
                if time.monotonic() > deadline:
                    raise TransientError(
                        "the SQLite database stayed locked by another process"
                    ) from exc
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)

    def _connect(self, engine: Engine | None = None) -> Connection:
        try:
            return (engine or self.engine).connect()
        except OperationalError as exc:
            if "unable to open" not in str(exc):
                raise
            raise ConfigurationError(
                f"GHOSTART_DATABASE_URL: can not open the SQLite file {self.url.database!r} "
                "(is it a folder, or not writable?)"
            ) from None

    async def migrate(self) -> None:
        """Run the Alembic migrations up to the newest revision."""
        async with self._write_lock:
            with self._connect() as conn, conn.begin():
                upgrade(conn)

    async def aclose(self) -> None:
        """Close the writer and every pooled connection."""
        if self._checkpointer is not None:
            self._checkpointer.close()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        while self._readers:
            self._readers.pop().close()
        self.engine.dispose()
        self._read_engine.dispose()


def _configure_sqlite(engine: Engine, *, readonly: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, issue BEGIN (so BEGIN IMMEDIATE and savepoints work).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Short: a locked database is waited for asynchronously in _begin_immediate.
        cursor.execute("PRAGMA busy_timeout=50")
        cursor.execute(f"PRAGMA query_only={int(readonly)}")
        cursor.close()

    begin = "BEGIN" if readonly else "BEGIN IMMEDIATE"

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # On the driver itself: a BEGIN needs none of SQLAlchemy's statement handling.
        conn.connection.driver_connection.execute(begin)
