"""The plugin: registers Stripe billing for ``GHOSTART_BILLING=stripe``.

The factory imports the SDK only when called, so that loading the plugin (``ghostart plugins``,
every app start) costs nothing when another billing adapter is configured.
"""

from __future__ import annotations

import logging
from typing import Any

from ghostart.errors import ConfigurationError
from ghostart.hookspecs import hookimpl
from ghostart.models import Plan
from ghostart.registry import AdapterRegistry, AdapterURL, BuildContext

__all__ = ["PACKAGE", "ghostart_register_adapters"]

PACKAGE = "ghostart-stripe"
log = logging.getLogger("ghostart.stripe")


def _billing(url: AdapterURL, ctx: BuildContext) -> Any:
    try:
        from ghostart_stripe.billing import StripeBilling
    except ImportError as exc:  # the SDK is a dependency, but an environment may be broken
        raise ConfigurationError(
            f"GHOSTART_BILLING={url} needs the stripe SDK: pip install {PACKAGE} ({exc})"
        ) from exc
    from ghostart_stripe.settings import StripeSettings
    from ghostart_stripe.state import BillingState
    from ghostart_stripe.states import MemorySubscriptionStates

    settings = StripeSettings.from_url(url)
    default = Plan(
        name=ctx.settings.default_plan,
        monthly_generations=ctx.settings.default_monthly_generations,
    )
    # Inside an app the core's Store keeps billing state per organization (billing_states);
    # an adapter built outside an app (a script, a test) keeps it in memory.
    states = getattr(ctx, "billing_states", None)
    if states is None:
        log.warning(
            "GHOSTART_BILLING=stripe built outside an app: subscription state is kept in this "
            "process's memory"
        )
        return StripeBilling(
            settings, default_plan=default, clock=ctx.clock, states=MemorySubscriptionStates()
        )
    billing = StripeBilling(settings, default_plan=default, clock=ctx.clock, states=states)
    states.configure(load=BillingState.load, summary=billing.summarise)
    return billing


@hookimpl
def ghostart_register_adapters(registry: AdapterRegistry) -> None:
    """Register the billing adapter for ``stripe``."""
    registry.add_billing(
        "stripe",
        _billing,
        package=PACKAGE,
        description="Stripe Checkout, customer portal, webhooks and meters",
    )
