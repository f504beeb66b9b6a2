"""Billing "none": every organization is on one default plan."""

from __future__ import annotations

from uuid import UUID

from ghostart.models import Plan

__all__ = ["NoBilling"]


class NoBilling:
    """Answers every organization with the same plan (from settings)."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan

    async def plan_for(self, organization_id: UUID) -> Plan:
        """The default plan."""
        return self.plan

    async def plans(self) -> list[Plan]:
        """Only the default plan is on offer."""
        return [self.plan]
