"""Real worker processes for the fault tests: ``ghostart worker`` on Redis and PostgreSQL.

A :class:`Fleet` holds one deployment's settings (a PostgreSQL database of the test's own, a
Redis key prefix or server of its own, test-short leases) and starts worker processes on them:
the real ``ghostart worker`` command, or the same command with the test's fault generator
(:mod:`tests.adapters.redis.faultgen`). The test process plays the API: it builds the app from
the same settings and requests drafts. :class:`Ledger` reads the shared database behind
everyone's back, to count what happened.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from redis import Redis as SyncRedis
from redis.exceptions import RedisError

from ghostart.app import Ghostart
from ghostart.models import ContentRequest, Generation, JobKind, Post, PostStatus, Principal
from ghostart.plugins import PluginManager
from ghostart.services.generation import fingerprint
from ghostart.settings import Settings, load_settings
from ghostart.testing import services
from ghostart_redis.queue import RedisQueue
from ghostart_redis.testing import closed_port, with_options
from tests.adapters.redis import faultgen

ROOT = Path(__file__).resolve().parents[3]
_KIND = JobKind.GENERATE.value  #: the jobs the tests request and count


class WorkerProcess:
    """One ``ghostart worker`` process; its output goes to a file (a pipe could fill and block)."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.popen = subprocess.Popen(
                args, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
            )
        self.pid = self.popen.pid

    @property
    def owner_pattern(self) -> str:
        """A LIKE pattern for the job leases and queue consumers of this process."""
        return f"%:{self.pid}:%"

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def ready(self) -> bool:
        """Whether the worker has said it runs (settings loaded, adapters open)."""
        return " running; stop with" in self.output()

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait until the worker runs."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ready():
                return
            if not self.alive():
                raise AssertionError(f"worker {self.pid} exited early:\n{self.output()}")
            time.sleep(0.05)
        raise AssertionError(f"worker {self.pid} not ready in {timeout} s:\n{self.output()}")

    def signal(self, sig: signal.Signals) -> None:
        if self.alive():
            self.popen.send_signal(sig)

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout=timeout)


@dataclass
class Fleet:
    """One deployment's settings and its worker processes."""

    database_url: str
    redis_url: str  #: with the test's key prefix
    home: Path
    lease: float = 1.0
    reconcile: float = 0.5
    grace: float = 1.0
    generator: str = "offline"
    max_attempts: int = 5
    queue_options: dict[str, str] = field(default_factory=dict)
    workers: list[WorkerProcess] = field(default_factory=list)
    secret_keys: str = field(
        default_factory=lambda: f"k1:{base64.urlsafe_b64encode(os.urandom(32)).decode()}"
    )

    @property
    def queue_url(self) -> str:
        return with_options(self.redis_url, **self.queue_options)

    def values(self) -> dict[str, Any]:
        """The settings every process of the deployment shares."""
        return {
            "home": self.home,
            "database_url": self.database_url,
            "secret_keys": self.secret_keys,
            "cache_url": self.redis_url,
            "lock_url": self.redis_url,
            "queue_url": self.queue_url,
            "broadcast_url": self.redis_url,
            "rate_limit_url": "memory://",
            "generator": self.generator,
            "plugins_allow": "redis,postgres",  # plugins in the making elsewhere play no part
            "job_lease_seconds": self.lease,
            "job_max_attempts": self.max_attempts,
            "reconcile_interval_seconds": self.reconcile,
            "shutdown_grace_seconds": self.grace,
            "generation_rate_limit": 100_000,
        }

    def settings(self, **overrides: Any) -> Settings:
        """Settings for an app in the test process (the API)."""
        known = set(Settings.model_fields)
        values = {k: v for k, v in (self.values() | overrides).items() if k in known}
        return load_settings(default_monthly_generations=None, **values)

    def api(self, **overrides: Any) -> Ghostart:
        """The app of the test process (the API), with the fault generator installed."""
        settings = self.settings()
        plugins = PluginManager(allow=settings.plugins_allow, block=settings.plugins_block)
        plugins.register(faultgen, name="faultgen")
        return Ghostart.from_settings(settings, plugins=plugins, **overrides)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GHOSTART_")}
        env.update({f"GHOSTART_{k.upper()}": str(v) for k, v in self.values().items()})
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        return env

    def spawn(self, *, concurrency: int = 4, faults: bool = False) -> WorkerProcess:
        """Start a worker process: ``ghostart worker``, with the fault generator if ``faults``."""
        module = "tests.adapters.redis.faultgen" if faults else "ghostart"
        args = [sys.executable, "-m", module, "worker", "--concurrency", str(concurrency)]
        log = self.home / f"worker-{len(self.workers)}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        worker = WorkerProcess(args, self.env(), log)
        self.workers.append(worker)
        return worker

    def stop(self) -> None:
        """SIGTERM every live worker, then SIGKILL what has not stopped."""
        for worker in self.workers:
            worker.signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.wait(timeout=self.grace + 10)
            except subprocess.TimeoutExpired:
                worker.signal(signal.SIGKILL)
                worker.wait(timeout=10)


