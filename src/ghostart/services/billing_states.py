"""``StoreSubscriptionStates``: a billing provider's per-organization state, kept in the Store.

The provider (``ghostart_stripe``) owns the state's type and the pure functions that change it;
the core stores it as JSON in ``billing_states`` and makes each change atomic. The plugin
configures the instance the composition root hands it (``BuildContext.billing_states``) with how
to read a stored state back (``load``) and what to copy into the row's listing columns
(``summary``); the worker binds it to its unit of work (:meth:`bound`) so that the state, the
event's row and the job commit together.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from ghostart.errors import ConfigurationError, TransientError
from ghostart.ports import Clock, Store, UnitOfWork
from ghostart.ports.billing import StoredBillingState

__all__ = ["StoreSubscriptionStates"]

#: How often a compare-and-set that lost a race is tried again (only a first insert can lose:
#: an existing row is read ``FOR UPDATE`` on PostgreSQL, and SQLite's writers take turns).
_ATTEMPTS = 5

Load = Callable[[dict[str, Any]], Any]
Summary = Callable[[Any], dict[str, Any]]


class StoreSubscriptionStates:
    """Implements the provider's ``SubscriptionStates`` on ``uow.billing``."""

    def __init__(self, store: Store, clock: Clock, *, uow: UnitOfWork | None = None) -> None:
        self.store = store
        self.clock = clock
        self._uow = uow
        self._load: Load | None = None
        self._summary: Summary | None = None

    def __repr__(self) -> str:
        return f"StoreSubscriptionStates({self.store!r}, bound={self._uow is not None})"

    def configure(self, *, load: Load, summary: Summary | None = None) -> None:
        """Say how to read a stored state (``load``) and what the listing columns hold."""
        self._load, self._summary = load, summary

    @property
    def configured(self) -> bool:
        """Whether a billing adapter said how to read its states (:meth:`configure`)."""
        return self._load is not None

    def bound(self, uow: UnitOfWork) -> StoreSubscriptionStates:
        """The same states, read and written inside ``uow`` (the worker's transaction)."""
        states = StoreSubscriptionStates(self.store, self.clock, uow=uow)
        states._load, states._summary = self._load, self._summary
        return states

    def _loader(self) -> Load:
        if self._load is None:
            raise ConfigurationError(
                "billing state is stored by the core, but no billing adapter configured how to "
                "read it (StoreSubscriptionStates.configure)"
            )
        return self._load

    async def get(self, organization_id: UUID) -> Any | None:
        """The organization's state, if any."""
        load = self._loader()
        if self._uow is not None:
            row = await self._uow.billing.get_state(organization_id)
        else:
            async with self.store.unit_of_work(readonly=True) as uow:
                row = await uow.billing.get_state(organization_id)
        return load(row.state) if row else None

    async def organization_for_customer(self, customer_id: str) -> UUID | None:
        """The organization whose state names this customer."""
        if self._uow is not None:
            return await self._uow.billing.organization_for_customer(customer_id)
        async with self.store.unit_of_work(readonly=True) as uow:
            return await uow.billing.organization_for_customer(customer_id)

    async def update(
        self, organization_id: UUID, change: Callable[[Any | None], Any]
    ) -> tuple[Any | None, Any]:
        """Apply ``change`` to the stored state atomically; the state before and after."""
        if self._uow is not None:
            return await self._update_in(self._uow, organization_id, change)
        async with self.store.unit_of_work() as uow:
            return await self._update_in(uow, organization_id, change)

    async def _update_in(
        self, uow: UnitOfWork, organization_id: UUID, change: Callable[[Any | None], Any]
    ) -> tuple[Any | None, Any]:
        load = self._loader()
        for _ in range(_ATTEMPTS):
            row = await uow.billing.get_state(organization_id, for_update=True)
            before = load(row.state) if row else None
            after = change(before)
            if after.organization_id != organization_id:
                raise ValueError("a billing state can not move to another organization")
            listing = self._summary(after) if self._summary is not None else {}
            written = await uow.billing.save_state(
                StoredBillingState(
                    organization_id=organization_id,
                    state=after.dump(),
                    version=row.version + 1 if row else 1,
                    customer_id=after.customer_id,
                    plan=listing.get("plan"),
                    status=listing.get("status"),
                    subscription_id=listing.get("subscription_id"),
                    grace_until=listing.get("grace_until"),
                    updated_at=self.clock.now(),
                ),
                expected_version=row.version if row else None,
            )
            if written:
                return before, after
            # Another transaction wrote the first row meanwhile: read it (now committed) again.
        raise TransientError(f"billing state of {organization_id} kept changing; try again")
