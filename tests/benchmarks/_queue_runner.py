"""One queue library's round of no-op jobs, in a process of its own; prints one JSON line.

``python _queue_runner.py LIBRARY --url redis://127.0.0.1:6379/0 --jobs N --concurrency C
--name UNIQUE`` runs, for LIBRARY in ``ghostart``, ``arq``, ``saq``, ``taskiq``:

1. a warm-up round (connections, scripts, imports), then the measured round:
2. enqueue N no-op jobs, one call per job as an application enqueues them, from C producers at
   once; then
3. start the library's own worker, C jobs at a time, and wait until it has finished all N
   (counted at the library's own completion step: ghostart's ack, arq's ``after_job_end``,
   SAQ's ``after_process``, taskiq's receiver callback, which acks last); then stop it.

It imports nothing of the test suite (it runs in each library's own virtualenv: arq, SAQ and
taskiq-redis pin redis-py versions that can not share one environment), and deletes only the
keys of its own ``--name`` (never ``FLUSHDB``: the server is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import json
import logging
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

#: Jobs of the warm-up round.
WARMUP = 500
#: Seconds a library's worker gets to stop after a round (its time is taken before).
STOP_GRACE = 5.0


@dataclass
class Round:
    """One measured round."""

    jobs: int
    enqueue_seconds: float
    process_seconds: float
    cpu_seconds: float


@dataclass
class Report:
    """What the runner prints, as JSON."""

    library: str
    version: str
    redis_py: str
    hiredis: bool
    config: str
    round: Round


async def _produce(jobs: int, producers: int, enqueue: Callable[[int], Awaitable[Any]]) -> None:
    """Enqueue ``jobs`` jobs from ``producers`` concurrent tasks, one awaited call per job."""

    async def producer(first: int) -> None:
        for i in range(first, jobs, producers):
            await enqueue(i)

    await asyncio.gather(*(producer(p) for p in range(producers)))


#: How many times the no-op job function ran, in this round (checked against the jobs).
RAN = [0]


async def _noop(*args: Any, **kwargs: Any) -> None:
    """The job: nothing but being counted."""
    RAN[0] += 1


class Finish:
    """Counts completions and fires when the expected number is reached."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.count = 0
        self.done = asyncio.Event()

    def tick(self) -> None:
        self.count += 1
        if self.count >= self.expected:
            self.done.set()


async def _timed(
    jobs: int,
    producers: int,
    enqueue: Callable[[int], Awaitable[Any]],
    start_worker: Callable[[Finish], Awaitable[Callable[[], Awaitable[None]]]],
    timeout: float,
) -> Round:
    """Enqueue, then process all; returns the timings. ``start_worker`` returns its stopper."""
    RAN[0] = 0
    cpu = time.process_time()
    started = time.perf_counter()
    await _produce(jobs, producers, enqueue)
    enqueued = time.perf_counter()
    finish = Finish(jobs)
    stop = await start_worker(finish)
    try:
        await asyncio.wait_for(finish.done.wait(), timeout)
    finally:
        processed = time.perf_counter()
        cpu = time.process_time() - cpu
        await stop()
    if finish.count != jobs or RAN[0] != jobs:
        raise RuntimeError(f"{jobs} jobs: {RAN[0]} ran, {finish.count} finished")
    return Round(jobs, enqueued - started, processed - enqueued, cpu)


async def _delete_keys(url: str, pattern: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=pattern, count=1000)]
        for i in range(0, len(keys), 1000):
            await client.delete(*keys[i : i + 1000])
    finally:
        await client.aclose()


# -- ghostart -------------------------------------------------------------------------------


