"""The embedded adapters, registered through the same hook as any third-party plugin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ghostart.hookspecs import hookimpl
from ghostart.models import DomainEvent, Plan
from ghostart.registry import AdapterRegistry, AdapterURL, BuildContext

PACKAGE = "ghostart"


def _store(url: AdapterURL, ctx: BuildContext) -> Any:
    from ghostart.builtin.sql import SQLiteStore

    return SQLiteStore(url.raw)


def _sqlite_cache(url: AdapterURL, ctx: BuildContext) -> Any:
    from ghostart.builtin.cache_sqlite import SQLiteCache

    path = url.file_path() if url.path else ctx.settings.home / "cache.db"
    return SQLiteCache(
        path,
        default_ttl=url.float_option("ttl", ctx.settings.cache_ttl_seconds),
        max_entries=url.int_option("max_entries", 100_000),
    )


def _memory_cache(url: AdapterURL, ctx: BuildContext) -> Any:
    from ghostart.builtin.cache_memory import MemoryCache

    return MemoryCache(
        max_entries=url.int_option("max_entries", 10_000),
        default_ttl=url.float_option("ttl", ctx.settings.cache_ttl_seconds),
    )


def _memory_lock(url: AdapterURL, ctx: BuildContext) -> Any:
    from ghostart.builtin.lock_memory import MemoryLock

    return MemoryLock()


def _memory_queue(url: AdapterURL, ctx: BuildContext) -> Any:
    from ghostart.builtin.queue_memory import MemoryQueue

    return MemoryQueue(
        visibility_timeout=url.float_option("visibility_timeout", ctx.settings.job_lease_seconds)
    )


def _memory_rate_limiter(url: AdapterURL, ctx: BuildContext) -> Any:
    from ghostart.builtin.ratelimit_memory import MemoryRateLimiter

    return MemoryRateLimiter()


def _memory_broadcast(url: AdapterURL, ctx: BuildContext) -> Any:
    from ghostart.builtin.broadcast_memory import MemoryBroadcast

    return MemoryBroadcast(backlog=url.int_option("backlog", 10_000), monitor=ctx.monitor)


def _offline_generator(url: AdapterURL, ctx: BuildContext) -> Any:
    from ghostart.builtin.generator_offline import OfflineGenerator

    return OfflineGenerator(latency=url.float_option("latency", 0.0))


def _dry_run_publisher(url: AdapterURL, ctx: BuildContext) -> Any:
    from ghostart.builtin.publisher_dryrun import DryRunPublisher

    path = url.option("path")
    return DryRunPublisher(path=Path(path) if path else None)


def _console_mailer(url: AdapterURL, ctx: BuildContext) -> Any:
    from ghostart.builtin.mailer_console import ConsoleMailer

    return ConsoleMailer()


def _no_billing(url: AdapterURL, ctx: BuildContext) -> Any:
    from ghostart.builtin.billing_none import NoBilling

    return NoBilling(
        Plan(
            name=ctx.settings.default_plan,
            monthly_generations=ctx.settings.default_monthly_generations,
        )
    )


def _logging_monitor(url: AdapterURL, ctx: BuildContext) -> Any:
    from ghostart.builtin.monitor_logging import LoggingMonitor

    return LoggingMonitor()


@hookimpl
def ghostart_register_adapters(registry: AdapterRegistry) -> None:
    """Register every embedded adapter."""
    kw = {"package": PACKAGE}
    registry.add_store("sqlite", _store, description="SQLite file, WAL, Alembic migrations", **kw)
    registry.add_cache(
        "sqlite", _sqlite_cache, description="cache in a SQLite file, survives restarts", **kw
    )
    registry.add_cache("memory", _memory_cache, description="in-process LRU with TTL", **kw)
    registry.add_lock("memory", _memory_lock, description="in-process leases", **kw)
    registry.add_queue(
        "memory", _memory_queue, description="in-process; truth is the store's outbox", **kw
    )
    registry.add_rate_limiter("memory", _memory_rate_limiter, description="in-process GCRA", **kw)
    registry.add_broadcast(
        "memory", _memory_broadcast, description="completion signals within the process", **kw
    )
    registry.add_generator("offline", _offline_generator, description="templates, not AI", **kw)
    registry.add_publisher(
        "dry-run", _dry_run_publisher, description="records, posts nothing", **kw
    )
    registry.add_mailer("console", _console_mailer, description="prints emails to stderr", **kw)
    registry.add_billing("none", _no_billing, description="one default plan for all", **kw)
    registry.add_monitor(
        "logging", _logging_monitor, description="logs and in-memory counters", **kw
    )


@hookimpl
async def ghostart_handle_event(event: DomainEvent, app: Any) -> None:
    """Email subscribes here: the event's emails become outbox rows (``ghostart.email``)."""
    email = getattr(app, "email", None)
    if email is not None:
        await email.on_event(event)
