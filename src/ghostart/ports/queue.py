"""Queue port."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable
from uuid import UUID

__all__ = ["BatchQueue", "Delivery", "Queue"]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One delivery of a job id; ``receipt`` identifies it to ``ack``, ``nack`` and ``extend``."""

    job_id: UUID
    receipt: str
    attempt: int = 1


@runtime_checkable
class Queue(Protocol):
    """Carries job ids, never the truth (that is the job row).

    Guarantees: delivery at least once. A received id is hidden from other receivers for the
    adapter's visibility timeout; if it is not acked by then, it is delivered again. ``delay`` holds
    an id back for that many seconds. Order is not guaranteed. An id may be delivered twice (the
    worker's compare-and-set claim makes the effect happen once). ``attempt`` counts deliveries
    of an id; ``receive(timeout=0)`` does not wait; ``ack``/``nack``/``extend`` of a stale receipt
    (already acked, or redelivered since) do nothing.
    """

    async def enqueue(self, job_id: UUID, *, delay: float = 0.0) -> None:
        """Make ``job_id`` available to receivers after ``delay`` seconds."""
        ...

    async def receive(self, *, timeout: float) -> Delivery | None:
        """Wait up to ``timeout`` seconds for a job id; ``None`` if none came."""
        ...

    async def ack(self, delivery: Delivery) -> None:
        """The job is handled; never deliver this delivery again."""
        ...

    async def nack(self, delivery: Delivery, *, delay: float = 0.0) -> None:
        """Give the id back to be delivered again after ``delay`` seconds."""
        ...

    async def extend(self, delivery: Delivery, *, seconds: float) -> None:
        """Keep the id hidden for at least ``seconds`` from now (a long job's heartbeat)."""
        ...


@runtime_checkable
class BatchQueue(Queue, Protocol):
    """A :class:`Queue` that can also hand out several deliveries in one call.

    Optional: the worker uses ``receive_many`` when the queue has it (asking for as many ids as
    it has free slots), and ``receive`` otherwise. Each delivery is exactly what ``receive``
    would have returned, with the same visibility timeout counted from now.
    """

    async def receive_many(self, count: int, *, timeout: float) -> list[Delivery]:
        """Wait up to ``timeout`` seconds for job ids; return at most ``count`` (at least 1).

        Returns as soon as there is one; an empty list if none came.
        """
        ...
