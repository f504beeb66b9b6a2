"""Billing: webhooks into the outbox, Checkout and the portal, the entitlement, quota periods.

A provider's webhook is verified on the raw body, then its event is recorded (the event id is
the primary key, so a duplicate delivery writes nothing) with a ``billing_event`` job in the same
transaction, only when the row is new; the answer goes back at once and the worker folds the
event into the organization's state (:mod:`ghostart.services.billing_jobs`).

Quotas count per organization and billing period: with a subscription that entitles, monthly
windows anchored on the subscription's current period (a yearly plan still counts generations
per month); otherwise the calendar month (UTC). Every check reads the stored state through the
provider (no cache), so a plan change by webhook applies to the next check.
"""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4, uuid5

from ghostart.errors import NotFound, QuotaExceeded
from ghostart.models import Job, JobKind, Plan, Principal
from ghostart.ports import UnitOfWork
from ghostart.ports.billing import PlanSeller, WebhookEventRow
from ghostart.rbac import Permission, authorize
from ghostart.services.billing_states import StoreSubscriptionStates
from ghostart.services.context import ServiceContext, month_start

__all__ = [
    "BillingNotConfigured",
    "BillingService",
    "BillingStatus",
    "Received",
    "check_api_access",
    "check_seats",
    "event_subject",
    "period_start",
    "plan_and_period",
    "seller_of",
    "upgrade_hint",
    "usage_report_job",
]


#: Job subjects are UUIDs; a provider event's is derived from its id (stable across deliveries).
_EVENT_NAMESPACE = UUID("6f1d2a8e-5b7c-4e0f-9a3d-2c4b6e8f0a1b")


class BillingNotConfigured(NotFound):
    """This service sells no plans (``GHOSTART_BILLING=none``)."""

    code = "billing_not_configured"


def seller_of(billing: object) -> PlanSeller:
    """``billing`` if it sells plans, else :class:`BillingNotConfigured`."""
    if isinstance(billing, PlanSeller):
        return billing
    raise BillingNotConfigured(
        "billing is not configured on this service (GHOSTART_BILLING=none): every "
        "organization is on the default plan"
    )


def event_subject(event_id: str) -> UUID:
    """The job subject of a provider event."""
    return uuid5(_EVENT_NAMESPACE, event_id)


def _add_months(at: datetime, months: int) -> datetime:
    month = at.month - 1 + months
    year, month = at.year + month // 12, month % 12 + 1
    return at.replace(year=year, month=month, day=min(at.day, monthrange(year, month)[1]))


def period_start(anchor: datetime | None, now: datetime) -> datetime:
    """The start of the monthly quota window at ``now``.

    ``anchor`` is the subscription's current period start (``None``: calendar months). The
    window is the last monthly anniversary of ``anchor`` not after ``now``.
    """
    if anchor is None or anchor > now:
        return month_start(now)
    months = (now.year - anchor.year) * 12 + now.month - anchor.month
    for k in (months, months - 1):
        if k >= 0 and (start := _add_months(anchor, k)) <= now:
            return start
    return anchor


async def plan_and_period(ctx: ServiceContext, organization_id: UUID) -> tuple[Plan, datetime]:
    """The organization's plan now and the start of its current quota window (one state read)."""
    now = ctx.clock.now()
    billing = ctx.billing
    if isinstance(billing, PlanSeller):
        entitled = await billing.entitlement(organization_id)
        return entitled.plan, period_start(getattr(entitled, "period_start", None), now)
    return await billing.plan_for(organization_id), month_start(now)


def upgrade_hint(ctx: ServiceContext, organization_id: UUID, setting: str) -> str:
    """How to raise a limit, for the quota error's message."""
    if isinstance(ctx.billing, PlanSeller):
        return (
            "an admin can upgrade under Billing "
            f"(POST /v1/organizations/{organization_id}/billing/checkout, or the customer "
            "portal for a subscribed organization)"
        )
    return f"the operator can raise it ({setting}) or set up billing (GHOSTART_BILLING)"


async def check_seats(ctx: ServiceContext, uow: UnitOfWork, organization_id: UUID) -> None:
    """Refuse a new member when the plan's seats are all taken (in the adding transaction)."""
    plan = await ctx.billing.plan_for(organization_id)
    if plan.seats is None:
        return
    await uow.organizations.lock(organization_id)  # serialise quota checks of one organization
    used = len(await uow.memberships.list(organization_id))
    if used >= plan.seats:
        raise QuotaExceeded(
            f"plan '{plan.name}' allows {plan.seats} seats; all are taken. To raise the limit, "
            f"{upgrade_hint(ctx, organization_id, 'GHOSTART_BILLING')}",
            plan=plan.name,
            limit=plan.seats,
            used=used,
        )


async def check_api_access(ctx: ServiceContext, organization_id: UUID) -> None:
    """Refuse API keys (making or using one) when the plan has no API access."""
    plan = await ctx.billing.plan_for(organization_id)
    if not plan.api_access:
        raise QuotaExceeded(
            f"plan '{plan.name}' does not include API access. To get it, "
            f"{upgrade_hint(ctx, organization_id, 'GHOSTART_BILLING')}",
            plan=plan.name,
            limit=0,
        )