async def run_ghostart(args: argparse.Namespace) -> tuple[str, list[Round]]:
    """ghostart's RedisQueue, consumed by ghostart's own Worker loop (receive, run, ack)."""
    from ghostart.ports import Delivery
    from ghostart.settings import load_settings
    from ghostart.worker import Worker
    from ghostart_redis import RedisQueue

    url = f"{args.url}{'&' if '?' in args.url else '?'}prefix={args.name}"
    settings = load_settings(worker_concurrency=args.concurrency)

    class NoOpWorker(Worker):
        """The Worker's own receive loop and slots; each delivery runs a no-op, then is acked.

        What is left out is the job row (claim in the store, handler): the queue is measured,
        as the other libraries' are, without a database behind it.
        """

        finish: Finish

        async def _process(self, delivery: Delivery) -> None:
            # As the worker does per job: a heartbeat timer armed, the job run, the timer
            # cancelled, then the ack.
            loop = asyncio.get_running_loop()
            timer = loop.call_later(self.lease / 3, lambda: None)
            try:
                await _noop()
            finally:
                timer.cancel()
            await self.ctx.queue.ack(delivery)
            self.processed += 1
            self.finish.tick()

        async def reconcile_once(self, *, limit: int = 500) -> int:
            return 0  # no store here: nothing to reconcile

    rounds = []
    for jobs in (WARMUP, args.jobs):
        producer_queue = RedisQueue(url, name="bench")
        worker_queue = RedisQueue(url, name="bench")
        await producer_queue.open()
        await worker_queue.open()
        ids = [uuid.uuid4() for _ in range(jobs)]

        async def enqueue(
            i: int, q: RedisQueue = producer_queue, ids: list[uuid.UUID] = ids
        ) -> None:
            await q.enqueue(ids[i])

        async def start(
            finish: Finish, q: RedisQueue = worker_queue
        ) -> Callable[[], Awaitable[None]]:
            ctx: Any = _Context(settings=settings, queue=q, monitor=_NullMonitor())
            worker = NoOpWorker(ctx, {}, concurrency=args.concurrency)
            worker.finish = finish
            task = asyncio.create_task(worker.run())

            async def stop() -> None:
                worker.stop()
                await task

            return stop

        rounds.append(await _timed(jobs, args.producers, enqueue, start, args.timeout))
        size = await worker_queue.size()
        if tuple(size) != (0, 0, 0):
            raise RuntimeError(f"ghostart queue not empty after the round: {size}")
        await producer_queue.aclose()
        await worker_queue.aclose()
    return "RedisQueue + Worker receive loop", rounds


@dataclass
class _Context:
    settings: Any
    queue: Any
    monitor: Any


class _NullMonitor:
    def capture_exception(self, exc: BaseException, **context: Any) -> None:
        print(f"error: {exc!r} {context}", file=sys.stderr)

    def incr(self, metric: str, value: float = 1, **tags: str) -> None:
        pass

    def observe(self, metric: str, value: float, **tags: str) -> None:
        pass


# -- arq ------------------------------------------------------------------------------------


async def run_arq(args: argparse.Namespace) -> tuple[str, list[Round]]:
    """arq's ``ArqRedis.enqueue_job`` and its ``Worker`` (``max_jobs`` = concurrency)."""
    from arq import create_pool
    from arq.connections import RedisSettings
    from arq.worker import Worker, func

    settings = RedisSettings.from_dsn(args.url)
    queue_name = f"{args.name}:queue"
    pool = await create_pool(settings, default_queue_name=queue_name)

    async def noop(ctx: dict[str, Any]) -> None:
        await _noop()

    rounds = []
    for number, jobs in enumerate((WARMUP, args.jobs)):

        async def enqueue(i: int, number: int = number) -> None:
            job = await pool.enqueue_job("noop", _job_id=f"{args.name}-{number}-{i}")
            assert job is not None

        async def start(finish: Finish) -> Callable[[], Awaitable[None]]:
            async def after_job_end(ctx: dict[str, Any]) -> None:
                finish.tick()

            worker = Worker(
                functions=[func(noop, name="noop")],  # type: ignore[arg-type]
                queue_name=queue_name,
                redis_pool=pool,
                max_jobs=args.concurrency,
                poll_delay=args.arq_poll_delay,
                handle_signals=False,
                after_job_end=after_job_end,
            )
            task = asyncio.create_task(worker.async_run())

            async def stop() -> None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                await asyncio.gather(*worker.tasks.values(), return_exceptions=True)

            return stop

        rounds.append(await _timed(jobs, args.producers, enqueue, start, args.timeout))
    await pool.aclose()
    return f"Worker(max_jobs={args.concurrency}, poll_delay={args.arq_poll_delay})", rounds


# -- SAQ ------------------------------------------------------------------------------------


async def run_saq(args: argparse.Namespace) -> tuple[str, list[Round]]:
    """SAQ's Redis queue: ``Queue.enqueue`` and its ``Worker`` (``concurrency``)."""
    from saq import Queue, Worker

    queue = Queue.from_url(args.url, name=args.name)
    await queue.connect()

    async def noop(ctx: dict[str, Any]) -> None:
        await _noop()

    rounds = []
    for jobs in (WARMUP, args.jobs):

        async def enqueue(i: int) -> None:
            job = await queue.enqueue("noop")
            assert job is not None

        async def start(finish: Finish) -> Callable[[], Awaitable[None]]:
            async def after_process(ctx: dict[str, Any]) -> None:
                finish.tick()

            worker = Worker(
                queue,
                functions=[("noop", noop)],
                concurrency=args.concurrency,
                after_process=after_process,
            )
            task = asyncio.create_task(worker.start())

            async def stop() -> None:
                await worker.stop()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

            return stop

        rounds.append(await _timed(jobs, args.producers, enqueue, start, args.timeout))
    await queue.disconnect()
    return f"RedisQueue, Worker(concurrency={args.concurrency})", rounds


