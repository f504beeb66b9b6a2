"""The usage summary: this month's generations against the plan, and the ledger per month.

The ledger (``UsageRepository``) holds one record per generation that succeeded, written in the
same transaction as its draft, at the time it finished: a month's tokens and cost are exactly
the sum of the generations that succeeded in it. Failed and rejected generations keep what they
cost on their own rows and use none of the plan's generations; they are not in the ledger.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ghostart.errors import InvalidInput
from ghostart.models import MonthlyUsage, Principal
from ghostart.rbac import Permission, authorize, can
from ghostart.services.billing import plan_and_period
from ghostart.services.context import ServiceContext, month_start

__all__ = ["MAX_MONTHS", "UsageService", "add_months"]

#: How many months one summary may cover.
MAX_MONTHS = 36


def add_months(start: datetime, months: int) -> datetime:
    """The first instant of the month ``months`` after (or before) ``start``'s month."""
    index = start.year * 12 + start.month - 1 + months
    return month_start(start).replace(year=index // 12, month=index % 12 + 1)


class UsageService:
    """Reads the plan, the quota and the usage ledger."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def summary(self, principal: Principal, *, months: int = 12) -> dict[str, Any]:
        """This month's generations against the plan; for usage readers, tokens and cost too.

        ``used`` counts this month's generations that did not fail (what the quota counts,
        pending ones included). Usage readers (brand creators, admins) also get this month's
        ``prompt_tokens``, ``completion_tokens`` and ``cost_usd``, and ``months``: the ledger
        of the last ``months`` calendar months (UTC), oldest first, a month without usage as
        zeros.
        """
        authorize(principal, Permission.ORG_READ)
        if not isinstance(months, int) or not 1 <= months <= MAX_MONTHS:
            raise InvalidInput(f"months must be 1..{MAX_MONTHS}", field="months")
        org_id = principal.organization_id
        plan, period = await plan_and_period(self.ctx, org_id)  # the quota's own window
        now = self.ctx.clock.now()
        this_month = month_start(now)
        detailed = can(principal, Permission.USAGE_READ)
        since = add_months(this_month, 1 - months)
        until = add_months(this_month, 1)
        async with self.ctx.store.unit_of_work(principal, readonly=True) as uow:
            used = await uow.generations.count_since(org_id, period)
            ledger = await uow.usage.monthly(org_id, since=since, until=until) if detailed else []
        result: dict[str, Any] = {
            "plan": plan.name,
            "limit": plan.monthly_generations,
            "used": used,
        }
        if not detailed:
            return result
        found = {m.month: m for m in ledger}
        series = []
        for k in range(months):
            label = add_months(since, k).strftime("%Y-%m")
            series.append(found.get(label) or MonthlyUsage(month=label))
        current = series[-1]
        result.update(
            current.model_dump(
                mode="json", include={"prompt_tokens", "completion_tokens", "cost_usd"}
            )
        )
        result["months"] = [m.model_dump(mode="json") for m in series]
        return result
