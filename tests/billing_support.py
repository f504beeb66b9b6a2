"""A stand-in for a billing provider's state: what StoreSubscriptionStates needs of one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID


@dataclass(frozen=True)
class CounterState:
    """A provider state that counts the changes applied to it."""

    organization_id: UUID
    customer_id: str | None = None
    changes: tuple[int, ...] = field(default_factory=tuple)

    def dump(self) -> dict[str, Any]:
        return {
            "organization_id": str(self.organization_id),
            "customer_id": self.customer_id,
            "changes": list(self.changes),
        }

    @classmethod
    def load(cls, data: dict[str, Any]) -> CounterState:
        return cls(UUID(data["organization_id"]), data["customer_id"], tuple(data["changes"]))


def add(org: UUID, n: int, customer: str | None = None) -> Any:
    """A pure change: append ``n`` (and set the customer)."""

    def change(state: CounterState | None) -> CounterState:
        base = state or CounterState(org)
        return CounterState(org, customer or base.customer_id, (*base.changes, n))

    return change
