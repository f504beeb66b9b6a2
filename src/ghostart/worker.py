"""The worker: takes job ids from the queue, claims their rows, runs handlers; and the reconciler.

- Claiming is a compare-and-set on the job row, so a second delivery of an id finds the job done
  (or running elsewhere) and is acked.
- While a job runs, its lease is renewed (store and queue) every third of the lease.
- The reconciler re-queues jobs that are due but not in flight: never enqueued, lost with a
  process, or leased by a worker that died. Losing the queue loses latency, not work.
- ``stop()`` (SIGTERM) stops taking jobs, lets running ones finish for a grace period, then
  releases the rest back to the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from ghostart.errors import GhostartError, TransientError
from ghostart.models import Job, JobKind, JobStatus
from ghostart.observability.metrics import job_run
from ghostart.ports import BatchQueue, Delivery
from ghostart.services.context import ServiceContext
from ghostart.services.jobs import JobHandler, LeaseLost

__all__ = ["Worker"]

log = logging.getLogger("ghostart.worker")


def _internal_error(exc: BaseException) -> str:
    """The job row's record of ``exc``, for operators: type and text, bounded, no NUL."""
    return f"{type(exc).__name__}: {exc}"[:2000].replace("\x00", "\ufffd")


def _public_error(exc: BaseException) -> str:
    """What the people waiting on the job are told (it lands on the post).

    Our own errors carry a message written for them; anything else may hold internals (paths,
    SQL, addresses), so they get a plain sentence and the details go to the Monitor and the log.
    """
    if isinstance(exc, GhostartError):
        return exc.message[:2000].replace("\x00", "\ufffd")
    return "an internal error stopped this job; it has been reported"


def _retryable(exc: BaseException) -> bool:
    # Our own domain and provider errors say whether to retry; an unexpected error (a dropped
    # database connection, a bug fixed by a deploy) is retried too, up to max_attempts.
    return isinstance(exc, TransientError) or not isinstance(exc, GhostartError)


