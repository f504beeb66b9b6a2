"""The plan catalog: plan names, their Stripe prices and entitlements, and the default plan.

The default plan is the one every organization without a paying subscription is on: the core's
``GHOSTART_DEFAULT_PLAN`` / ``GHOSTART_DEFAULT_MONTHLY_GENERATIONS``, exactly as with
``GHOSTART_BILLING=none``, so quotas behave the same with and without Stripe. A configured plan
of the same name (without prices) refines its entitlements.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ghostart.errors import ConfigurationError
from ghostart.models import Plan
from ghostart_stripe.settings import PlanConfig

__all__ = ["PlanCatalog", "to_plan"]

#: Entitlements the core ``Plan`` may carry; each is filled when the core model has the field.
_ENTITLEMENTS = ("monthly_generations", "seats", "campaigns", "api_access")


def to_plan(name: str, config: PlanConfig) -> Plan:
    """The core ``Plan`` for ``config``, with every entitlement the core model knows."""
    values: dict[str, Any] = {"name": name}
    for field in _ENTITLEMENTS:
        if field in Plan.model_fields:
            values[field] = getattr(config, field)
    return Plan(**values)


class PlanCatalog:
    """Plans by name and by Stripe price id."""

    def __init__(self, plans: Mapping[str, PlanConfig], default: Plan) -> None:
        configs = dict(plans)
        base = configs.get(default.name)
        if base is not None and base.paid:
            raise ConfigurationError(
                f"GHOSTART_STRIPE_PLANS: plan {default.name!r} is the default plan "
                "(GHOSTART_DEFAULT_PLAN): it is what an organization has without a subscription, "
                "so it can not have prices"
            )
        if base is None:
            base = PlanConfig(monthly_generations=default.monthly_generations, seats=default.seats)
            configs[default.name] = base
        by_price: dict[str, str] = {}
        for name, config in configs.items():
            if not name.strip() or len(name) > 80:
                raise ConfigurationError(f"GHOSTART_STRIPE_PLANS: bad plan name {name!r}")
            if name != default.name and not config.paid:
                raise ConfigurationError(
                    f"GHOSTART_STRIPE_PLANS: plan {name!r} has no prices; give it the Stripe "
                    "price ids that sell it (only the default plan is free)"
                )
            for price in (*config.prices, *filter(None, [config.metered_price])):
                if price in by_price and by_price[price] != name:
                    raise ConfigurationError(
                        f"GHOSTART_STRIPE_PLANS: price {price!r} is in both "
                        f"{by_price[price]!r} and {name!r}"
                    )
                by_price[price] = name
        self.default_name = default.name
        self._configs = configs
        self._by_price = by_price
        self._plans = {name: to_plan(name, config) for name, config in configs.items()}

    def __repr__(self) -> str:
        return f"PlanCatalog(default={self.default_name!r}, plans={list(self._plans)!r})"

    @property
    def default(self) -> Plan:
        """The plan of an organization without a paying subscription."""
        return self._plans[self.default_name]

    def names(self) -> list[str]:
        """Every plan's name, the default first."""
        return [self.default_name, *(n for n in self._plans if n != self.default_name)]

    def offered(self) -> list[Plan]:
        """Every plan, the default first."""
        return [self._plans[name] for name in self.names()]

    def plan(self, name: str) -> Plan | None:
        """The plan called ``name``."""
        return self._plans.get(name)

    def config(self, name: str) -> PlanConfig | None:
        """The configuration of the plan called ``name``."""
        return self._configs.get(name)

    def plan_for_prices(self, price_ids: Iterable[str]) -> str | None:
        """The plan a subscription with these prices is on (the first match), if any."""
        for price in price_ids:
            name = self._by_price.get(price)
            if name is not None:
                return name
        return None