@dataclass(frozen=True)
class Counts:
    """What the shared database holds: rows by status, and the effect rows."""

    jobs: Counter[str]
    generations: Counter[str]
    posts: Counter[str]
    usage: int  #: usage records: one per succeeded generation, written with its result

    def __str__(self) -> str:
        return (
            f"jobs {dict(self.jobs)}, generations {dict(self.generations)}, "
            f"posts {dict(self.posts)}, usage records {self.usage}"
        )


class Ledger:
    """Reads the shared database (as its owner: row-level security does not hide rows).

    Jobs are counted for the kind the tests request, ``generate``: a finished draft may queue
    jobs of its own (the author's "draft ready" email), which are the app's traffic, not the
    tests' subject. Leases (:meth:`leased_by`, :meth:`moved_on`) are of every kind.
    """

    def __init__(self, database_url: str) -> None:
        self.engine = sa.create_engine(database_url, pool_size=2)

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params))

    def counts(self) -> Counts:
        def by_status(table: str) -> Counter[str]:
            where = f" WHERE kind = '{_KIND}'" if table == "jobs" else ""
            rows = self.rows(f"SELECT status, count(*) FROM {table}{where} GROUP BY status")
            return Counter({str(row[0]): int(row[1]) for row in rows})

        usage = self.rows("SELECT count(*) FROM usage_records")[0][0]
        return Counts(by_status("jobs"), by_status("generations"), by_status("posts"), int(usage))

    def done(self) -> int:
        """Generate jobs done."""
        sql = "SELECT count(*) FROM jobs WHERE status = 'done' AND kind = :k"
        return int(self.rows(sql, k=_KIND)[0][0])

    def jobs(self) -> dict[UUID, sa.Row[Any]]:
        rows = self.rows(
            "SELECT id, status, attempts, lease_owner, lease_until FROM jobs WHERE kind = :k",
            k=_KIND,
        )
        return {row.id: row for row in rows}

    def leased_by(self, worker: WorkerProcess) -> set[UUID]:
        """The jobs ``worker`` holds running."""
        rows = self.rows(
            "SELECT id FROM jobs WHERE status = 'running' AND lease_owner LIKE :p",
            p=worker.owner_pattern,
        )
        return {row.id for row in rows}

    def moved_on(self, job_ids: Iterable[UUID], worker: WorkerProcess) -> set[UUID]:
        """Of ``job_ids``, those claimed by another worker, or finished."""
        ids = list(job_ids)
        if not ids:
            return set()
        rows = self.rows(
            "SELECT id FROM jobs WHERE id = ANY(:ids) AND (status IN ('done', 'failed') "
            "OR (status = 'running' AND lease_owner NOT LIKE :p))",
            ids=ids,
            p=worker.owner_pattern,
        )
        return {row.id for row in rows}

    def close(self) -> None:
        self.engine.dispose()