class Worker:
    """Runs jobs with bounded concurrency."""

    def __init__(
        self,
        ctx: ServiceContext,
        handlers: Mapping[JobKind, JobHandler],
        *,
        concurrency: int | None = None,
        name: str | None = None,
        requeue_after: float | None = None,
        periodic: Sequence[Callable[[], Awaitable[object]]] = (),
    ) -> None:
        settings = ctx.settings
        self.ctx = ctx
        self.handlers = handlers
        self.concurrency = concurrency or settings.worker_concurrency
        self.lease = settings.job_lease_seconds
        self.reconcile_interval = settings.reconcile_interval_seconds
        self.grace = settings.shutdown_grace_seconds
        #: A queued job enqueued longer ago than this is presumed lost and enqueued again. With a
        #: shared queue that is one lease; with an in-process queue other processes' enqueues never
        #: arrive here, so it is one reconcile interval (the queue drops ids already waiting).
        self.requeue_after = self.lease if requeue_after is None else requeue_after
        self.owner = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stopping = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()
        self._receivers: list[asyncio.Task[None]] = []
        self.processed = 0
        #: Called on every reconcile tick (the email scheduler and sender, the publisher's
        #: ``maintain()``); each throttles itself.
        self.periodic = tuple(periodic)

    def stop(self) -> None:
        """Stop taking new jobs; ``run`` returns once in-flight jobs finish or are released."""
        self._stopping.set()
        for receiver in self._receivers:
            receiver.cancel()

    @property
    def in_flight(self) -> int:
        """Jobs running now."""
        return len(self._running)

    async def run(self) -> None:
        """Consume and reconcile until :meth:`stop`."""
        log.info("worker %s started (concurrency %d)", self.owner, self.concurrency)
        reconciler = asyncio.create_task(self._reconcile_loop(), name="ghostart-reconciler")
        try:
            await self._consume()
        finally:
            reconciler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reconciler
            await self._drain()
            log.info("worker %s stopped after %d jobs", self.owner, self.processed)

    async def _consume(self) -> None:
        # A few receivers in parallel, so that taking jobs off the queue never becomes the
        # bottleneck of a busy event loop; the semaphore bounds the jobs running at once. A
        # BatchQueue needs one: it takes every free slot's job in one call, and more receivers
        # would only split those calls.
        slots = asyncio.Semaphore(self.concurrency)
        receivers = 1 if isinstance(self.ctx.queue, BatchQueue) else min(self.concurrency, 4)
        self._receivers = [asyncio.create_task(self._receive_loop(slots)) for _ in range(receivers)]
        if self._stopping.is_set():
            self.stop()
        await asyncio.gather(*self._receivers, return_exceptions=True)

    async def _receive_loop(self, slots: asyncio.Semaphore) -> None:
        queue = self.ctx.queue
        many = queue.receive_many if isinstance(queue, BatchQueue) else None
        while not self._stopping.is_set():
            await slots.acquire()
            # With a BatchQueue, ask for as many ids as there are free slots now, in one call.
            taken = 1
            while many is not None and not slots.locked():
                await slots.acquire()  # free: returns at once
                taken += 1
            try:
                if many is not None:
                    deliveries = await many(taken, timeout=1.0)
                else:
                    delivery = await queue.receive(timeout=1.0)
                    deliveries = [] if delivery is None else [delivery]
            except asyncio.CancelledError:  # stop(): anything taken is redelivered later
                for _ in range(taken):
                    slots.release()
                raise
            except Exception as exc:
                for _ in range(taken):
                    slots.release()
                self.ctx.monitor.capture_exception(exc, operation="queue.receive")
                await asyncio.sleep(1.0)
                continue
            for _ in range(taken - len(deliveries)):
                slots.release()
            for delivery in deliveries:
                task = asyncio.create_task(self._process(delivery))
                self._running.add(task)
                task.add_done_callback(self._done_callback(slots))

    def _done_callback(self, slots: asyncio.Semaphore) -> Callable[[asyncio.Task[None]], None]:
        def done(task: asyncio.Task[None]) -> None:
            self._running.discard(task)
            slots.release()

        return done

    async def _drain(self) -> None:
        if not self._running:
            return
        _, pending = await asyncio.wait(set(self._running), timeout=self.grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)

    async def _claim(
        self, delivery: Delivery, now: datetime, *, begin: bool
    ) -> tuple[Job | None, Job | None, Any]:
        """Claim the job (and, with ``begin``, begin its handler) in one transaction.

        Returns (the claimed job, the job row if not claimed, what the handler's begin returned).
        """
        begun: Any = None
        async with self.ctx.store.unit_of_work() as uow:
            job = await uow.jobs.claim(
                delivery.job_id,
                owner=self.owner,
                now=now,
                lease_until=now + timedelta(seconds=self.lease),
            )
            if job is None:
                return None, await uow.jobs.get(delivery.job_id), None
            handler = self.handlers.get(job.kind)
            if begin and handler is not None and job.attempts <= job.max_attempts:
                begun = await handler.begin(uow, job, self.owner)
        return job, None, begun

    async def _take(
        self, delivery: Delivery, now: datetime
    ) -> tuple[Job | None, Job | None, Any, Exception | None] | None:
        """:meth:`_claim` with begin; also what begin raised. ``None``: the delivery was nacked."""
        try:
            return *await self._claim(delivery, now, begin=True), None
        except Exception as exc:
            # The claim and the handler's begin were rolled back together. Claim alone, so that
            # the attempt counts, and let the error fail (or retry) the job like any other.
            try:
                return *await self._claim(delivery, now, begin=False), exc
            except Exception as claim_exc:
                self.ctx.monitor.capture_exception(claim_exc, operation="jobs.claim")
                await self.ctx.queue.nack(delivery, delay=1.0)
                return None

    def _look_again(self, current: Job | None, since: datetime) -> float | None:
        """Seconds after which to claim ``current`` again, rather than give its delivery up.

        - Claimable when we tried (queued and due, or on an expired lease): another transaction
          held the row, which the claim skips (a claim, the holder renewing its lease, the
          reconciler). Dropping the delivery could leave the job with none: look again soon (0).
        - Leased, with less than half of the lease left: a live holder renews it every third,
          so this one missed a renewal. It died (or stalls): look again when the lease ends.
        """
        if current is None:
            return None
        if current.status is JobStatus.QUEUED:
            return 0.0 if current.run_at <= since else None
        if current.status is not JobStatus.RUNNING or current.lease_until is None:
            return None
        if current.lease_until < since:
            return 0.0
        left = (current.lease_until - self.ctx.clock.now()).total_seconds()
        return max(left, 0.0) + 0.01 if left <= self.lease / 2 else None

    async def _process(self, delivery: Delivery) -> None:
        ctx = self.ctx
        now = ctx.clock.now()
        taken = await self._take(delivery, now)
        if taken is None:
            return
        job, current, begun, began = taken
        # A dead worker's delivery reaches us a moment before its lease ends: the delivery's
        # visibility deadline passes first, since the claim (and each renewal) of the row comes
        # a moment after the delivery's. Keep the delivery and claim again as the lease ends:
        # giving it back with a delay would put the job behind every job waiting in the queue
        # (a backlog's whole length: 5 to 23 s in the SIGKILL test). A few times, within one
        # lease (the delivery stays ours that long), backing off while the row stays locked.
        waited = 0.0
        for tries in range(5):
            if job is not None or waited >= self.lease:
                break
            wait = self._look_again(current, now)
            if wait is None:
                break
            wait = max(wait, 0.05 * 2**tries)
            log.info("job %s: claiming it again in %.2f s", delivery.job_id, wait)
            await asyncio.sleep(wait)
            waited += wait
            before = current
            now = ctx.clock.now()
            taken = await self._take(delivery, now)
            if taken is None:
                return
            job, current, begun, began = taken
            if (
                job is None
                and current is not None
                and current.status is JobStatus.RUNNING
                and current.lease_owner != (before.lease_owner if before else None)
            ):  # another worker claimed it meanwhile: it holds a delivery of its own
                await ctx.queue.ack(delivery)
                return
        if job is None:
            if current is not None and current.status is JobStatus.QUEUED and current.run_at > now:
                await ctx.queue.nack(delivery, delay=(current.run_at - now).total_seconds())
            elif (
                current is not None
                and current.status is JobStatus.RUNNING
                and current.lease_until is not None
                and current.lease_until >= now
            ):
                # Leased elsewhere, to a holder that renews its lease (or renewed it while we
                # waited above). It may still die: look again when the lease ends, rather than
                # drop the delivery and leave the job to the reconciler.
                wait = (current.lease_until - now).total_seconds() + 0.05
                await ctx.queue.nack(delivery, delay=wait)
            else:  # done, cancelled or unknown
                await ctx.queue.ack(delivery)
            return

        handler = self.handlers.get(job.kind)
        if handler is None or job.attempts > job.max_attempts:
            reason = f"no handler for {job.kind}" if handler is None else "too many attempts"
            await self._fail(job, handler, reason)
            await ctx.queue.ack(delivery)
            return
        if began is None and begun is None:  # nothing to do: begin finished the job
            self.processed += 1
            await ctx.queue.ack(delivery)
            return

        this = asyncio.current_task()
        assert this is not None
        lease_lost = asyncio.Event()
        heartbeat: list[asyncio.Task[None]] = []
        # Most jobs end well within a third of the lease: a timer, not a task, until then.
        timer = asyncio.get_running_loop().call_later(
            self.lease / 3,
            lambda: heartbeat.append(
                asyncio.create_task(self._heartbeat(job, delivery, this, lease_lost))
            ),
        )
        try:
            if began is not None:
                raise began
            with job_run(ctx.monitor, job):  # ids in logs, a Sentry span, the job's duration
                await handler.handle(job, self.owner, begun)
            self.processed += 1
            ctx.monitor.incr("ghostart.jobs.done", kind=job.kind.value)
        except asyncio.CancelledError:
            # The heartbeat's own cancel (lease lost) is absorbed; a shutdown's is not.
            if lease_lost.is_set() and this.uncancel() == 0:
                log.warning("job %s stopped here: its lease passed to another worker", job.id)
            else:  # shutdown
                await asyncio.shield(self._release(job, delivery))
                raise
        except LeaseLost:
            log.info("job %s was taken over by another worker", job.id)
        except Exception as exc:
            await self._after_failure(job, handler, exc)
        finally:
            timer.cancel()
            for task in heartbeat:
                task.cancel()
        await ctx.queue.ack(delivery)

    async def _heartbeat(
        self, job: Job, delivery: Delivery, work: asyncio.Task[Any], lease_lost: asyncio.Event
    ) -> None:
        """Renew the lease now and every third of it; stop the work if it was taken over."""
        while True:
            until = self.ctx.clock.now() + timedelta(seconds=self.lease)
            try:
                async with self.ctx.store.unit_of_work() as uow:
                    still_ours = await uow.jobs.extend(job.id, owner=self.owner, lease_until=until)
                if not still_ours:
                    lease_lost.set()
                    work.cancel()
                    return
                await self.ctx.queue.extend(delivery, seconds=self.lease)
            except Exception as exc:
                self.ctx.monitor.capture_exception(exc, operation="jobs.extend")
            await asyncio.sleep(self.lease / 3)

    async def _release(self, job: Job, delivery: Delivery) -> None:
        """Give an unfinished job back (shutdown): queued again, due now."""
        now = self.ctx.clock.now()
        async with self.ctx.store.unit_of_work() as uow:
            await uow.jobs.finish(
                job.id, owner=self.owner, status=JobStatus.QUEUED, now=now, run_at=now
            )
        await self.ctx.queue.nack(delivery)
        log.info("released job %s on shutdown", job.id)

    async def _after_failure(self, job: Job, handler: JobHandler, exc: Exception) -> None:
        ctx = self.ctx
        error = _internal_error(exc)
        if _retryable(exc) and job.attempts < job.max_attempts:
            delay = ctx.retry.backoff(job.attempts, exc)
            now = ctx.clock.now()
            async with ctx.store.unit_of_work() as uow:
                await uow.jobs.finish(
                    job.id,
                    owner=self.owner,
                    status=JobStatus.QUEUED,
                    now=now,
                    error=error,
                    run_at=now + timedelta(seconds=delay),
                )
            ctx.monitor.incr("ghostart.jobs.retry", kind=job.kind.value, error=type(exc).__name__)
            log.warning("job %s (%s) failed, retry in %.1f s: %s", job.id, job.kind, delay, error)
            await ctx.queue.enqueue(job.id, delay=delay)
            return
        if not isinstance(exc, GhostartError):
            ctx.monitor.capture_exception(
                exc,
                job_id=str(job.id),
                kind=job.kind.value,
                organization_id=str(job.organization_id or ""),
            )
        await self._fail(job, handler, error, public=_public_error(exc))

    async def _fail(
        self, job: Job, handler: JobHandler | None, error: str, *, public: str | None = None
    ) -> None:
        """Fail ``job`` for good: ``error`` goes on the job row, ``public`` to the handler."""
        events = []
        async with self.ctx.store.unit_of_work() as uow:
            ours = await uow.jobs.finish(
                job.id,
                owner=self.owner,
                status=JobStatus.FAILED,
                now=self.ctx.clock.now(),
                error=error,
            )
            if not ours:  # another worker has the job now: its outcome, not ours, counts
                log.info("job %s failed here after its lease passed to another worker", job.id)
                return
            if handler is not None:
                events = await handler.on_failed(uow, job, error if public is None else public)
                events = [await self.ctx.record(uow, event) for event in events]
        # After the commit: a waiter woken here or in another process reads the failure.
        self.ctx.notifier.notify(job.subject_id)
        self.ctx.monitor.incr("ghostart.jobs.failed", kind=job.kind.value)
        log.error("job %s (%s) failed for good: %s", job.id, job.kind, error)
        await self.ctx.dispatch(*events)

    async def reconcile_once(self, *, limit: int = 500) -> int:
        """Re-queue due jobs that are not in flight; returns how many."""
        now = self.ctx.clock.now()
        async with self.ctx.store.unit_of_work() as uow:
            due = await uow.jobs.due(
                now=now, enqueued_before=now - timedelta(seconds=self.requeue_after), limit=limit
            )
            await uow.jobs.mark_enqueued([j.id for j in due], now=now)
        for job in due:
            await self.ctx.queue.enqueue(job.id)
        if due:
            self.ctx.monitor.incr("ghostart.reconciler.requeued", value=len(due))
            log.info("reconciler re-queued %d job(s)", len(due))
        return len(due)

    async def _reconcile_loop(self) -> None:
        while True:
            try:
                await self.reconcile_once()
            except Exception as exc:
                self.ctx.monitor.capture_exception(exc, operation="reconcile")
            for task in self.periodic:
                try:
                    await task()
                except Exception as exc:
                    self.ctx.monitor.capture_exception(exc, operation="periodic")
            try:
                async with asyncio.timeout(self.reconcile_interval):
                    await self._stopping.wait()
                return
            except TimeoutError:
                pass
