"""Contract suite for :class:`~ghostart.ports.lock.Lock` adapters.

Subclass :class:`LockContract` in a ``Test*`` class and provide the ``lock`` fixture::

    class TestRedisLock(LockContract):
        @pytest.fixture
        async def lock(self, redis_url):
            lock = RedisLock(redis_url)
            yield lock
            await lock.aclose()

Lease names are random per test, so a shared server is fine. Expiry is checked with real sleeps
of under half a second.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from ghostart.ports.lock import Lock

__all__ = ["LockContract"]

SHORT_TTL = 0.25
MARGIN = 0.15


def _name() -> str:
    return f"ghostart-contract:lock:{uuid.uuid4().hex}"


class LockContract:
    """Tests every :class:`~ghostart.ports.lock.Lock` adapter must pass."""

    pytestmark = [pytest.mark.asyncio]

    @pytest.fixture
    def lock(self) -> Lock:
        """The adapter under test; override it in the subclass."""
        raise NotImplementedError(
            "subclass must provide a `lock` fixture returning the Lock adapter under test"
        )

    async def test_conforms_to_protocol(self, lock: Lock) -> None:
        assert isinstance(lock, Lock)

    async def test_acquire_returns_token_and_excludes_others(self, lock: Lock) -> None:
        name = _name()
        token = await lock.acquire(name, ttl=30)
        assert isinstance(token, str)
        assert token
        assert await lock.acquire(name, ttl=30) is None

    async def test_names_are_independent(self, lock: Lock) -> None:
        assert await lock.acquire(_name(), ttl=30) is not None
        assert await lock.acquire(_name(), ttl=30) is not None

    async def test_release_frees_the_name(self, lock: Lock) -> None:
        name = _name()
        token = await lock.acquire(name, ttl=30)
        assert token is not None
        assert await lock.release(name, token) is True
        assert await lock.release(name, token) is False
        assert await lock.acquire(name, ttl=30) is not None

    async def test_release_with_wrong_token_fails_and_keeps_lease(self, lock: Lock) -> None:
        name = _name()
        token = await lock.acquire(name, ttl=30)
        assert token is not None
        assert await lock.release(name, "not-the-token") is False
        assert await lock.release(_name(), token) is False
        assert await lock.acquire(name, ttl=30) is None
        assert await lock.release(name, token) is True

    async def test_each_acquisition_gets_a_new_token(self, lock: Lock) -> None:
        name = _name()
        first = await lock.acquire(name, ttl=30)
        assert first is not None
        assert await lock.release(name, first)
        second = await lock.acquire(name, ttl=30)
        assert second is not None
        assert second != first
        assert await lock.release(name, first) is False
        assert await lock.extend(name, first, ttl=30) is False
        assert await lock.acquire(name, ttl=30) is None

    async def test_expired_lease_can_be_taken_by_another(self, lock: Lock) -> None:
        name = _name()
        stale = await lock.acquire(name, ttl=SHORT_TTL)
        assert stale is not None
        await asyncio.sleep(SHORT_TTL + MARGIN)
        fresh = await lock.acquire(name, ttl=30)
        assert fresh is not None
        assert await lock.release(name, stale) is False
        assert await lock.extend(name, stale, ttl=30) is False
        assert await lock.release(name, fresh) is True

    async def test_extend_keeps_the_lease(self, lock: Lock) -> None:
        name = _name()
        token = await lock.acquire(name, ttl=SHORT_TTL)
        assert token is not None
        await asyncio.sleep(SHORT_TTL / 2)
        assert await lock.extend(name, token, ttl=SHORT_TTL * 2) is True
        await asyncio.sleep(SHORT_TTL / 2 + MARGIN)  # past the original expiry
        assert await lock.acquire(name, ttl=30) is None
        assert await lock.release(name, token) is True

    async def test_extend_with_wrong_token_fails(self, lock: Lock) -> None:
        name = _name()
        token = await lock.acquire(name, ttl=30)
        assert token is not None
        assert await lock.extend(name, "not-the-token", ttl=30) is False
        assert await lock.extend(_name(), token, ttl=30) is False

    async def test_concurrent_acquire_has_exactly_one_winner(self, lock: Lock) -> None:
        name = _name()
        tokens = await asyncio.gather(*(lock.acquire(name, ttl=30) for _ in range(20)))
        winners = [token for token in tokens if token is not None]
        assert len(winners) == 1
