"""The built-in caches against the cache contract, plus their own specifics."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import textwrap
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from ghostart.builtin import cache_sqlite
from ghostart.builtin.cache_memory import MemoryCache
from ghostart.builtin.cache_sqlite import SQLiteCache
from ghostart.errors import ConfigurationError, TransientError
from ghostart.testing import ManualTimer
from ghostart.testing.contracts.cache import CacheContract

SHORT_DEFAULT_TTL = 0.3


class TestMemoryCache(CacheContract):
    @pytest.fixture
    def cache(self) -> MemoryCache:
        return MemoryCache(default_ttl=SHORT_DEFAULT_TTL)

    @pytest.fixture
    def default_ttl(self) -> float:
        return SHORT_DEFAULT_TTL


class TestSQLiteCache(CacheContract):
    @pytest.fixture
    async def cache(self, tmp_path: Path) -> AsyncIterator[SQLiteCache]:
        cache = SQLiteCache(tmp_path / "cache.db", default_ttl=SHORT_DEFAULT_TTL)
        yield cache
        await cache.aclose()

    @pytest.fixture
    def default_ttl(self) -> float:
        return SHORT_DEFAULT_TTL


# MemoryCache specifics


async def test_memory_evicts_least_recently_used_beyond_max_entries() -> None:
    cache = MemoryCache(max_entries=3)
    for key in "abc":
        await cache.set(key, key.encode())
    assert await cache.get("a") == b"a"  # now the most recently used
    await cache.set("d", b"d")
    assert len(cache) == 3
    assert await cache.get("b") is None
    assert [await cache.get(key) for key in "acd"] == [b"a", b"c", b"d"]


async def test_memory_expiry_follows_the_clock_and_drops_on_access() -> None:
    clock = ManualTimer(1_000_000.0)
    cache = MemoryCache(clock=clock)
    await cache.set("k", b"v", ttl=10)
    clock.advance(9.9)
    assert await cache.get("k") == b"v"
    clock.advance(0.1)
    assert await cache.get("k") is None
    assert len(cache) == 0


async def test_memory_default_ttl_none_keeps_entries() -> None:
    clock = ManualTimer(1_000_000.0)
    cache = MemoryCache(default_ttl=None, clock=clock)
    await cache.set("k", b"v")
    clock.advance(10**9)
    assert await cache.get("k") == b"v"


async def test_memory_non_positive_ttl_forgets_the_key() -> None:
    cache = MemoryCache()
    await cache.set("k", b"v")
    await cache.set("k", b"w", ttl=0)
    assert await cache.get("k") is None


@pytest.mark.parametrize(
    ("kwargs", "setting"),
    [({"max_entries": 0}, "max_entries"), ({"default_ttl": 0}, "default_ttl")],
)
def test_memory_rejects_bad_settings(kwargs: dict[str, Any], setting: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        MemoryCache(**kwargs)
    assert caught.value.details["setting"] == setting


# SQLiteCache specifics


async def test_sqlite_value_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    async with SQLiteCache(path) as first:
        await first.set("k", b"\x00persisted")
    async with SQLiteCache(path) as second:
        assert await second.get("k") == b"\x00persisted"


async def test_sqlite_expiry_is_wall_clock_and_survives_reopening(tmp_path: Path) -> None:
    path, clock = tmp_path / "cache.db", ManualTimer(1_000_000.0)
    async with SQLiteCache(path, clock=clock) as first:
        await first.set("short", b"v", ttl=10)
        await first.set("default", b"v")
    clock.advance(11)
    async with SQLiteCache(path, clock=clock, default_ttl=None) as second:
        assert await second.get("short") is None
        assert await second.get("default") == b"v"
        await second.set("forever", b"v")
        clock.advance(7 * 24 * 3600)
        assert await second.get("default") is None
        assert await second.get("forever") == b"v"


async def test_sqlite_creates_file_lazily_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "cache.db"
    cache = SQLiteCache(path)
    assert not path.parent.exists()
    try:
        assert await cache.get("k") is None
        assert path.exists()
    finally:
        await cache.aclose()
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        columns = [row[1] for row in conn.execute("PRAGMA table_info(cache_entries)")]
    assert columns == ["key", "value", "expires_at", "touched_at"]


async def test_sqlite_evicts_least_recently_touched_every_100_sets(tmp_path: Path) -> None:
    path, clock = tmp_path / "cache.db", ManualTimer(1_000_000.0)
    async with SQLiteCache(path, max_entries=95, clock=clock) as cache:
        for index in range(10):
            await cache.set(f"old-{index}", b"v")
            clock.advance(1)
        clock.advance(100)
        assert await cache.get("old-0") == b"v"  # stale enough to be touched again
        for index in range(89):
            await cache.set(f"new-{index}", b"v")
            clock.advance(1)
        assert _row_count(path) == 99  # no check before the 100th set
        await cache.set("new-89", b"v")
        assert _row_count(path) == 95
        assert await cache.get("old-0") == b"v"
        assert [await cache.get(f"old-{index}") for index in range(1, 6)] == [None] * 5
        assert await cache.get("old-6") == b"v"


async def test_sqlite_two_connections_on_one_file(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    async with SQLiteCache(path) as one, SQLiteCache(path) as two:
        await asyncio.gather(
            *(one.set(f"one-{index}", b"1") for index in range(100)),
            *(two.set(f"two-{index}", b"2") for index in range(100)),
        )
        assert await two.get("one-99") == b"1"
        assert await one.get("two-0") == b"2"
    assert _row_count(path) == 200


@pytest.mark.slow
async def test_sqlite_two_processes_on_one_file(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    script = textwrap.dedent(
        f"""
        import asyncio
        from ghostart.builtin.cache_sqlite import SQLiteCache

        async def main():
            async with SQLiteCache({str(path)!r}) as cache:
                for index in range(200):
                    await cache.set(f"child-{{index}}", b"c")

        asyncio.run(main())
        """
    )
    child = await asyncio.create_subprocess_exec(sys.executable, "-c", script)
    async with SQLiteCache(path) as cache:
        for index in range(200):
            await cache.set(f"parent-{index}", b"p")
        assert await asyncio.wait_for(child.wait(), timeout=10) == 0
        assert await cache.get("child-199") == b"c"
    assert _row_count(path) == 400


async def test_sqlite_locked_database_is_a_transient_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache_sqlite, "_BUSY_TIMEOUT_MS", 20)
    path = tmp_path / "cache.db"
    async with SQLiteCache(path) as cache:
        blocker = sqlite3.connect(path, isolation_level=None)
        try:
            blocker.execute("BEGIN IMMEDIATE")
            with pytest.raises(TransientError):
                await cache.set("k", b"v")
        finally:
            blocker.close()
        await cache.set("k", b"v")


async def test_sqlite_can_not_be_used_after_aclose(tmp_path: Path) -> None:
    cache = SQLiteCache(tmp_path / "cache.db")
    await cache.set("k", b"v")
    await cache.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await cache.get("k")


def test_sqlite_rejects_bad_settings(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        SQLiteCache(tmp_path / "cache.db", max_entries=0)
    with pytest.raises(ConfigurationError):
        SQLiteCache(tmp_path / "cache.db", default_ttl=-1)


def _row_count(path: Path) -> int:
    with closing(sqlite3.connect(path)) as conn:
        (count,) = conn.execute("SELECT count(*) FROM cache_entries").fetchone()
    return int(count)
