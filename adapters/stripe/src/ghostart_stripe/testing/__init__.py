"""Stripe's documented object, event and error shapes, for tests with respx (no network, no key).

``respx`` comes with ``ghostart[test]``; this module is for tests only::

    with respx.mock(base_url=STRIPE_API_BASE) as mock:
        mock.post("/v1/customers").mock(return_value=httpx.Response(200, json=customer()))

Objects follow the API reference at the SDK's API version (2025-03-31 and later: billing periods
on subscription items, an invoice's subscription under ``parent.subscription_details``).
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from ghostart_stripe.events import ORGANIZATION_KEY, PLAN_KEY
from ghostart_stripe.settings import STRIPE_API_BASE
from ghostart_stripe.testing.errors import DOCUMENTED_ERRORS, error_response
from ghostart_stripe.webhook import sign_header

__all__ = [
    "API_VERSION",
    "DOCUMENTED_ERRORS",
    "STRIPE_API_BASE",
    "checkout_session",
    "customer",
    "error_response",
    "event",
    "event_body",
    "invoice",
    "meter_event",
    "portal_session",
    "search_result",
    "sign_header",
    "subscription",
]

API_VERSION = "2026-10-28.endive"
_CREATED = 1767225600  # 2026-01-01T00:00:00Z


def _meta(organization_id: UUID | str | None, **more: str) -> dict[str, str]:
    data = {ORGANIZATION_KEY: str(organization_id)} if organization_id else {}
    return data | more


def customer(
    id: str = "cus_NffrFeUfNV2Hib",
    *,
    organization_id: UUID | str | None = None,
    name: str | None = None,
    created: int = _CREATED,
) -> dict[str, Any]:
    """A customer object (``POST /v1/customers``)."""
    return {
        "id": id,
        "object": "customer",
        "address": None,
        "balance": 0,
        "created": created,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "email": None,
        "invoice_prefix": "0759376C",
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": _meta(organization_id),
        "name": name,
        "next_invoice_sequence": 1,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def search_result(*objects: dict[str, Any], url: str = "/v1/customers/search") -> dict[str, Any]:
    """A search result page (``GET /v1/customers/search``)."""
    return {
        "object": "search_result",
        "url": url,
        "has_more": False,
        "data": list(objects),
        "next_page": None,
    }


def checkout_session(
    id: str = "cs_test_a11YYufWQzNY63zpQ6QSNRQhkUpVph4WRmzW0zWJO2znZKdVujZ0N0S22u",
    *,
    customer: str = "cus_NffrFeUfNV2Hib",
    organization_id: UUID | str | None = None,
    plan: str | None = None,
    subscription: str | None = None,
    status: str = "open",
    payment_status: str = "unpaid",
    created: int = _CREATED,
) -> dict[str, Any]:
    """A Checkout Session in ``subscription`` mode (``POST /v1/checkout/sessions``)."""
    metadata = _meta(organization_id, **({PLAN_KEY: plan} if plan else {}))
    return {
        "id": id,
        "object": "checkout.session",
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": 2900,
        "amount_total": 2900,
        "automatic_tax": {"enabled": False, "liability": None, "status": None},
        "billing_address_collection": None,
        "cancel_url": "https://app.example.com/billing",
        "client_reference_id": str(organization_id) if organization_id else None,
        "created": created,
        "currency": "usd",
        "customer": customer,
        "customer_email": None,
        "expires_at": created + 86400,
        "invoice": None,
        "livemode": False,
        "locale": None,
        "metadata": metadata,
        "mode": "subscription",
        "payment_intent": None,
        "payment_method_types": ["card"],
        "payment_status": payment_status,
        "status": status,
        "subscription": subscription,
        "success_url": "https://app.example.com/billing?session={CHECKOUT_SESSION_ID}",
        "ui_mode": "hosted",
        "url": f"https://checkout.stripe.com/c/pay/{id}",
    }


def portal_session(
    id: str = "bps_1MrSjzLkdIwHu7ixex0IvU9b",
    *,
    customer: str = "cus_NffrFeUfNV2Hib",
    return_url: str = "https://app.example.com/billing",
    created: int = _CREATED,
) -> dict[str, Any]:
    """A customer-portal session (``POST /v1/billing_portal/sessions``)."""
    return {
        "id": id,
        "object": "billing_portal.session",
        "configuration": "bpc_1MAhNDLkdIwHu7ixckACO1Jq",
        "created": created,
        "customer": customer,
        "flow": None,
        "livemode": False,
        "locale": None,
        "on_behalf_of": None,
        "return_url": return_url,
        "url": f"https://billing.stripe.com/p/session/test_{id}",
    }


def subscription(
    id: str = "sub_1MowQVLkdIwHu7ixeRlqHVzs",
    *,
    status: str = "active",
    prices: tuple[str, ...] = ("price_pro_monthly",),
    customer: str = "cus_NffrFeUfNV2Hib",
    organization_id: UUID | str | None = None,
    created: int = _CREATED,
    period_start: int | None = None,
    period_end: int | None = None,
    cancel_at_period_end: bool = False,
    canceled_at: int | None = None,
    ended_at: int | None = None,
    trial_end: int | None = None,
) -> dict[str, Any]:
    """A subscription object; billing periods on its items, as API versions since 2025-03-31."""
    start = period_start if period_start is not None else created
    end = period_end if period_end is not None else start + 30 * 86400
    items = [
        {
            "id": f"si_{id[-10:]}{n}",
            "object": "subscription_item",
            "created": created,
            "current_period_end": end,
            "current_period_start": start,
            "metadata": {},
            "price": {
                "id": price,
                "object": "price",
                "active": True,
                "currency": "usd",
                "product": "prod_NWjs8kKbJWmuuc",
                "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed"},
                "type": "recurring",
                "unit_amount": 2900,
            },
            "quantity": 1,
            "subscription": id,
        }
        for n, price in enumerate(prices)
    ]
    return {
        "id": id,
        "object": "subscription",
        "application": None,
        "automatic_tax": {"enabled": False, "liability": None},
        "billing_cycle_anchor": created,
        "cancel_at": None,
        "cancel_at_period_end": cancel_at_period_end,
        "canceled_at": canceled_at,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically",
        "created": created,
        "currency": "usd",
        "customer": customer,
        "default_payment_method": None,
        "ended_at": ended_at,
        "items": {
            "object": "list",
            "data": items,
            "has_more": False,
            "total_count": len(items),
            "url": f"/v1/subscription_items?subscription={id}",
        },
        "latest_invoice": "in_1MtHbELkdIwHu7ixl4OzzPMv",
        "livemode": False,
        "metadata": _meta(organization_id),
        "pause_collection": None,
        "start_date": created,
        "status": status,
        "trial_end": trial_end,
        "trial_start": None,
    }


def invoice(
    id: str = "in_1MtHbELkdIwHu7ixl4OzzPMv",
    *,
    subscription: str | None = "sub_1MowQVLkdIwHu7ixeRlqHVzs",
    customer: str = "cus_NffrFeUfNV2Hib",
    organization_id: UUID | str | None = None,
    status: str = "paid",
    attempt_count: int = 1,
    amount_due: int = 2900,
    next_payment_attempt: int | None = None,
    billing_reason: str = "subscription_cycle",
    created: int = _CREATED,
) -> dict[str, Any]:
    """An invoice of a subscription; the subscription under ``parent.subscription_details``."""
    parent = (
        {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {
                "metadata": _meta(organization_id),
                "subscription": subscription,
            },
        }
        if subscription
        else None
    )
    return {
        "id": id,
        "object": "invoice",
        "amount_due": amount_due,
        "amount_paid": amount_due if status == "paid" else 0,
        "amount_remaining": 0 if status == "paid" else amount_due,
        "attempt_count": attempt_count,
        "attempted": True,
        "billing_reason": billing_reason,
        "collection_method": "charge_automatically",
        "created": created,
        "currency": "usd",
        "customer": customer,
        "hosted_invoice_url": f"https://invoice.stripe.com/i/acct_1M2JTkLkdIwHu7ix/test_{id}",
        "livemode": False,
        "next_payment_attempt": next_payment_attempt,
        "parent": parent,
        "status": status,
        "total": amount_due,
    }


def meter_event(
    *, event_name: str, customer: str, value: int, identifier: str, timestamp: int = _CREATED
) -> dict[str, Any]:
    """A meter event (``POST /v1/billing/meter_events``)."""
    return {
        "object": "billing.meter_event",
        "created": timestamp,
        "event_name": event_name,
        "identifier": identifier,
        "livemode": False,
        "payload": {"stripe_customer_id": customer, "value": str(value)},
        "timestamp": timestamp,
    }


def event(
    type: str,
    obj: dict[str, Any],
    *,
    id: str = "evt_1NG8Du2eZvKYlo2CUI79vXWy",
    created: int = _CREATED,
    previous_attributes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An event object, as a webhook delivers it."""
    data: dict[str, Any] = {"object": obj}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    return {
        "id": id,
        "object": "event",
        "api_version": API_VERSION,
        "created": created,
        "data": data,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": type,
    }


def event_body(evt: dict[str, Any]) -> bytes:
    """The raw body Stripe posts (compact JSON, as sent)."""
    return json.dumps(evt, separators=(",", ":")).encode("utf-8")
