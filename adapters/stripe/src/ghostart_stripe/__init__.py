"""ghostart on Stripe: plans, Checkout, the customer portal, verified webhooks, metered usage.

Install ``ghostart-stripe``, set a key, the webhook secret and the plans, and choose the adapter::

    GHOSTART_STRIPE_API_KEY=sk_live_...            # or STRIPE_API_KEY
    GHOSTART_STRIPE_WEBHOOK_SECRET=whsec_...        # comma separated while rolling it
    GHOSTART_STRIPE_PLANS='{"pro": {"prices": ["price_..."], "monthly_generations": 500}}'
    GHOSTART_BILLING=stripe                         # or stripe?past_due_grace_days=3

The names are importable from here; importing this package does not import the SDK until a
name that needs it is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ghostart_stripe.billing import CheckoutLink, PortalLink, StripeBilling
    from ghostart_stripe.events import (
        BillingEvent,
        BillingEventType,
        SubscriptionSnapshot,
        SubscriptionStatus,
        normalise,
    )
    from ghostart_stripe.outcome import Outcome
    from ghostart_stripe.plans import PlanCatalog
    from ghostart_stripe.settings import PlanConfig, StripeSettings
    from ghostart_stripe.state import BillingState, Entitlement, entitlement, reduce
    from ghostart_stripe.states import MemorySubscriptionStates, SubscriptionStates
    from ghostart_stripe.webhook import WebhookRejected, verify_signature

__all__ = [
    "BillingEvent",
    "BillingEventType",
    "BillingState",
    "CheckoutLink",
    "Entitlement",
    "MemorySubscriptionStates",
    "Outcome",
    "PlanCatalog",
    "PlanConfig",
    "PortalLink",
    "StripeBilling",
    "StripeSettings",
    "SubscriptionSnapshot",
    "SubscriptionStates",
    "SubscriptionStatus",
    "WebhookRejected",
    "entitlement",
    "normalise",
    "reduce",
    "verify_signature",
]

_WHERE = {
    "BillingEvent": "ghostart_stripe.events",
    "BillingEventType": "ghostart_stripe.events",
    "BillingState": "ghostart_stripe.state",
    "CheckoutLink": "ghostart_stripe.billing",
    "Entitlement": "ghostart_stripe.state",
    "MemorySubscriptionStates": "ghostart_stripe.states",
    "Outcome": "ghostart_stripe.outcome",
    "PlanCatalog": "ghostart_stripe.plans",
    "PlanConfig": "ghostart_stripe.settings",
    "PortalLink": "ghostart_stripe.billing",
    "StripeBilling": "ghostart_stripe.billing",
    "StripeSettings": "ghostart_stripe.settings",
    "SubscriptionSnapshot": "ghostart_stripe.events",
    "SubscriptionStates": "ghostart_stripe.states",
    "SubscriptionStatus": "ghostart_stripe.events",
    "WebhookRejected": "ghostart_stripe.webhook",
    "entitlement": "ghostart_stripe.state",
    "normalise": "ghostart_stripe.events",
    "reduce": "ghostart_stripe.state",
    "verify_signature": "ghostart_stripe.webhook",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'ghostart_stripe' has no attribute {name!r}")