class QueueView:
    """The queue's stream and consumer group, read with a plain client."""

    def __init__(self, fleet: Fleet) -> None:
        self.stream = RedisQueue(fleet.queue_url).keys[0]
        self.client = SyncRedis.from_url(fleet.redis_url.partition("?")[0])

    def group(self) -> str:
        (group,) = self.client.xinfo_groups(self.stream)
        return str(group["name"].decode())

    def consumer(self, worker: WorkerProcess) -> str:
        """The consumer name of ``worker``'s queue (it holds the process id)."""
        marker = f":{worker.pid}:"
        names = [c["name"].decode() for c in self.client.xinfo_consumers(self.stream, self.group())]
        matching = [name for name in names if marker in name]
        return matching[0] if matching else f"(none for {worker.pid})"

    def pending(self, consumer: str) -> set[str]:
        """Deliveries ``consumer`` holds."""
        rows: Any = self.client.xpending_range(
            self.stream, self.group(), min="-", max="+", count=10_000, consumername=consumer
        )
        return {row["message_id"].decode() for row in rows}

    def holders(self) -> dict[UUID, list[tuple[str, int]]]:
        """Every job with a delivery out: the consumers holding one, and its delivery count."""
        rows: Any = self.client.xpending_range(self.stream, self.group(), "-", "+", 10_000)
        pipe = self.client.pipeline(transaction=False)
        for row in rows:
            pipe.xrange(self.stream, row["message_id"], row["message_id"])
        held: dict[UUID, list[tuple[str, int]]] = {}
        for row, entries in zip(rows, pipe.execute(), strict=True):
            for _, fields in entries:
                job_id = UUID(fields[b"j"].decode())
                out = (row["consumer"].decode(), int(row["times_delivered"]))
                held.setdefault(job_id, []).append(out)
        return held

    def ready(self) -> set[UUID]:
        """Jobs with an entry waiting in the stream: not delivered yet (not pending)."""
        out = {
            row["message_id"]
            for row in self.client.xpending_range(self.stream, self.group(), "-", "+", 10_000)
        }
        entries: Any = self.client.xrange(self.stream)
        return {UUID(fields[b"j"].decode()) for entry, fields in entries if entry not in out}

    def close(self) -> None:
        self.client.close()


async def author(app: Ghostart) -> Principal:
    """An organization with a brand voice; its admin."""
    user = await app.organizations.ensure_user("ada@example.com")
    _, admin = await app.organizations.create(user.id, "Acme")
    await app.brand_voices.create(admin, {"name": "House", "topics": ["engineering culture"]})
    return admin


async def request_drafts(
    app: Ghostart, principal: Principal, topics: list[str], *, concurrency: int = 16
) -> list[Post]:
    """Request one draft per topic, ``concurrency`` at a time, as API requests would."""
    slots = asyncio.Semaphore(concurrency)

    async def one(topic: str) -> Post:
        async with slots:
            return await app.generation.request(principal, {"topic": topic})

    return list(await asyncio.gather(*(one(topic) for topic in topics)))


