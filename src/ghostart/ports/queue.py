"""Queue port."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable
from uuid import UUID

__all__ = ["Delivery", "Queue"]


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
