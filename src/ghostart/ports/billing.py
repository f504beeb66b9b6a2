"""Billing port, and what the core stores for providers that sell plans.

:class:`Billing` is the port every billing adapter implements (the embedded ``none`` too).
:class:`PlanSeller` is the optional part a provider that sells plans adds (Checkout, the portal,
webhooks, metered usage; ``ghostart_stripe.StripeBilling`` implements it); the routes check for
it and answer ``billing_not_configured`` without it. Its events and outcomes are the provider's
own types, so they are ``Any`` here: the core never imports an adapter.

:class:`BillingRepository` is the unit of work's side: the webhook events as received (the
dedup record and the outbox's truth) and each organization's state, as JSON, under
compare-and-set. :class:`SubscriptionStates` is the structural protocol the provider keeps its
state through (``ghostart_stripe.states.SubscriptionStates`` has the same shape).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from ghostart.models import Plan

__all__ = [
    "Billing",
    "BillingRepository",
    "PlanSeller",
    "StoredBillingState",
    "SubscriptionStates",
    "WebhookEventRow",
]


@runtime_checkable
class Billing(Protocol):
    """Knows each organization's plan. Guarantee: always answers with a plan (a default if none)."""

    async def plan_for(self, organization_id: UUID) -> Plan:
        """The organization's current plan."""
        ...

    async def plans(self) -> list[Plan]:
        """The plans on offer (for a pricing page); at least the default one."""
        ...


@runtime_checkable
class PlanSeller(Protocol):
    """A billing provider that sells plans (``GHOSTART_BILLING=stripe``)."""

    async def create_checkout(
        self,
        organization_id: UUID,
        plan: str,
        *,
        operation_id: str,
        price: str | None = None,
        success_url: str | None = None,
        cancel_url: str | None = None,
        organization_name: str | None = None,
    ) -> Any:
        """A checkout session (``session_id``, ``url``) subscribing the organization to ``plan``."""
        ...

    async def create_portal(
        self, organization_id: UUID, *, operation_id: str, return_url: str | None = None
    ) -> Any:
        """A customer-portal session (``session_id``, ``url``)."""
        ...

    def verify_webhook(self, payload: bytes, signature: str | None) -> Any:
        """The verified event in a webhook request; a ``DomainError`` (400) if it fails.

        The event has ``id``, ``stripe_type``, ``livemode``, ``created`` and ``raw``.
        """
        ...

    def parse_event(self, raw: dict[str, Any]) -> Any:
        """The event from its stored raw body."""
        ...

    async def process_event(self, event: Any, *, states: SubscriptionStates | None = None) -> Any:
        """Fold the event into its organization's state.

        The outcome has ``organization_id``, ``ignored`` and ``events`` (to emit after commit).
        """
        ...

    async def entitlement(self, organization_id: UUID) -> Any:
        """The plan now and where it comes from.

        It has ``plan``, ``status``, ``subscription_id``, ``grace_until``, ``period_start``.
        """
        ...

    async def report_usage(
        self,
        organization_id: UUID,
        *,
        quantity: int,
        source_id: object,
        timestamp: datetime | None = None,
    ) -> str | None:
        """Report usage to a meter for metered plans; the identifier sent, or ``None``."""
        ...


@runtime_checkable
class SubscriptionStates(Protocol):
    """A provider's billing state per organization, changed atomically.

    ``update`` applies ``change`` (pure; may run more than once) to the state as stored and
    stores the result in one atomic step; it returns the state before and after.
    """

    async def get(self, organization_id: UUID) -> Any | None: ...

    async def organization_for_customer(self, customer_id: str) -> UUID | None: ...

    async def update(
        self, organization_id: UUID, change: Callable[[Any | None], Any]
    ) -> tuple[Any | None, Any]: ...


@dataclass(frozen=True, slots=True)
class StoredBillingState:
    """One ``billing_states`` row."""

    organization_id: UUID
    state: dict[str, Any]
    version: int
    customer_id: str | None = None
    plan: str | None = None
    status: str | None = None
    subscription_id: str | None = None
    grace_until: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class WebhookEventRow:
    """One ``billing_webhook_events`` row."""

    id: str
    type: str
    livemode: bool
    created: datetime
    payload: dict[str, Any]
    status: str
    received_at: datetime
    organization_id: UUID | None = None
    processed_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = None


class BillingRepository(Protocol):
    """Billing state and provider webhook events (the system's; members read their state)."""

    async def get_state(
        self, organization_id: UUID, *, for_update: bool = False
    ) -> StoredBillingState | None:
        """The organization's row (``for_update``: held until the unit of work ends)."""
        ...

    async def organization_for_customer(self, customer_id: str) -> UUID | None:
        """The organization whose state names this provider customer."""
        ...

    async def lapsed_grace(self, *, now: datetime, limit: int) -> list[StoredBillingState]:
        """Rows whose ``grace_until`` passed after their listing was written (``updated_at``).

        Their listing still shows the plan of the grace period. On PostgreSQL the rows are
        locked until the unit of work ends, skipping rows another transaction holds.
        """
        ...

    async def save_state(self, row: StoredBillingState, *, expected_version: int | None) -> bool:
        """Write ``row`` if the stored version is ``expected_version``; whether it was written.

        ``expected_version=None`` writes only when the organization has no row yet.
        """
        ...

    async def record_webhook_event(self, row: WebhookEventRow) -> bool:
        """Insert the event; ``False`` (and nothing written) when its id is already recorded."""
        ...

    async def get_webhook_event(self, event_id: str) -> WebhookEventRow | None: ...

    async def mark_webhook_event(
        self,
        event_id: str,
        *,
        status: str,
        now: datetime,
        organization_id: UUID | None = None,
        error: str | None = None,
    ) -> None:
        """Record how processing went (and count the attempt)."""
        ...
