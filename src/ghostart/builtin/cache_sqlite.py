"""Local cache in a SQLite file, so that it survives a restart of the process."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from ghostart.builtin.sqlite_wal import Checkpointer
from ghostart.errors import ConfigurationError, TransientError

__all__ = ["SQLiteCache"]

# Short: statements run on the event loop, and a cache that is busy is better skipped.
_BUSY_TIMEOUT_MS = 100
# Count and evict after this many sets rather than on every one.
_PRUNE_EVERY = 100
# A read refreshes ``touched_at`` only when it is older than this, so most reads write nothing.
_TOUCH_AFTER = 60.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cache_entries (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    expires_at REAL,
    touched_at REAL
);
CREATE INDEX IF NOT EXISTS cache_entries_touched_at ON cache_entries (touched_at);
"""

_UPSERT = """
INSERT INTO cache_entries (key, value, expires_at, touched_at) VALUES (?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE SET
    value = excluded.value, expires_at = excluded.expires_at, touched_at = excluded.touched_at
"""

_EVICT_OLDEST = """
DELETE FROM cache_entries WHERE key IN (
    SELECT key FROM cache_entries ORDER BY touched_at ASC LIMIT ?
)
"""


class SQLiteCache:
    """A :class:`~ghostart.ports.cache.Cache` in one SQLite file (WAL mode).

    The file and its parent directory are created on first use. One connection serves every
    task of the process; other processes may open the same file at the same time. Expired
    entries are dropped when read and, with the least recently touched ones beyond
    ``max_entries``, every ``100`` sets. Call :meth:`aclose` (or use ``async with``) when done.
    Statements run on the event loop: each takes microseconds, less than a hop to a thread.

    Args:
        path: The database file, or ``":memory:"``.
        default_ttl: Seconds an entry lives when ``set`` is given no ``ttl``; ``None`` for ever.
        max_entries: How many entries to keep, roughly (at least 1).
        clock: Wall-clock seconds (expiry must hold across restarts); injectable for tests.
    """

    def __init__(
        self,
        path: str | Path,
        default_ttl: float | None = 7 * 24 * 3600,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_entries < 1:
            raise ConfigurationError("max_entries must be at least 1", setting="max_entries")
        if default_ttl is not None and default_ttl <= 0:
            raise ConfigurationError("default_ttl must be positive or None", setting="default_ttl")
        self._path = path
        self._default_ttl = default_ttl
        self._max_entries = max_entries
        self._clock = clock
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        self._sets_since_prune = 0
        in_memory = str(path) == ":memory:"
        self._checkpointer = None if in_memory else Checkpointer(path)

    async def open(self) -> None:
        """Connect and create the table now rather than on first use."""
        self._connect()

    async def aclose(self) -> None:
        """Close the connection; the cache can not be used afterwards."""
        self._closed = True
        if self._checkpointer is not None:
            self._checkpointer.close()
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()

    async def __aenter__(self) -> SQLiteCache:
        """Open the cache."""
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the cache."""
        await self.aclose()

    async def get(self, key: str) -> bytes | None:
        """The value, or ``None`` when absent or expired."""
        with self._session() as conn:
            now = self._clock()
            row = conn.execute(
                "SELECT value, expires_at, touched_at FROM cache_entries WHERE key = ?", (key,)
            ).fetchone()
            if row is None:
                return None
            value, expires_at, touched_at = row
            if expires_at is not None and expires_at <= now:
                # Conditional, so that a fresh value another process just wrote survives.
                conn.execute(
                    "DELETE FROM cache_entries WHERE key = ? AND expires_at <= ?", (key, now)
                )
                return None
            if touched_at is None or now - touched_at > _TOUCH_AFTER:
                conn.execute("UPDATE cache_entries SET touched_at = ? WHERE key = ?", (now, key))
            return bytes(value)

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        """Store ``value``; ``ttl`` in seconds, ``None`` for the default, ``<= 0`` to forget."""
        ttl = self._default_ttl if ttl is None else ttl
        with self._session() as conn:
            if ttl is not None and ttl <= 0:
                conn.execute("DELETE FROM cache_entries WHERE key = ?", (key,))
                return
            now = self._clock()
            expires_at = None if ttl is None else now + ttl
            conn.execute(_UPSERT, (key, bytes(value), expires_at, now))
            if self._checkpointer is not None:
                self._checkpointer.committed()
            self._sets_since_prune += 1
            if self._sets_since_prune >= _PRUNE_EVERY:
                self._sets_since_prune = 0
                self._prune(conn, now)

    async def delete(self, key: str) -> None:
        """Forget ``key``; a missing key is not an error."""
        with self._session() as conn:
            conn.execute("DELETE FROM cache_entries WHERE key = ?", (key,))

    def _prune(self, conn: sqlite3.Connection, now: float) -> None:
        conn.execute(
            "DELETE FROM cache_entries WHERE expires_at IS NOT NULL AND expires_at <= ?", (now,)
        )
        row = conn.execute("SELECT count(*) FROM cache_entries").fetchone()
        excess = (row[0] if row else 0) - self._max_entries
        if excess > 0:
            conn.execute(_EVICT_OLDEST, (excess,))

    @contextmanager
    def _session(self) -> Iterator[sqlite3.Connection]:
        try:
            yield self._connect()
        except sqlite3.OperationalError as exc:
            # Typically "database is locked" after the busy timeout: worth a retry.
            raise TransientError(f"SQLite cache: {exc}", provider="sqlite") from exc

    def _connect(self) -> sqlite3.Connection:
        if self._closed:
            raise RuntimeError("SQLiteCache is closed")
        if self._conn is not None:
            return self._conn
        if str(self._path) != ":memory:":
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        # Autocommit: every statement is its own short transaction, so no reader ever holds a
        # lock it would need to upgrade (the case busy_timeout can not resolve).
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.executescript(_SCHEMA)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn
