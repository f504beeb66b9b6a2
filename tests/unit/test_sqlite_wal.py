"""WAL checkpoints run on the Checkpointer's thread, not inside the committing call."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from ghostart.builtin.sqlite_wal import Checkpointer


def _wal_db(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")  # only the Checkpointer copies the log back
    conn.execute("CREATE TABLE t (x TEXT)")
    return conn


def test_commits_reported_lead_to_checkpoints_on_another_thread(tmp_path: Path) -> None:
    conn = _wal_db(tmp_path / "w.db")
    checkpointer = Checkpointer(tmp_path / "w.db", every=10, idle_interval=0.05)
    for i in range(50):
        conn.execute("INSERT INTO t VALUES (?)", ("x" * 2000 + str(i),))
        checkpointer.committed()
    deadline = time.monotonic() + 5
    while checkpointer.checkpoints == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert checkpointer.checkpoints >= 1
    thread = checkpointer._thread
    assert thread is not None and thread is not threading.current_thread()
    checkpointer.close()
    assert not thread.is_alive()
    # The rows reached the database file itself (with autocheckpoint off, only a checkpoint
    # copies them out of the log).
    assert (tmp_path / "w.db").stat().st_size > 20 * 2000  # 4 KiB without a checkpoint
    conn.close()


def test_no_thread_until_enough_commits_and_close_is_safe(tmp_path: Path) -> None:
    checkpointer = Checkpointer(tmp_path / "idle.db", every=5)
    for _ in range(4):
        checkpointer.committed()
    assert checkpointer._thread is None
    checkpointer.close()  # nothing started: nothing to stop


def test_an_unopenable_file_stops_the_thread_quietly(tmp_path: Path) -> None:
    checkpointer = Checkpointer(tmp_path / "missing-dir" / "x.db", every=1)
    checkpointer.committed()
    thread = checkpointer._thread
    assert thread is not None
    thread.join(timeout=5)
    assert not thread.is_alive() and checkpointer.checkpoints == 0
    checkpointer.close()
