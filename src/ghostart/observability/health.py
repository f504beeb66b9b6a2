"""Adapter checks shared by ``/ready`` and ``ghostart doctor``.

Each configured adapter that can be probed is asked something cheap (a query that touches the
schema, a cache read, the queue's size, a lock taken and given back, a rate-limit hit on a key
of its own; ``ping()`` where an adapter that fails soft offers one); the others count as
configured once they were built from the settings, which is where a bad setting fails. A
probe never raises: its failure is a :class:`Check` whose detail says what went wrong and what
to look at.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from ghostart.registry import AdapterURL, Port

if TYPE_CHECKING:
    from ghostart.app import Ghostart

__all__ = ["Check", "check_adapters", "readiness"]

_NO_ORGANIZATION = UUID(int=0)

#: What to look at when a port's probe fails.
_HINTS = {
    Port.STORE: "is the database running and reachable? check GHOSTART_DATABASE_URL",
    Port.CACHE: "is the cache server (Redis) running and reachable? check GHOSTART_CACHE_URL",
    Port.QUEUE: "is the queue server (Redis) running and reachable? check GHOSTART_QUEUE_URL",
    Port.LOCK: "is the lock server (Redis) running and reachable? check GHOSTART_LOCK_URL",
    Port.RATE_LIMITER: "is the rate-limit server (Redis) running? check GHOSTART_RATE_LIMIT_URL",
}


@dataclass(frozen=True)
class Check:
    """The outcome of one adapter's check."""

    name: str
    adapter: str
    ok: bool
    detail: str
    seconds: float = 0.0

    @property
    def status(self) -> str:
        """``ok`` or ``failing``."""
        return "ok" if self.ok else "failing"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    text = " ".join(str(exc).split())
    if len(text) > 200:
        text = text[:197] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def _probe(
    name: str, adapter: str, port: Port | None, fn: Callable[[], Awaitable[Any]], timeout: float
) -> Check:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            await fn()
    except Exception as exc:  # a check reports, it does not raise
        hint = _HINTS.get(port) if port is not None else None
        detail = _describe(exc) + (f" ({hint})" if hint else "")
        return Check(name, adapter, False, detail, time.perf_counter() - started)
    return Check(name, adapter, True, "answered", time.perf_counter() - started)


def _adapter_name(app: Ghostart, port: Port) -> str:
    settings = app.settings
    value = {
        Port.STORE: settings.resolved_database_url,
        Port.CACHE: settings.resolved_cache_url,
        Port.QUEUE: settings.queue_url,
        Port.LOCK: settings.lock_url,
        Port.RATE_LIMITER: settings.rate_limit_url,
        Port.GENERATOR: settings.generator,
        Port.PUBLISHER: settings.publisher,
        Port.MAILER: settings.mailer,
        Port.BILLING: settings.billing,
        Port.MONITOR: settings.monitor,
        Port.BROADCAST: settings.broadcast_url or "(follows the queue)",
    }[port]
    try:
        return str(AdapterURL.parse(value))  # secrets redacted
    except Exception:
        return "?"


async def readiness(app: Ghostart, *, timeout: float = 2.0) -> list[Check]:
    """The checks ``/ready`` runs: the store, the cache and the queue."""
    return list(
        await asyncio.gather(
            _probe("store", _adapter_name(app, Port.STORE), Port.STORE, _store(app), timeout),
            _probe("cache", _adapter_name(app, Port.CACHE), Port.CACHE, _cache(app), timeout),
            _probe("queue", _adapter_name(app, Port.QUEUE), Port.QUEUE, _queue(app), timeout),
        )
    )


async def check_adapters(app: Ghostart, *, timeout: float = 5.0) -> list[Check]:
    """Every configured adapter: the readiness probes, the lock and the rate limiter, the rest."""
    checks = await readiness(app, timeout=timeout)
    more = await asyncio.gather(
        _probe("lock", _adapter_name(app, Port.LOCK), Port.LOCK, _lock(app), timeout),
        _probe(
            "rate_limiter",
            _adapter_name(app, Port.RATE_LIMITER),
            Port.RATE_LIMITER,
            _rate_limiter(app),
            timeout,
        ),
    )
    checks.extend(more)
    for port in (Port.GENERATOR, Port.PUBLISHER, Port.MAILER, Port.BILLING, Port.MONITOR):
        adapter = getattr(app, port.value)
        adapter = getattr(adapter, "primary", adapter)  # the monitor behind the metrics
        detail = f"configured ({type(adapter).__name__}; not called: it would cost or send)"
        checks.append(Check(port.value, _adapter_name(app, port), True, detail))
    return checks


def _store(app: Ghostart) -> Callable[[], Awaitable[None]]:
    async def probe() -> None:
        async with app.store.unit_of_work(readonly=True) as uow:
            await uow.organizations.get(_NO_ORGANIZATION)  # a query that touches the schema

    return probe


def _cache(app: Ghostart) -> Callable[[], Awaitable[None]]:
    async def probe() -> None:
        # A cache may fail soft (a read error is a miss): ask it to ping when it can.
        ping = getattr(app.cache, "ping", None)
        await (ping() if ping is not None else app.cache.get("ghostart:ready"))

    return probe


def _queue(app: Ghostart) -> Callable[[], Awaitable[None]]:
    async def probe() -> None:
        size = getattr(app.queue, "size", None)
        if size is not None:
            await size()

    return probe


def _lock(app: Ghostart) -> Callable[[], Awaitable[None]]:
    async def probe() -> None:
        name = f"ghostart:doctor:{uuid.uuid4().hex}"
        token = await app.lock.acquire(name, ttl=5.0)
        if token is None:
            raise RuntimeError("a fresh lock could not be taken")
        await app.lock.release(name, token)

    return probe


def _rate_limiter(app: Ghostart) -> Callable[[], Awaitable[None]]:
    async def probe() -> None:
        ping = getattr(app.rate_limiter, "ping", None)  # a limiter may fail open
        if ping is not None:
            await ping()
        else:
            await app.rate_limiter.hit(f"ghostart:doctor:{uuid.uuid4().hex}", limit=1, period=1.0)

    return probe
