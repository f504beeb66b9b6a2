"""Contract suite for :class:`~ghostart.ports.cache.Cache` adapters.

Subclass :class:`CacheContract` in a ``Test*`` class and provide the ``cache`` fixture::

    class TestRedisCache(CacheContract):
        @pytest.fixture
        async def cache(self, redis_url):
            cache = RedisCache(redis_url, default_ttl=0.5)
            yield cache
            await cache.aclose()

        @pytest.fixture
        def default_ttl(self):
            return 0.5

Keys are random per test, so a shared server is fine. Expiry is checked with real sleeps of
under half a second.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from ghostart.ports.cache import Cache

__all__ = ["CacheContract"]

#: The TTL the expiry tests use, and the extra wait after it.
SHORT_TTL = 0.3
MARGIN = 0.15


def _key(label: str = "k") -> str:
    return f"ghostart-contract:{label}:{uuid.uuid4().hex}"


class CacheContract:
    """Tests every :class:`~ghostart.ports.cache.Cache` adapter must pass."""

    pytestmark = [pytest.mark.asyncio]

    @pytest.fixture
    def cache(self) -> Cache:
        """The adapter under test; override it in the subclass."""
        raise NotImplementedError(
            "subclass must provide a `cache` fixture returning the Cache adapter under test"
        )

    @pytest.fixture
    def default_ttl(self) -> float | None:
        """The ``default_ttl`` the ``cache`` fixture was built with, if short (at most 0.5 s).

        Override it to check that ``set`` without ``ttl`` expires; ``None`` skips that check.
        """
        return None

    async def test_conforms_to_protocol(self, cache: Cache) -> None:
        assert isinstance(cache, Cache)

    async def test_get_missing_key_returns_none(self, cache: Cache) -> None:
        assert await cache.get(_key()) is None

    async def test_set_then_get_returns_value(self, cache: Cache) -> None:
        key = _key()
        await cache.set(key, b"value", ttl=30)
        assert await cache.get(key) == b"value"

    async def test_set_overwrites(self, cache: Cache) -> None:
        key = _key()
        await cache.set(key, b"first", ttl=30)
        await cache.set(key, b"second", ttl=30)
        assert await cache.get(key) == b"second"

    async def test_delete_forgets_key(self, cache: Cache) -> None:
        key, other = _key(), _key()
        await cache.set(key, b"value", ttl=30)
        await cache.set(other, b"other", ttl=30)
        await cache.delete(key)
        assert await cache.get(key) is None
        assert await cache.get(other) == b"other"

    async def test_delete_missing_key_is_not_an_error(self, cache: Cache) -> None:
        await cache.delete(_key())

    async def test_binary_values_roundtrip(self, cache: Cache) -> None:
        values = {
            _key("all-bytes"): bytes(range(256)),
            _key("empty"): b"",
            _key("nul"): b"\x00",
            _key("large"): bytes(range(256)) * 1024,
        }
        for key, value in values.items():
            await cache.set(key, value, ttl=30)
        for key, value in values.items():
            got = await cache.get(key)
            assert got == value
            assert type(got) is bytes

    async def test_keys_are_opaque_up_to_250_characters(self, cache: Cache) -> None:
        prefix = _key("opaque")
        keys = [
            (prefix + ":" + "x" * 250)[:250],
            f"{prefix} with spaces/and:punctuation*?[]",
            f"{prefix}:unicode:é—🙂",
            f"{prefix}:a:b",
            f"{prefix}:a_b",
        ]
        for index, key in enumerate(keys):
            await cache.set(key, str(index).encode(), ttl=30)
        for index, key in enumerate(keys):
            assert await cache.get(key) == str(index).encode()

    async def test_entry_expires_after_ttl(self, cache: Cache) -> None:
        key, lasting = _key(), _key()
        await cache.set(key, b"value", ttl=SHORT_TTL)
        await cache.set(lasting, b"value", ttl=30)
        assert await cache.get(key) == b"value"
        await asyncio.sleep(SHORT_TTL + MARGIN)
        assert await cache.get(key) is None
        assert await cache.get(lasting) == b"value"

    async def test_overwrite_replaces_ttl(self, cache: Cache) -> None:
        key = _key()
        await cache.set(key, b"short", ttl=SHORT_TTL)
        await cache.set(key, b"long", ttl=30)
        await asyncio.sleep(SHORT_TTL + MARGIN)
        assert await cache.get(key) == b"long"

    async def test_set_without_ttl_uses_adapter_default(
        self, cache: Cache, default_ttl: float | None
    ) -> None:
        key, explicit = _key(), _key()
        await cache.set(key, b"value")
        assert await cache.get(key) == b"value"
        if default_ttl is None:
            pytest.skip("no short `default_ttl` fixture: the default expiry is not checked")
        assert default_ttl <= 0.5, "the contract sleeps default_ttl: keep it short"
        await cache.set(explicit, b"value", ttl=30)
        await asyncio.sleep(default_ttl + MARGIN)
        assert await cache.get(key) is None
        assert await cache.get(explicit) == b"value"

    async def test_concurrent_sets_of_distinct_keys(self, cache: Cache) -> None:
        keys = [_key(str(index)) for index in range(50)]
        await asyncio.gather(*(cache.set(key, key.encode(), ttl=30) for key in keys))
        values = await asyncio.gather(*(cache.get(key) for key in keys))
        assert values == [key.encode() for key in keys]

    async def test_concurrent_sets_of_one_key_leave_one_whole_value(self, cache: Cache) -> None:
        key = _key()
        candidates = [bytes([index]) * 4096 for index in range(20)]
        await asyncio.gather(*(cache.set(key, value, ttl=30) for value in candidates))
        assert await cache.get(key) in candidates