# -- taskiq-redis ---------------------------------------------------------------------------


async def run_taskiq(args: argparse.Namespace) -> tuple[str, list[Round]]:
    """taskiq-redis's ``RedisStreamBroker`` (consumer group, acks) and taskiq's receiver.

    Seen here with taskiq-redis 1.2.4 on redis-py 8.2 (with hiredis or without): now and then,
    as the receiver stops, its blocking XREADGROUP (BLOCK 2 s, no socket timeout) never
    returns, and neither the receiver nor the broker's connection pool recovers. Each round
    therefore gets a broker of its own, the receiver gets ``STOP_GRACE`` seconds to stop once
    the round's time is taken, and ``main`` ends the process without waiting for stuck tasks.
    """
    from taskiq.receiver import Receiver
    from taskiq_redis import RedisStreamBroker

    async def one_round(jobs: int, number: int) -> Round:
        name = f"{args.name}-{number}"
        broker = RedisStreamBroker(args.url, queue_name=name, consumer_group_name=f"{name}:group")
        broker.is_worker_process = True  # as taskiq's worker sets it

        @broker.task(task_name="noop")
        async def noop() -> None:
            await _noop()

        await broker.startup()

        async def enqueue(i: int) -> None:
            await noop.kiq()

        async def start(finish: Finish) -> Callable[[], Awaitable[None]]:
            class CountingReceiver(Receiver):
                async def callback(self, message: Any, raise_err: bool = False) -> None:
                    await super().callback(message, raise_err)  # runs, then acks
                    finish.tick()

            receiver = CountingReceiver(broker, max_async_tasks=args.concurrency, run_startup=False)
            stopping = asyncio.Event()
            task = asyncio.create_task(receiver.listen(stopping))

            async def stop() -> None:
                stopping.set()  # as taskiq's worker stops: no new deliveries, running ones end
                try:
                    await asyncio.wait_for(asyncio.shield(task), STOP_GRACE)
                except TimeoutError:
                    print(f"taskiq: the receiver did not stop in {STOP_GRACE} s", file=sys.stderr)
                    task.cancel()

            return stop

        measured = await _timed(jobs, args.producers, enqueue, start, args.timeout)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(broker.shutdown(), STOP_GRACE)
        return measured

    rounds = [await one_round(jobs, n) for n, jobs in enumerate((WARMUP, args.jobs))]
    return f"RedisStreamBroker, Receiver(max_async_tasks={args.concurrency})", rounds


RUNNERS = {"ghostart": run_ghostart, "arq": run_arq, "saq": run_saq, "taskiq": run_taskiq}
DISTRIBUTIONS = {
    "ghostart": "ghostart-redis",
    "arq": "arq",
    "saq": "saq",
    "taskiq": "taskiq-redis",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("library", choices=sorted(RUNNERS))
    parser.add_argument("--url", required=True)
    parser.add_argument("--jobs", type=int, required=True)
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--producers", type=int, help="default: the concurrency")
    parser.add_argument("--name", required=True)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--arq-poll-delay", type=float, default=0.5)
    args = parser.parse_args()
    args.producers = args.producers or args.concurrency
    logging.basicConfig(level=logging.WARNING)
    # Not asyncio.run: it would wait for every task to end, and a library may leave one stuck
    # (see run_taskiq). The process ends below without waiting for them.
    loop = asyncio.new_event_loop()
    try:
        config, rounds = loop.run_until_complete(RUNNERS[args.library](args))
    finally:
        # Every key of every library here holds the run's unique name.
        asyncio.run(_delete_keys(args.url, f"*{args.name}*"))
    try:
        import redis.utils

        hiredis = bool(redis.utils.HIREDIS_AVAILABLE)
    except ImportError:
        hiredis = False
    report = Report(
        library=args.library,
        version=importlib.metadata.version(DISTRIBUTIONS[args.library]),
        redis_py=importlib.metadata.version("redis"),
        hiredis=hiredis,
        config=config,
        round=rounds[-1],
    )
    print(json.dumps(asdict(report)), flush=True)
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
