"""Broadcast port: "this subject changed, look again", told to every process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable
from uuid import UUID

__all__ = ["Broadcast"]


@runtime_checkable
class Broadcast(Protocol):
    """Tells every listening process that a subject (a generation, a post) changed.

    A latency hint, never the truth: a waiter woken by a signal reads the store, and a waiter
    that hears nothing reads it anyway after a bounded poll interval, so a lost signal costs
    latency only.

    Guarantees: best effort. A signal published after a listener is subscribed reaches it
    (every listener hears every signal, once), unless the transport fails in between; no order.
    ``publish`` never raises (failures go to the Monitor). ``listen`` survives transport
    failures (it resubscribes) and ends only when the adapter is closed.
    """

    async def publish(self, subject: UUID) -> None:
        """Tell every listener that ``subject`` changed. Never raises."""
        ...

    def listen(self) -> AsyncIterator[UUID]:
        """The subjects published from the moment this listener is subscribed, until closed."""
        ...

    async def aclose(self) -> None:
        """End every ``listen`` and release the transport; closing twice is harmless."""
        ...
