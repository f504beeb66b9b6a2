"""WAL checkpoints off the event loop, for the embedded SQLite store and cache.

In WAL mode SQLite copies the log back into the database ("checkpoints") inside whichever
commit takes the log past 1,000 pages. With statements on the event loop that commit then
blocks every task for several milliseconds. A :class:`Checkpointer` thread runs passive
checkpoints on its own connection after every ``every`` commits it is told of (and once a
second while there were any), so the log rarely reaches the threshold. The driver releases the
GIL while SQLite works, so the copying overlaps the loop. SQLite's own automatic checkpoint stays
on as the safety net.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

__all__ = ["Checkpointer"]

log = logging.getLogger("ghostart.sqlite")


class Checkpointer:
    """A daemon thread checkpointing one database file's WAL.

    Args:
        path: The database file (not ``:memory:``).
        every: Commits between checkpoints.
        idle_interval: Seconds between checkpoints while commits are reported more slowly.
    """

    def __init__(self, path: str | Path, *, every: int = 64, idle_interval: float = 1.0) -> None:
        self.path = str(path)
        self.every = every
        self.idle_interval = idle_interval
        self.checkpoints = 0
        self._commits = 0
        self._wake = threading.Event()
        self._stop = False
        self._thread: threading.Thread | None = None

    def committed(self) -> None:
        """Count a commit (cheap: called on the event loop after every write)."""
        self._commits += 1
        if self._commits >= self.every:
            self._commits = 0
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run,
                    name=f"ghostart-checkpoint:{Path(self.path).name}",
                    daemon=True,
                )
                self._thread.start()
            self._wake.set()

    def close(self) -> None:
        """Stop the thread (after at most one checkpoint in progress)."""
        self._stop = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self.path, isolation_level=None)
        except sqlite3.Error as exc:  # the store's own connections will report the problem
            log.warning("WAL checkpointer for %s not started: %s", self.path, exc)
            return
        try:
            while not self._stop:
                woken = self._wake.wait(self.idle_interval)
                self._wake.clear()
                if self._stop:
                    break
                if woken or self._commits:
                    self._checkpoint(conn)
        finally:
            conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        try:
            # PASSIVE: copy what no reader still needs, wait for no one.
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            self.checkpoints += 1
        except sqlite3.Error as exc:
            log.debug("WAL checkpoint of %s skipped: %s", self.path, exc)
