"""What a repository needs of a connection.

SQLAlchemy's ``AsyncConnection`` has it, and so does :class:`LoopConnection`, a synchronous
connection used directly on the event loop.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, Protocol

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.engine.base import NestedTransaction

from ghostart.builtin.sql.prepared import PreparedStatements

__all__ = ["LoopConnection", "SQLConnection"]


class SQLConnection(Protocol):
    """What the repositories use: ``execute``, ``begin_nested`` and ``dialect``."""

    @property
    def dialect(self) -> Dialect: ...

    async def execute(self, statement: Any, parameters: Any = None) -> Any: ...

    def begin_nested(self) -> AbstractAsyncContextManager[Any]: ...


class _Savepoint:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._nested: NestedTransaction | None = None

    async def __aenter__(self) -> _Savepoint:
        self._nested = self._conn.begin_nested()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._nested is not None
        if exc_type is None:
            self._nested.commit()
        else:
            self._nested.rollback()


class LoopConnection:
    """A synchronous connection behind async methods, for SQLite on the event loop.

    An embedded SQLite statement takes microseconds; handing each one to a thread (as aiosqlite
    does) costs more than running it. Nothing here awaits, so a unit of work never interleaves.
    Statements marked :func:`~ghostart.builtin.sql.prepared.hot` run through ``prepared``.
    """

    def __init__(self, conn: Connection, prepared: PreparedStatements | None = None) -> None:
        self.sync_connection = conn
        self._prepared = prepared

    @property
    def dialect(self) -> Dialect:
        """The SQLAlchemy dialect."""
        return self.sync_connection.dialect

    async def execute(self, statement: Any, parameters: Any = None) -> Any:
        """Run a statement."""
        if self._prepared is not None:
            conn = self.sync_connection
            result = self._prepared.run(conn.connection.driver_connection, statement, parameters)
            if result is not None:
                return result
        return self.sync_connection.execute(statement, parameters)

    def begin_nested(self) -> _Savepoint:
        """A savepoint, as an async context manager."""
        return _Savepoint(self.sync_connection)