async def write_requests(
    app: Ghostart, principal: Principal, topics: list[str], *, enqueue: bool = True
) -> list[UUID]:
    """Write the rows ``GenerationService.request`` writes, in bulk, and enqueue the jobs.

    One generation, its job (the outbox row) and its post per topic, committed 100 topics to a
    transaction, each job enqueued after its commit: what 1,000 requests leave behind, in a
    fraction of the time 1,000 requests take. Returns the job ids.
    """
    ctx = app.context
    job_ids: list[UUID] = []
    for start in range(0, len(topics), 100):
        jobs = []
        async with ctx.store.unit_of_work(principal) as uow:
            (voice,) = await uow.brand_voices.list(principal.organization_id, limit=1)
            for topic in topics[start : start + 100]:
                request = ContentRequest.parse({"topic": topic})
                now = ctx.clock.now()
                generation, created = await uow.generations.add_or_join(
                    Generation(
                        organization_id=principal.organization_id,
                        fingerprint=fingerprint(
                            principal.organization_id, voice, ctx.generator.model, request
                        ),
                        brand_voice_id=voice.id,
                        brand_voice_version=voice.version,
                        request=request,
                        model=ctx.generator.model,
                        created_at=now,
                    )
                )
                assert created, f"topic {topic!r} is not distinct"
                job = ctx.new_job(
                    JobKind.GENERATE,
                    organization_id=principal.organization_id,
                    subject_id=generation.id,
                    idempotency_key=f"generate:{generation.id}",
                )
                await uow.jobs.add(job)
                await uow.posts.add(
                    Post(
                        organization_id=principal.organization_id,
                        author_id=principal.user_id,
                        brand_voice_id=voice.id,
                        generation_id=generation.id,
                        request=request,
                        status=PostStatus.REQUESTED,
                        created_at=now,
                        updated_at=now,
                    )
                )
                jobs.append(job.id)
        if enqueue:
            await asyncio.gather(*(ctx.queue.enqueue(job_id) for job_id in jobs))
        job_ids += jobs
    return job_ids


def wait_until(predicate: Any, timeout: float, what: str, *, every: float = 0.1) -> float:
    """Poll ``predicate`` until true; the seconds it took. Fails after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


async def await_until(predicate: Any, timeout: float, what: str, *, every: float = 0.1) -> float:
    """:func:`wait_until` without blocking the event loop."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        await asyncio.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def topics(n: int, stem: str = "Fault-tolerant delivery, lesson") -> list[str]:
    """``n`` distinct topics (distinct requests: no single flight between them)."""
    return [f"{stem} {i}" for i in range(n)]


class RedisServer:
    """A ``redis-server`` of the test's own, which it may stop, restart and wipe.

    Nothing is persisted (``--save '' --appendonly no``): a restart comes back empty, as a
    cache-only Redis or a failover to an empty replica would.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = closed_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server (on the same port every time) and wait until it answers."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._popen = subprocess.Popen(
            [
                "redis-server",
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = SyncRedis.from_url(self.url, socket_connect_timeout=0.2)
        try:
            wait_until(lambda: _answers(client), 10, f"redis-server on port {self.port}")
        finally:
            client.close()

    def stop(self) -> None:
        """Stop the server (its data goes with it)."""
        if self._popen is not None:
            self._popen.kill()
            self._popen.wait(timeout=10)
            self._popen = None

    def flushall(self) -> None:
        """Wipe everything (this server is the test's alone)."""
        client = SyncRedis.from_url(self.url)
        try:
            client.flushall()
        finally:
            client.close()


def _answers(client: SyncRedis) -> bool:
    try:
        return bool(client.ping())
    except RedisError:
        return False


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A running ``redis-server`` of this test's own (skipped without the binary)."""
    if shutil.which("redis-server") is None:
        reason = "redis-server is not on PATH; install it to run this test"
        if services.required():
            pytest.fail(f"{reason} (GHOSTART_REQUIRE_SERVICES=1: services are required)")
        pytest.skip(reason)
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def ledger(postgres_url: str) -> Iterator[Ledger]:
    """Reads the test's PostgreSQL database."""
    instance = Ledger(postgres_url)
    yield instance
    instance.close()


@pytest.fixture
def make_fleet(postgres_url: str, url: str, tmp_path: Path) -> Iterator[Callable[..., Fleet]]:
    """Fleets on the test's database and Redis prefix (or another Redis URL); stopped after."""
    made: list[Fleet] = []

    def make(**kwargs: Any) -> Fleet:
        kwargs.setdefault("redis_url", url)
        fleet = Fleet(database_url=postgres_url, home=tmp_path / f"home{len(made)}", **kwargs)
        made.append(fleet)
        return fleet

    yield make
    for fleet in made:
        fleet.stop()
