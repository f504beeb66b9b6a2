"""Sentinel (with a failover) and Cluster, on private servers this module starts.

They are started from the ``redis-server`` binary on private ports under a temporary directory,
so they share nothing with the test server or with another run. Without the binary these tests
skip and say so.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis import Redis as SyncRedis

from ghostart.errors import TransientError
from ghostart_redis.broadcast import RedisBroadcast
from ghostart_redis.cache import RedisCache
from ghostart_redis.lock import RedisLock
from ghostart_redis.queue import RedisQueue
from ghostart_redis.ratelimit import RedisRateLimiter

pytestmark = [pytest.mark.redis, pytest.mark.slow]

SERVER = shutil.which("redis-server")
CLI = shutil.which("redis-cli")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_ports(count: int) -> list[int]:
    """Ports free now, whose cluster bus ports (+10,000) are free too and below 65,536."""
    ports: list[int] = []
    while len(ports) < count:
        port = random.randrange(20_000, 45_000)
        if port not in ports and _free(port) and _free(port + 10_000):
            ports.append(port)
    return ports


def _wait(predicate: object, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if predicate():  # type: ignore[operator]
                return
        except Exception as exc:
            last = exc
        time.sleep(0.1)
    raise RuntimeError(f"{what} not ready after {timeout} s ({last})")


class Servers:
    """redis-server processes started for a test module, stopped at its end."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, *args: str) -> None:
        assert SERVER is not None
        workdir = self.directory / name
        workdir.mkdir()
        log = (workdir / "log").open("wb")
        self.processes.append(
            subprocess.Popen(
                [SERVER, *args, "--dir", str(workdir)]
                if args[0].startswith("--")
                else [SERVER, *args],
                cwd=workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    if SERVER is None or CLI is None:
        pytest.skip(
            "redis-server and redis-cli are not on PATH: Sentinel and Cluster are not tested"
        )
    group = Servers(tmp_path_factory.mktemp("redis-topologies"))
    yield group
    group.stop()


_NO_PERSISTENCE = ("--save", "", "--appendonly", "no", "--bind", "127.0.0.1")


@pytest.fixture(scope="module")
def sentinel_url(servers: Servers) -> str:
    """A master, a replica and one Sentinel watching them as ``mymaster``."""
    master, replica, sentinel = _free_ports(3)
    servers.start("master", "--port", str(master), *_NO_PERSISTENCE)
    servers.start(
        "replica",
        "--port",
        str(replica),
        "--replicaof",
        "127.0.0.1",
        str(master),
        *_NO_PERSISTENCE,
    )
    conf = servers.directory / "sentinel.conf"
    conf.write_text(
        f"port {sentinel}\nbind 127.0.0.1\ndir {servers.directory}\n"
        f"sentinel monitor mymaster 127.0.0.1 {master} 1\n"
        "sentinel down-after-milliseconds mymaster 1000\n"
        "sentinel failover-timeout mymaster 3000\n"
    )
    servers.start("sentinel", str(conf), "--sentinel")
    _wait(
        lambda: SyncRedis(port=replica).info("replication")["master_link_status"] == "up",
        "the replica",
    )
    _wait(
        lambda: SyncRedis(port=sentinel).sentinel_get_master_addr_by_name("mymaster"),
        "the sentinel",
    )
    _wait(lambda: SyncRedis(port=sentinel).sentinel_slaves("mymaster"), "the sentinel's replica")
    return f"redis+sentinel://127.0.0.1:{sentinel}/mymaster/0?prefix=t{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def cluster_url(servers: Servers) -> str:
    """Three masters, no replicas, every slot covered."""
    assert CLI is not None
    ports = _free_ports(3)
    for port in ports:
        servers.start(
            f"node-{port}",
            "--port",
            str(port),
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            f"nodes-{port}.conf",
            *_NO_PERSISTENCE,
        )
    for port in ports:
        _wait(lambda port=port: SyncRedis(port=port).ping(), f"node {port}")
    subprocess.run(
        [
            CLI,
            "--cluster",
            "create",
            *(f"127.0.0.1:{p}" for p in ports),
            "--cluster-replicas",
            "0",
            "--cluster-yes",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    for port in ports:
        _wait(
            lambda port=port: SyncRedis(port=port).cluster("info")["cluster_state"] == "ok",
            f"cluster state on {port}",
        )
    hosts = ",".join(f"127.0.0.1:{p}" for p in ports)
    return f"redis+cluster://{hosts}?prefix=t{uuid.uuid4().hex[:8]}"


async def _exercise(url: str) -> None:
    """Every adapter once, through ``url``."""
    cache, lock, limiter = RedisCache(url), RedisLock(url), RedisRateLimiter(url, fail_open=False)
    queue, other = RedisQueue(url, visibility_timeout=0.3), RedisQueue(url, visibility_timeout=0.3)
    broadcast = RedisBroadcast(url)
    try:
        for index in range(20):  # keys spread over the slots
            await cache.set(f"k{index}", b"v%d" % index)
        assert [await cache.get(f"k{index}") for index in range(20)] == [
            b"v%d" % index for index in range(20)
        ]
        token = await lock.acquire("n", ttl=5)
        assert token is not None
        assert await lock.acquire("n", ttl=5) is None
        assert await lock.release("n", token)
        assert [(await limiter.hit("r", limit=2, period=60)).allowed for _ in range(3)] == [
            True,
            True,
            False,
        ]
        job_ids = [uuid.uuid4() for _ in range(5)]
        for job_id in job_ids:
            await queue.enqueue(job_id)
        await queue.enqueue(job_ids[0])  # one copy
        await queue.enqueue(uuid.uuid4(), delay=0.2)
        stalled = await queue.receive(timeout=1)
        assert stalled is not None
        seen: list[Any] = []
        while len(seen) < 6:
            delivery = await other.receive(timeout=2)
            assert delivery is not None
            seen.append(delivery)
            await other.ack(delivery)
        assert stalled.job_id in {d.job_id for d in seen if d.attempt == 2}
        assert await other.receive(timeout=0.4) is None
        received: asyncio.Queue[uuid.UUID] = asyncio.Queue()

        async def listen() -> None:
            async for subject in broadcast.listen():
                await received.put(subject)

        listener = asyncio.create_task(listen())
        await asyncio.sleep(0.2)
        subject = uuid.uuid4()
        await RedisBroadcast(url).publish(subject)
        assert await asyncio.wait_for(received.get(), 2) == subject
        listener.cancel()
    finally:
        for adapter in (cache, lock, limiter, queue, other, broadcast):
            await adapter.aclose()


async def test_sentinel(sentinel_url: str) -> None:
    await _exercise(sentinel_url)


async def test_cluster(cluster_url: str) -> None:
    await _exercise(cluster_url)


async def test_sentinel_failover_loses_no_acknowledged_enqueue(sentinel_url: str) -> None:
    url = sentinel_url.replace("prefix=t", "prefix=f")
    queue = RedisQueue(url, visibility_timeout=5)
    sentinel_port = int(url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
    sentinel = SyncRedis(port=sentinel_port)
    try:
        before = [uuid.uuid4() for _ in range(10)]
        for job_id in before:
            await queue.enqueue(job_id)
        old_master = sentinel.sentinel_get_master_addr_by_name("mymaster")
        # Let the replica catch up, as WAIT would; then fail over.
        await asyncio.sleep(0.5)
        sentinel.execute_command("SENTINEL", "FAILOVER", "mymaster")  # type: ignore[no-untyped-call]
        _wait(
            lambda: sentinel.sentinel_get_master_addr_by_name("mymaster") != old_master,
            "the failover",
        )
        new_master = sentinel.sentinel_get_master_addr_by_name("mymaster")
        print(f"failover: master {old_master} -> {new_master}")
        errors = 0
        after = [uuid.uuid4() for _ in range(10)]
        for job_id in after:
            for _ in range(50):  # what the reconciler does, in short: enqueue until accepted
                try:
                    await queue.enqueue(job_id)
                    break
                except TransientError:
                    errors += 1
                    await asyncio.sleep(0.1)
        got = set()
        while True:
            delivery = await queue.receive(timeout=0.5)
            if delivery is None:
                break
            got.add(delivery.job_id)
            await queue.ack(delivery)
        print(f"failover: {errors} transient error(s), {len(got)} of 20 ids received")
        assert got == set(before) | set(after)
    finally:
        await queue.aclose()
        sentinel.close()
