"""The end of a ``past_due`` grace period, announced as ``billing.plan_changed``.

A provider's entitlement is a function of its state *and the time*: a ``past_due`` subscription
keeps its plan until ``grace_until``, then falls back to the default plan, and no webhook marks
that moment. Quotas follow it on their own (every check asks the provider), but the admins and
the plugins would never hear of it. :class:`GracePeriods` (run by every worker) finds the
``billing_states`` rows whose grace period ended after their listing was written, rewrites the
listing through the provider (its ``summary`` at the current time) and, when the plan it shows
changed, records ``billing.plan_changed`` in the same transaction. The rewritten row's
``updated_at`` is past its ``grace_until``, so each lapse is announced once; on PostgreSQL
concurrent workers skip each other's rows.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ghostart.models.events import DomainEvent, EventName
from ghostart.services.billing_states import StoreSubscriptionStates

if TYPE_CHECKING:
    from ghostart.services.context import ServiceContext

__all__ = ["GRACE_PERIOD_ENDED", "GracePeriods"]

log = logging.getLogger("ghostart.billing")

#: The ``reason`` of a ``billing.plan_changed`` that no provider event caused.
GRACE_PERIOD_ENDED = "grace_period_ended"


def _unchanged(state: Any) -> Any:
    return state


class GracePeriods:
    """Announces lapsed grace periods (a worker's periodic task)."""

    def __init__(
        self, ctx: ServiceContext, states: StoreSubscriptionStates, *, batch: int = 100
    ) -> None:
        self.ctx = ctx
        self.states = states
        self.batch = batch

    async def run_once(self) -> int:
        """Rewrite the lapsed rows' listings; how many plan changes were announced."""
        if not self.states.configured:  # no billing adapter keeps states here
            return 0
        now = self.ctx.clock.now()
        events: list[DomainEvent] = []
        async with self.ctx.store.unit_of_work() as uow:
            lapsed = await uow.billing.lapsed_grace(now=now, limit=self.batch)
            states = self.states.bound(uow)
            for row in lapsed:
                await states.update(row.organization_id, _unchanged)
                current = await uow.billing.get_state(row.organization_id)
                if current is None or current.plan == row.plan:
                    continue
                log.info(
                    "grace period of %s ended: plan %s -> %s",
                    row.organization_id,
                    row.plan,
                    current.plan,
                )
                event = DomainEvent(
                    name=EventName.BILLING_PLAN_CHANGED,
                    organization_id=row.organization_id,
                    payload={
                        "from": row.plan,
                        "to": current.plan,
                        "status": current.status,
                        "subscription_id": current.subscription_id,
                        "reason": GRACE_PERIOD_ENDED,
                        "grace_until": row.grace_until.isoformat() if row.grace_until else None,
                    },
                )
                events.append(await self.ctx.record(uow, event))
        await self.ctx.dispatch(*events)
        return len(events)