async def usage_report_job(
    ctx: ServiceContext, organization_id: UUID, generation_id: UUID, finished_at: datetime
) -> Job | None:
    """A ``report_usage`` job for a succeeded generation, when the plan is metered."""
    billing = ctx.billing
    metered = getattr(billing, "metered", None)
    if metered is None or not isinstance(billing, PlanSeller):
        return None
    if not await metered(organization_id):
        return None
    job = ctx.new_job(
        JobKind.REPORT_USAGE,
        organization_id=organization_id,
        subject_id=generation_id,
        idempotency_key=f"report-usage:{generation_id}",
    )
    return job.model_copy(update={"payload": {"at": finished_at.isoformat(), "quantity": 1}})


@dataclass(frozen=True)
class Received:
    """What the webhook route answers."""

    event_id: str
    duplicate: bool


class BillingStatus(dict[str, Any]):
    """The organization's entitlement and this period's use (a plain dict for serialisation)."""


class BillingService:
    """Webhooks, Checkout, the customer portal and the billing status of an organization."""

    def __init__(self, ctx: ServiceContext, states: StoreSubscriptionStates) -> None:
        self.ctx = ctx
        self.states = states

    async def receive_webhook(self, payload: bytes, signature: str | None) -> Received:
        """Verify a webhook and record its event with its job, once; no provider call here.

        A bad signature or timestamp raises the provider's ``DomainError`` (answered 400).
        """
        seller = seller_of(self.ctx.billing)
        event = seller.verify_webhook(payload, signature)
        now = self.ctx.clock.now()
        row = WebhookEventRow(
            id=event.id,
            type=event.stripe_type,
            livemode=bool(event.livemode),
            created=event.created,
            payload=event.raw,
            status="received",
            received_at=now,
        )
        job: Job | None = None
        async with self.ctx.store.unit_of_work() as uow:
            if await uow.billing.record_webhook_event(row):
                job = Job(
                    kind=JobKind.BILLING_EVENT,
                    subject_id=event_subject(event.id),
                    payload={"event_id": event.id},
                    idempotency_key=f"billing-event:{event.id}",
                    max_attempts=self.ctx.settings.job_max_attempts,
                    run_at=now,
                    enqueued_at=now,
                    created_at=now,
                    updated_at=now,
                )
                await uow.jobs.add(job)
        self.ctx.monitor.incr("ghostart.billing.webhooks", duplicate=str(job is None).lower())
        if job is not None:
            await self.ctx.enqueue(job)
        return Received(event.id, duplicate=job is None)

    async def checkout(
        self,
        principal: Principal,
        plan: str,
        *,
        price: str | None = None,
        operation_id: str | None = None,
    ) -> Any:
        """A Checkout Session for ``plan`` (admins); the same ``operation_id``, the same session."""
        authorize(principal, Permission.BILLING_MANAGE)
        seller = seller_of(self.ctx.billing)
        org = await self._organization(principal)
        operation = operation_id or uuid4().hex
        return await self.ctx.retry.call(
            lambda: seller.create_checkout(
                principal.organization_id,
                plan,
                operation_id=operation,
                price=price,
                organization_name=org,
            ),
            operation="billing.checkout",
        )

    async def portal(self, principal: Principal, *, operation_id: str | None = None) -> Any:
        """A customer-portal session for the organization's customer (admins)."""
        authorize(principal, Permission.BILLING_MANAGE)
        seller = seller_of(self.ctx.billing)
        operation = operation_id or uuid4().hex
        return await self.ctx.retry.call(
            lambda: seller.create_portal(principal.organization_id, operation_id=operation),
            operation="billing.portal",
        )

    async def status(self, principal: Principal) -> BillingStatus:
        """The plan, where it comes from, and this quota window's use."""
        authorize(principal, Permission.ORG_READ)
        org_id = principal.organization_id
        await self._organization(principal)
        billing = self.ctx.billing
        now = self.ctx.clock.now()
        result = BillingStatus(
            provider=self.ctx.settings.billing.partition("?")[0],
            status=None,
            subscription_id=None,
            grace_until=None,
        )
        if isinstance(billing, PlanSeller):
            entitled = await billing.entitlement(org_id)
            plan = entitled.plan
            start = period_start(getattr(entitled, "period_start", None), now)
            status = getattr(entitled, "status", None)
            grace = getattr(entitled, "grace_until", None)
            result.update(
                status=getattr(status, "value", status),
                subscription_id=getattr(entitled, "subscription_id", None),
                grace_until=grace.isoformat() if grace else None,
            )
        else:
            plan, start = await billing.plan_for(org_id), month_start(now)
        async with self.ctx.store.unit_of_work(principal, readonly=True) as uow:
            generations = await uow.generations.count_since(org_id, start)
            campaigns = await uow.campaigns.count_since(org_id, start)
        result.update(
            plan=plan.model_dump(mode="json"),
            period_start=start.isoformat(),
            used={"generations": generations, "campaigns": campaigns},
        )
        return result

    async def _organization(self, principal: Principal) -> str:
        async with self.ctx.store.unit_of_work(principal, readonly=True) as uow:
            org = await uow.organizations.get(principal.organization_id)
        if org is None:
            raise NotFound(f"organization {principal.organization_id} not found")
        return org.name
