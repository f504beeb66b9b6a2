"""The built-in lock against the lock contract, plus its own specifics."""

from __future__ import annotations

import pytest

from ghostart.builtin import lock_memory
from ghostart.builtin.lock_memory import MemoryLock
from ghostart.errors import InvalidInput
from ghostart.testing import ManualTimer
from ghostart.testing.contracts.lock import LockContract


class TestMemoryLock(LockContract):
    @pytest.fixture
    def lock(self) -> MemoryLock:
        return MemoryLock()


async def test_lease_expires_exactly_at_ttl() -> None:
    clock = ManualTimer()
    lock = MemoryLock(clock=clock)
    token = await lock.acquire("n", ttl=10)
    assert token is not None
    clock.advance(9.999)
    assert await lock.acquire("n", ttl=10) is None
    clock.advance(0.001)
    assert await lock.extend("n", token, ttl=10) is False
    assert await lock.acquire("n", ttl=10) is not None


async def test_extend_counts_from_now() -> None:
    clock = ManualTimer()
    lock = MemoryLock(clock=clock)
    token = await lock.acquire("n", ttl=10)
    assert token is not None
    clock.advance(8)
    assert await lock.extend("n", token, ttl=5) is True
    clock.advance(4.9)
    assert await lock.acquire("n", ttl=10) is None
    clock.advance(0.1)
    assert await lock.acquire("n", ttl=10) is not None


async def test_tokens_are_128_bit_hex() -> None:
    token = await MemoryLock().acquire("n", ttl=1)
    assert token is not None
    assert len(token) == 32
    int(token, 16)


@pytest.mark.parametrize("ttl", [0, -1])
async def test_rejects_non_positive_ttl(ttl: float) -> None:
    lock = MemoryLock()
    with pytest.raises(InvalidInput):
        await lock.acquire("n", ttl=ttl)
    token = await lock.acquire("n", ttl=1)
    assert token is not None
    with pytest.raises(InvalidInput):
        await lock.extend("n", token, ttl=ttl)


async def test_expired_leases_are_swept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lock_memory, "_SWEEP_EVERY", 10)
    clock = ManualTimer()
    lock = MemoryLock(clock=clock)
    for index in range(9):
        await lock.acquire(f"abandoned-{index}", ttl=1)
    clock.advance(2)
    await lock.acquire("live", ttl=1)
    assert list(lock._leases) == ["live"]
