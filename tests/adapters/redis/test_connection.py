"""URLs to clients (standalone, Sentinel, Cluster), pool bounds, errors, and the plugin.

Nothing here needs a server except where a fixture asks for one.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from redis import exceptions as rexc
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import SSLConnection
from redis.asyncio.sentinel import SentinelConnectionPool

import ghostart_redis
from ghostart.errors import ConfigurationError, PermanentError, TransientError
from ghostart.plugins import PluginManager
from ghostart.registry import BuildContext, Port
from ghostart.settings import load_settings
from ghostart.testing import ManualClock
from ghostart_redis import plugin
from ghostart_redis.broadcast import RedisBroadcast
from ghostart_redis.cache import RedisCache
from ghostart_redis.connection import RedisConnection, translated
from ghostart_redis.lock import RedisLock
from ghostart_redis.queue import RedisQueue
from ghostart_redis.ratelimit import RedisRateLimiter
from ghostart_redis.testing import RecordingMonitor, with_options


def _pool(conn: RedisConnection) -> Any:
    assert isinstance(conn.client, Redis)
    return conn.client.connection_pool


def _kwargs(conn: RedisConnection) -> dict[str, Any]:
    return dict(_pool(conn).connection_kwargs)


def test_standalone_url() -> None:
    conn = RedisConnection.from_url(
        "redis://app:p%40ss@cache.internal:6380/3?max_connections=7&pool_timeout=1.5"
        "&timeout=2&connect_timeout=0.7&client_name=api&prefix=acme"
    )
    pool = _pool(conn)
    assert isinstance(pool, BlockingConnectionPool)
    assert (pool.max_connections, pool.timeout) == (7, 1.5)
    kwargs = _kwargs(conn)
    assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("cache.internal", 6380, 3)
    assert (kwargs["username"], kwargs["password"]) == ("app", "p@ss")
    assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"]) == (2.0, 0.7)
    assert kwargs["client_name"] == "api"
    assert kwargs["protocol"] == 2
    assert kwargs["retry"].get_retries() == 0  # redis-py's own retries are off
    assert (conn.mode, conn.prefix) == ("standalone", "acme")
    assert "p%40ss" not in conn.url and "p@ss" not in conn.url and ":***@" in conn.url


def test_defaults_and_tls() -> None:
    conn = RedisConnection.from_url("rediss://cache?ssl_cert_reqs=none&timeout=0")
    pool = _pool(conn)
    assert pool.connection_class is SSLConnection
    assert (_kwargs(conn)["host"], _kwargs(conn)["port"], _kwargs(conn)["db"]) == ("cache", 6379, 0)
    assert _kwargs(conn)["ssl_cert_reqs"] == "none"
    assert _kwargs(conn)["socket_timeout"] is None  # timeout=0: wait for ever
    assert conn.prefix == "ghostart"


def test_sentinel_url() -> None:
    conn = RedisConnection.from_url(
        "redis+sentinel://:secret@s1:26379,s2,[::1]:26380/mymaster/2"
        "?sentinel_password=sp&max_connections=4"
    )
    pool = _pool(conn)
    assert isinstance(pool, SentinelConnectionPool)
    assert (pool.service_name, pool.max_connections) == ("mymaster", 4)
    assert (pool.connection_kwargs["db"], pool.connection_kwargs["password"]) == (2, "secret")
    sentinels = [s.connection_pool.connection_kwargs for s in pool.sentinel_manager.sentinels]
    assert [(s["host"], s["port"], s["password"]) for s in sentinels] == [
        ("s1", 26379, "sp"),
        ("s2", 26379, "sp"),
        ("::1", 26380, "sp"),
    ]
    assert conn.mode == "sentinel"
    assert "secret" not in conn.url and "sp" not in conn.url.split("?")[1]
    assert "sentinel_password=***" in conn.url


def test_cluster_url() -> None:
    conn = RedisConnection.from_url("rediss+cluster://u:p@a:7000,b?max_connections=9")
    assert isinstance(conn.client, RedisCluster)
    nodes = conn.client.nodes_manager.startup_nodes
    assert sorted(nodes) == ["a:7000", "b:6379"]
    node = nodes["a:7000"]
    assert node.max_connections == 9
    assert node.connection_class is SSLConnection
    assert (node.connection_kwargs["username"], node.connection_kwargs["password"]) == ("u", "p")
    assert conn.mode == "cluster"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis+pigeon://host", "unsupported scheme"),
        ("memcached://host", "unsupported scheme"),
        ("redis://a,b", "one host expected"),
        ("redis://host/zero", "database number"),
        ("redis://host/0/1", "database number"),
        ("redis://host:port", "bad port"),
        ("redis+sentinel://s1:26379", "name the monitored master"),
        ("redis+sentinel://s1/mymaster/x", "database number"),
        ("redis+cluster://a:7000/1", "only database 0"),
        ("redis://host?ssl_cert_reqs=none", "need TLS"),
        ("redis://host?socket_keepalive=maybe", "bad value"),
        ("redis://host?timeout=soon", "must be a number"),
        ("redis://host?connect_timeout=0", "must be positive"),
        ("redis://host?max_connections=0", "max_connections"),
        ("redis://host?prefix=%7Bx%7D", "braces"),
        ("redis://host?colour=blue", "unknown option"),
    ],
)
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        RedisConnection.from_url(url)


def test_errors_never_show_a_sentinel_password() -> None:
    with pytest.raises(ConfigurationError) as caught:
        RedisConnection.from_url("redis+sentinel://:pw1@s1/m?sentinel_password=pw2&timeout=x")
    assert "pw1" not in str(caught.value) and "pw2" not in str(caught.value)


async def test_sentinel_and_cluster_bound_commands_in_flight_to_the_pool_size() -> None:
    conn = RedisConnection.from_url("redis+cluster://a?max_connections=2&pool_timeout=0.1")
    async with conn.slot(), conn.slot():
        with pytest.raises(rexc.ConnectionError, match="No connection available"):
            async with conn.slot():
                pass
    async with conn.slot():  # released again
        pass


async def test_a_full_pool_waits_then_fails_as_transient(url: str) -> None:
    conn = RedisConnection.from_url(with_options(url, max_connections="1", pool_timeout="0.2"))
    try:
        client: Any = conn.client
        blocked = asyncio.create_task(client.blpop(["nothing-" + conn.prefix], timeout=1))
        await asyncio.sleep(0.05)
        with pytest.raises(TransientError, match="No connection available"), translated("get"):
            await conn.client.get("k")
        assert await blocked is None
        await conn.client.get("k")  # the connection is free again
    finally:
        await conn.aclose()


def test_error_translation() -> None:
    cases = [
        (rexc.ConnectionError("refused"), TransientError),
        (rexc.TimeoutError("slow"), TransientError),
        (rexc.BusyLoadingError("loading"), TransientError),
        (rexc.ReadOnlyError("replica"), TransientError),
        (rexc.OutOfMemoryError("OOM"), TransientError),
        (rexc.ClusterDownError("down"), TransientError),
        (rexc.TryAgainError("again"), TransientError),
        (OSError("reset"), TransientError),
        (rexc.AuthenticationError("WRONGPASS"), ConfigurationError),
        (rexc.NoPermissionError("NOPERM"), ConfigurationError),
        (rexc.ResponseError("WRONGTYPE"), PermanentError),
    ]
    for error, expected in cases:
        with pytest.raises(expected) as caught, translated("op"):
            raise error
        assert caught.value.__cause__ is error


# The plugin


def _registry() -> Any:
    manager = PluginManager(entry_points_enabled=False)
    manager.register(plugin, name="redis")
    return manager.adapter_registry()


@pytest.mark.parametrize(
    ("port", "cls"),
    [
        (Port.CACHE, RedisCache),
        (Port.LOCK, RedisLock),
        (Port.QUEUE, RedisQueue),
        (Port.RATE_LIMITER, RedisRateLimiter),
        (Port.BROADCAST, RedisBroadcast),
    ],
)
@pytest.mark.parametrize(
    "url",
    [
        "redis://localhost/0",
        "rediss://localhost/0",
        "redis+sentinel://s1,s2/mymaster",
        "rediss+cluster://a:7000,b:7001",
    ],
)
async def test_every_scheme_builds_every_port(
    tmp_path: Path, port: Port, cls: Any, url: str
) -> None:
    settings = load_settings(home=tmp_path, job_lease_seconds=42, cache_ttl_seconds=99)
    monitor = RecordingMonitor()
    adapter: Any = _registry().build(port, url, BuildContext(settings, ManualClock(), monitor))
    try:
        assert isinstance(adapter, cls)
        if isinstance(adapter, RedisQueue):
            assert adapter.visibility_timeout == 42
        if isinstance(adapter, RedisCache):
            assert adapter.default_ttl == 99
    finally:
        await adapter.aclose()


def test_the_entry_point_is_installed() -> None:
    # Only this plugin's entry point, so that another installed plugin can not make this fail.
    entries = PluginManager(allow="redis").adapter_registry().entries()
    served = {(e.port, e.scheme) for e in entries if e.package == "ghostart-redis"}
    assert served == {
        (port, scheme)
        for port in (Port.CACHE, Port.LOCK, Port.QUEUE, Port.RATE_LIMITER, Port.BROADCAST)
        for scheme in ("redis", "rediss")
    }


def test_public_surface() -> None:
    assert ghostart_redis.__all__ == sorted(ghostart_redis.__all__)
    for name in ghostart_redis.__all__:
        assert getattr(ghostart_redis, name).__name__ == name
    with pytest.raises(AttributeError):
        ghostart_redis.Nothing  # noqa: B018
