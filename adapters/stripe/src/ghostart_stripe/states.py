"""Where each organization's :class:`~ghostart_stripe.state.BillingState` is kept.

Inside an app the core's ``StoreSubscriptionStates`` implements :class:`SubscriptionStates` on
the ``billing_states`` table (``ghostart.ports.billing.SubscriptionStates`` is the same shape).
:class:`MemorySubscriptionStates` holds the states in the process: for tests and for an adapter
built outside an app; lost on restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol, runtime_checkable
from uuid import UUID

from ghostart_stripe.state import BillingState

__all__ = ["MemorySubscriptionStates", "SubscriptionStates"]


@runtime_checkable
class SubscriptionStates(Protocol):
    """Billing state per organization, changed atomically.

    Guarantee: ``update`` applies ``change`` to the state as stored and stores the result in one
    atomic step (a row lock or a compare-and-set retried); ``change`` is pure and may be called
    more than once.
    """

    async def get(self, organization_id: UUID) -> BillingState | None:
        """The organization's state, if any."""
        ...

    async def organization_for_customer(self, customer_id: str) -> UUID | None:
        """The organization whose state names this Stripe customer."""
        ...

    async def update(
        self,
        organization_id: UUID,
        change: Callable[[BillingState | None], BillingState],
    ) -> tuple[BillingState | None, BillingState]:
        """Apply ``change``; the state before and after."""
        ...


class MemorySubscriptionStates:
    """States in a dict, one lock for all (a single process only)."""

    def __init__(self) -> None:
        self._states: dict[UUID, BillingState] = {}
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"MemorySubscriptionStates(organizations={len(self._states)})"

    async def get(self, organization_id: UUID) -> BillingState | None:
        """The organization's state, if any."""
        return self._states.get(organization_id)

    async def organization_for_customer(self, customer_id: str) -> UUID | None:
        """The organization whose state names this Stripe customer."""
        for org, state in self._states.items():
            if state.customer_id == customer_id:
                return org
        return None

    async def update(
        self,
        organization_id: UUID,
        change: Callable[[BillingState | None], BillingState],
    ) -> tuple[BillingState | None, BillingState]:
        """Apply ``change`` under the lock; the state before and after."""
        async with self._lock:
            before = self._states.get(organization_id)
            after = change(before)
            if after.organization_id != organization_id:
                raise ValueError("a state can not move to another organization")
            self._states[organization_id] = after
            return before, after
