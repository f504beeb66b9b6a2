"""The worker's billing jobs: provider webhook events, and usage reported to a meter.

``billing_event``: the claim's transaction loads the event's row (a row already processed or
ignored finishes the job: a second delivery of the id changes nothing). The handler then, in one
transaction, ends the job lease, folds the event into the organization's state through the
provider (``process_event`` with the states bound to this transaction), and marks the row; the
domain events the outcome names (``billing.plan_changed``, ``billing.payment_failed``,
``billing.trial_ending``) are emitted after the commit. State, row and job commit together, so an
event is applied once however often it is delivered. A provider error (the re-read of a
subscription) rolls all of it back and the job's retry rules apply; a job that fails for good
marks the row ``failed``.

``report_usage``: one meter event per succeeded generation on a metered plan; the provider's
identifier is derived from the generation, so a repeat is never billed twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ghostart.errors import PermanentError
from ghostart.models import DomainEvent, Job, JobKind
from ghostart.ports import UnitOfWork
from ghostart.ports.billing import PlanSeller, WebhookEventRow
from ghostart.services.billing import seller_of
from ghostart.services.billing_states import StoreSubscriptionStates
from ghostart.services.context import ServiceContext
from ghostart.services.jobs import JobHandler, _finish

__all__ = ["BillingEventHandler", "ReportUsageHandler", "billing_handlers"]

_DONE = ("processed", "ignored")


class BillingEventHandler:
    """Folds one recorded webhook event into its organization's billing state."""

    def __init__(self, ctx: ServiceContext, states: StoreSubscriptionStates) -> None:
        self.ctx = ctx
        self.states = states

    async def begin(self, uow: UnitOfWork, job: Job, owner: str) -> WebhookEventRow | None:
        """The event's row, unless it was processed already (then the job is finished)."""
        row = await uow.billing.get_webhook_event(str(job.payload.get("event_id", "")))
        if row is None or row.status in _DONE:
            await _finish(uow, job, owner, self.ctx)
            return None
        return row

    async def handle(self, job: Job, owner: str, begun: WebhookEventRow) -> None:
        """Process the event; state, row and job in one transaction; events after commit."""
        ctx = self.ctx
        seller: PlanSeller = seller_of(ctx.billing)
        event = seller.parse_event(begun.payload)
        async with ctx.store.unit_of_work() as uow:
            await _finish(uow, job, owner, ctx)
            outcome = await seller.process_event(event, states=self.states.bound(uow))
            ignored: str | None = outcome.ignored
            await uow.billing.mark_webhook_event(
                begun.id,
                status="ignored" if ignored else "processed",
                now=ctx.clock.now(),
                organization_id=outcome.organization_id,
                error=ignored,
            )
            events: list[DomainEvent] = [await ctx.record(uow, e) for e in outcome.events]
        ctx.monitor.incr("ghostart.billing.events", type=begun.type, ignored=str(bool(ignored)))
        await ctx.dispatch(*events)

    async def on_failed(self, uow: UnitOfWork, job: Job, error: str) -> list[DomainEvent]:
        """Mark the row failed (running the job again is safe: see the module docstring)."""
        event_id = str(job.payload.get("event_id", ""))
        row = await uow.billing.get_webhook_event(event_id)
        if row is not None and row.status not in _DONE:
            await uow.billing.mark_webhook_event(
                event_id, status="failed", now=self.ctx.clock.now(), error=error
            )
        return []


class ReportUsageHandler:
    """Reports one succeeded generation to the plan's meter."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def begin(self, uow: UnitOfWork, job: Job, owner: str) -> Job:
        """Nothing to mark: the provider's identifier makes the report idempotent."""
        return job

    async def handle(self, job: Job, owner: str, begun: Any) -> None:
        """Send the meter event, then finish the job."""
        ctx = self.ctx
        if job.organization_id is None:
            raise PermanentError("report_usage job without organization")
        seller = seller_of(ctx.billing)
        at = job.payload.get("at")
        timestamp = datetime.fromisoformat(at) if isinstance(at, str) else None
        quantity = int(job.payload.get("quantity", 1))
        org_id = job.organization_id
        await ctx.retry.call(
            lambda: seller.report_usage(
                org_id, quantity=quantity, source_id=job.subject_id, timestamp=timestamp
            ),
            operation="billing.report_usage",
        )
        async with ctx.store.unit_of_work() as uow:
            await _finish(uow, job, owner, ctx)

    async def on_failed(self, uow: UnitOfWork, job: Job, error: str) -> list[DomainEvent]:
        """Nothing else to mark: the job row keeps the error."""
        return []


def billing_handlers(
    ctx: ServiceContext, states: StoreSubscriptionStates
) -> dict[JobKind, JobHandler]:
    """The billing jobs' handlers."""
    return {
        JobKind.BILLING_EVENT: BillingEventHandler(ctx, states),
        JobKind.REPORT_USAGE: ReportUsageHandler(ctx),
    }
