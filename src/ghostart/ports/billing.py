"""Billing port."""

from __future__ import annotations

from typing import Protocol, runtime_checkable
from uuid import UUID

from ghostart.models import Plan

__all__ = ["Billing"]


@runtime_checkable
class Billing(Protocol):
    """Knows each organization's plan. Guarantee: always answers with a plan (a default if none)."""

    async def plan_for(self, organization_id: UUID) -> Plan:
        """The organization's current plan."""
        ...

    async def plans(self) -> list[Plan]:
        """The plans on offer (for a pricing page); at least the default one."""
        ...
