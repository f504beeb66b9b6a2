"""``StripeBilling``: the Billing port on Stripe, plus Checkout, the portal, webhooks and usage.

The port (:meth:`plan_for`, :meth:`plans`) reads the organization's stored billing state and the
plan catalog, never Stripe: a quota check costs one state read. Stripe changes the state only
through events (:meth:`verify_webhook` then :meth:`process_event`, in the core's worker) and
through re-reads when events leave a doubt (:meth:`refresh_subscription`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import stripe
from pydantic import BaseModel, ConfigDict

from ghostart.builtin.clock_system import SystemClock
from ghostart.errors import ConfigurationError, Conflict, InvalidInput
from ghostart.models import DomainEvent, Plan
from ghostart.ports import Clock
from ghostart_stripe.client import StripeApi
from ghostart_stripe.events import (
    ORGANIZATION_KEY,
    PLAN_KEY,
    BillingEvent,
    BillingEventType,
    SubscriptionSnapshot,
    SubscriptionStatus,
    normalise,
    snapshot_from_subscription,
)
from ghostart_stripe.keys import idempotency_key, meter_identifier
from ghostart_stripe.outcome import Outcome, notifications, plan_changed
from ghostart_stripe.plans import PlanCatalog
from ghostart_stripe.settings import StripeSettings
from ghostart_stripe.state import (
    BillingState,
    Entitlement,
    Reduction,
    entitlement,
    link_customer,
    merge_snapshot,
    reduce,
)
from ghostart_stripe.states import MemorySubscriptionStates, SubscriptionStates
from ghostart_stripe.webhook import parse_payload, verify_signature

__all__ = ["CheckoutLink", "PortalLink", "StripeBilling"]

log = logging.getLogger("ghostart.stripe")

_SUBSCRIBED = frozenset(
    {SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING, SubscriptionStatus.PAST_DUE}
)


class CheckoutLink(BaseModel):
    """A Checkout Session to send the admin to."""

    model_config = ConfigDict(frozen=True)

    session_id: str
    url: str
    customer_id: str
    plan: str


class PortalLink(BaseModel):
    """A customer-portal session to send the admin to."""

    model_config = ConfigDict(frozen=True)

    session_id: str
    url: str


class StripeBilling:
    """Plans from configuration, state from Stripe's events; implements the Billing port."""

    def __init__(
        self,
        settings: StripeSettings,
        *,
        default_plan: Plan,
        clock: Clock | None = None,
        states: SubscriptionStates | None = None,
        http_client: stripe.HTTPClient | None = None,
    ) -> None:
        self.settings = settings
        self.catalog = PlanCatalog(settings.all_plans(), default_plan)
        self.clock: Clock = clock or SystemClock()
        self.states: SubscriptionStates = states or MemorySubscriptionStates()
        self.grace = timedelta(days=settings.past_due_grace_days)
        self.api = StripeApi(settings, http_client=http_client)

    def __repr__(self) -> str:
        return f"StripeBilling(catalog={self.catalog!r}, states={self.states!r})"

    async def aclose(self) -> None:
        """Close the HTTP client, if this adapter made it."""
        await self.api.aclose()

    # -- the Billing port -------------------------------------------------------------------

    async def plan_for(self, organization_id: UUID) -> Plan:
        """The organization's plan now (the default plan without an entitling subscription)."""
        return (await self.entitlement(organization_id)).plan

    async def plans(self) -> list[Plan]:
        """Every configured plan, the default first."""
        return self.catalog.offered()

    async def entitlement(self, organization_id: UUID) -> Entitlement:
        """The plan, and the subscription and status it comes from."""
        state = await self.states.get(organization_id)
        return entitlement(state, now=self.clock.now(), catalog=self.catalog, grace=self.grace)

    # -- webhooks -----------------------------------------------------------------------------

    def verify_webhook(self, payload: bytes, signature: str | None) -> BillingEvent:
        """The event in a webhook request, once its signature and time check out.

        Raises a :class:`~ghostart_stripe.webhook.WebhookRejected` (answer 400) otherwise.
        """
        verify_signature(
            payload,
            signature,
            self.settings.webhook_secrets(),
            now=self.clock.now().timestamp(),
            tolerance=self.settings.webhook_tolerance,
        )
        return normalise(parse_payload(payload))

    @staticmethod
    def parse_event(raw: dict[str, Any]) -> BillingEvent:
        """The event from a stored raw body (the worker's side of the webhook outbox)."""
        return normalise(raw)

    async def process_event(
        self, event: BillingEvent, *, states: SubscriptionStates | None = None
    ) -> Outcome:
        """Fold one verified event into its organization's state (re-reading when in doubt).

        ``states`` overrides where the state is kept for this call: the core's worker passes
        one bound to its unit of work, so that the state, the event's row and the notifications
        commit together. Safe to run again for the same event (after a crash, a retry, a
        duplicate delivery): the state does not change twice. It may raise a ``ProviderError``
        from the re-read after the event's own effect is stored; running it again finishes.
        """
        store = states or self.states
        if event.type is BillingEventType.UNKNOWN:
            return Outcome(event.id, None, ignored=f"unhandled event type {event.stripe_type}")
        org, fetched = await self._organization_of(event, store)
        if org is None:
            log.info("stripe: event %s (%s) names no organization", event.id, event.stripe_type)
            return Outcome(event.id, None, ignored="no ghostart organization for this event")
        holder: dict[str, Reduction] = {}

        def apply(state: BillingState | None) -> BillingState:
            holder["r"] = reduce(state, event, org)
            return holder["r"].state

        events: list[DomainEvent] = []
        before, after = await self._update(store, org, apply, event.id, events)
        first = before
        refresh = holder["r"].refresh
        refreshed = None
        if fetched is not None or refresh:
            snap = fetched if fetched is not None else await self.fetch_subscription(refresh or "")
            _, after = await self._update(store, org, self._merge(org, snap), event.id, events)
            refreshed = snap.id
        now = self.clock.now()
        final = entitlement(after, now=now, catalog=self.catalog, grace=self.grace)
        events += notifications(event, org, first, after, final, now=now)
        start = entitlement(first, now=now, catalog=self.catalog, grace=self.grace)
        return Outcome(event.id, org, start, final, refreshed=refreshed, events=events)

    async def refresh_subscription(
        self,
        organization_id: UUID,
        subscription_id: str,
        *,
        states: SubscriptionStates | None = None,
    ) -> Outcome:
        """Re-read a subscription from Stripe and merge it (the reducer's answer to a doubt)."""
        snap = await self.fetch_subscription(subscription_id)
        events: list[DomainEvent] = []
        before, after = await self._update(
            states or self.states,
            organization_id,
            self._merge(organization_id, snap),
            "fetch",
            events,
        )
        now = self.clock.now()
        return Outcome(
            "fetch",
            organization_id,
            entitlement(before, now=now, catalog=self.catalog, grace=self.grace),
            entitlement(after, now=now, catalog=self.catalog, grace=self.grace),
            refreshed=subscription_id,
            events=events,
        )

    async def fetch_subscription(self, subscription_id: str) -> SubscriptionSnapshot:
        """The subscription as Stripe holds it now, observed at this second."""
        raw = await self.api.retrieve_subscription(subscription_id)
        return snapshot_from_subscription(raw, observed_at=self.clock.now(), source="fetch")

    @staticmethod
    def _merge(
        org: UUID, snap: SubscriptionSnapshot
    ) -> Callable[[BillingState | None], BillingState]:
        def change(state: BillingState | None) -> BillingState:
            return merge_snapshot(state or BillingState(organization_id=org), snap).state

        return change

    async def _update(
        self,
        store: SubscriptionStates,
        org: UUID,
        change: Callable[[BillingState | None], BillingState],
        cause: str,
        events: list[DomainEvent],
    ) -> tuple[BillingState | None, BillingState]:
        """One atomic change; a plan change it causes is reported once, by its own caller."""
        before, after = await store.update(org, change)
        now = self.clock.now()
        old = entitlement(before, now=now, catalog=self.catalog, grace=self.grace)
        new = entitlement(after, now=now, catalog=self.catalog, grace=self.grace)
        events += plan_changed(org, old, new, cause=cause, now=now)
        return before, after

    async def _organization_of(
        self, event: BillingEvent, store: SubscriptionStates
    ) -> tuple[UUID | None, SubscriptionSnapshot | None]:
        if event.organization_id is not None:
            return event.organization_id, None
        if event.customer_id:
            org = await store.organization_for_customer(event.customer_id)
            if org is not None:
                return org, None
        if event.subscription_id and event.subscription is None:
            # An invoice or session without ghostart's metadata: the subscription may have it.
            snap = await self.fetch_subscription(event.subscription_id)
            return snap.organization_id, snap
        return None, None

    # -- Checkout, the portal, customers ------------------------------------------------------

    async def ensure_customer(self, organization_id: UUID, *, name: str | None = None) -> str:
        """The organization's Stripe customer, created once (idempotently) when it has none."""
        state = await self.states.get(organization_id)
        if state is not None and state.customer_id:
            return state.customer_id
        customer = None
        if self.settings.customer_search:
            customer = await self.api.find_customer(organization_id)
        if customer is None:
            key = idempotency_key("customer", organization_id, *([name] if name else []))
            customer = await self.api.create_customer(
                organization_id, idempotency_key=key, name=name
            )
        seen = self.clock.now()

        def link(state: BillingState | None) -> BillingState:
            base = state or BillingState(organization_id=organization_id)
            return link_customer(base, customer, seen)

        _, after = await self.states.update(organization_id, link)
        return after.customer_id or customer

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
    ) -> CheckoutLink:
        """A Checkout Session that subscribes the organization to ``plan``.

        ``operation_id`` names the request that asked (a row id, or the client's own
        ``Idempotency-Key``): the same id gives the same session, never a second one.
        """
        config = self.catalog.config(plan)
        if config is None or not config.paid:
            offered = [n for n in self.catalog.names() if (c := self.catalog.config(n)) and c.paid]
            raise InvalidInput(
                f"plan {plan!r} can not be bought; plans on sale: {', '.join(offered) or 'none'}",
                field="plan",
            )
        price = price or config.prices[0]
        if price not in config.prices:
            raise InvalidInput(f"price {price!r} does not sell plan {plan!r}", field="price")
        success = success_url or self.settings.success_url
        cancel = cancel_url or self.settings.cancel_url
        if not success or not cancel:
            raise ConfigurationError(
                "Stripe Checkout needs return URLs: set GHOSTART_STRIPE_SUCCESS_URL and "
                "GHOSTART_STRIPE_CANCEL_URL"
            )
        current = await self.entitlement(organization_id)
        if current.subscription_id and current.status in _SUBSCRIBED:
            raise Conflict(
                f"the organization already has a subscription ({current.subscribed_plan}, "
                f"{current.status}); change plans in the customer portal",
                subscription_id=current.subscription_id,
            )
        customer = await self.ensure_customer(organization_id, name=organization_name)
        metadata = {ORGANIZATION_KEY: str(organization_id), PLAN_KEY: plan}
        line_items: list[dict[str, Any]] = [{"price": price, "quantity": 1}]
        if config.metered_price:
            line_items.append({"price": config.metered_price})
        subscription_data: dict[str, Any] = {"metadata": metadata}
        if config.trial_days:
            subscription_data["trial_period_days"] = config.trial_days
        params: dict[str, Any] = {
            "mode": "subscription",
            "customer": customer,
            "client_reference_id": str(organization_id),
            "line_items": line_items,
            "success_url": success,
            "cancel_url": cancel,
            "metadata": metadata,
            "subscription_data": subscription_data,
        }
        if self.settings.allow_promotion_codes:
            params["allow_promotion_codes"] = True
        key = idempotency_key("checkout", organization_id, plan, price, operation_id)
        session = await self.api.create_checkout_session(params, idempotency_key=key)
        return CheckoutLink(
            session_id=str(session["id"]), url=str(session["url"]), customer_id=customer, plan=plan
        )

    async def create_portal(
        self, organization_id: UUID, *, operation_id: str, return_url: str | None = None
    ) -> PortalLink:
        """A customer-portal session for the organization's customer."""
        state = await self.states.get(organization_id)
        if state is None or not state.customer_id:
            raise Conflict("the organization has no Stripe customer yet: subscribe first")
        back = return_url or self.settings.portal_return_url
        if not back:
            raise ConfigurationError(
                "the customer portal needs a return URL: set GHOSTART_STRIPE_PORTAL_RETURN_URL"
            )
        params: dict[str, Any] = {"customer": state.customer_id, "return_url": back}
        if self.settings.portal_configuration:
            params["configuration"] = self.settings.portal_configuration
        key = idempotency_key("portal", organization_id, operation_id)
        session = await self.api.create_portal_session(params, idempotency_key=key)
        return PortalLink(session_id=str(session["id"]), url=str(session["url"]))

    # -- usage ----------------------------------------------------------------------------------

    async def metered(self, organization_id: UUID) -> bool:
        """Whether the organization's plan now reports usage to a meter."""
        state = await self.states.get(organization_id)
        current = entitlement(state, now=self.clock.now(), catalog=self.catalog, grace=self.grace)
        config = self.catalog.config(current.plan.name)
        return bool(current.subscribed and config and config.meter_event_name)

    def summarise(self, state: BillingState) -> dict[str, Any]:
        """The listing columns of the core's ``billing_states`` row: the entitlement now."""
        now = self.clock.now()
        current = entitlement(state, now=now, catalog=self.catalog, grace=self.grace)
        return {
            "plan": current.plan.name,
            "status": current.status.value if current.status else None,
            "subscription_id": current.subscription_id,
            "grace_until": current.grace_until,
        }

    async def report_usage(
        self,
        organization_id: UUID,
        *,
        quantity: int,
        source_id: object,
        timestamp: datetime | None = None,
    ) -> str | None:
        """Report usage to the plan's Stripe meter; the identifier, or ``None`` if not metered.

        ``source_id`` is the id of the row that recorded the usage (a generation): it makes the
        meter event's ``identifier`` and ``Idempotency-Key``, so a repeat is not billed twice.
        ``timestamp`` should be that row's time, so that a repeat sends the same request.
        """
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise InvalidInput("quantity must be a whole number of at least 1", field="quantity")
        state = await self.states.get(organization_id)
        current = entitlement(state, now=self.clock.now(), catalog=self.catalog, grace=self.grace)
        config = self.catalog.config(current.plan.name)
        if not (current.subscribed and config and config.meter_event_name and state):
            return None
        if not state.customer_id:
            return None
        identifier = meter_identifier(config.meter_event_name, source_id)
        await self.api.create_meter_event(
            event_name=config.meter_event_name,
            customer_id=state.customer_id,
            value=quantity,
            identifier=identifier,
            timestamp=timestamp,
        )
        return identifier
