"""Billing: the provider's webhook (public), Checkout and the portal (admins), the status.

The webhook route reads the raw body before anything parses it (the signature covers the exact
bytes), sits behind no authentication and no per-member rate limit (the provider retries on its
own schedule), records the event with its job and answers at once; the worker does the rest.
Every route answers 404 ``billing_not_configured`` when ``GHOSTART_BILLING=none``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, ConfigDict, Field

from ghostart.registry import AdapterURL
from ghostart.services.billing import BillingNotConfigured
from ghostart.web.auth import OrgPrincipal
from ghostart.web.routers._common import ORG, ghostart_of

router = APIRouter(tags=["billing"])

#: A client's own ``Idempotency-Key``: the same key gives the same Checkout or portal session.
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200, pattern=r"^[!-~]+$")
]


class CheckoutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan: str = Field(min_length=1, max_length=80)
    price: str | None = Field(default=None, min_length=1, max_length=200)


class CheckoutOut(BaseModel):
    session_id: str
    url: str


class PortalOut(BaseModel):
    url: str


class WebhookAck(BaseModel):
    received: bool = True
    duplicate: bool


@router.post("/webhooks/{provider}", response_model=WebhookAck)
async def webhook(request: Request, provider: str) -> WebhookAck:
    """A billing provider's webhook (public; the signature on the raw body is the check)."""
    app = ghostart_of(request)
    if provider != AdapterURL.parse(app.settings.billing).base_scheme:
        raise BillingNotConfigured(f"no billing provider {provider!r} is configured here")
    body = await request.body()
    received = await app.subscriptions.receive_webhook(
        body, request.headers.get("Stripe-Signature")
    )
    return WebhookAck(duplicate=received.duplicate)


@router.post(ORG + "/billing/checkout", status_code=201)
async def checkout(
    request: Request, principal: OrgPrincipal, body: CheckoutIn, key: IdempotencyKey = None
) -> CheckoutOut:
    """A Checkout Session for a plan (admins); send the admin to ``url``."""
    link = await ghostart_of(request).subscriptions.checkout(
        principal, body.plan, price=body.price, operation_id=key
    )
    return CheckoutOut(session_id=link.session_id, url=link.url)


@router.post(ORG + "/billing/portal", status_code=201)
async def portal(
    request: Request, principal: OrgPrincipal, key: IdempotencyKey = None
) -> PortalOut:
    """A customer-portal session (admins of a subscribed organization)."""
    link = await ghostart_of(request).subscriptions.portal(principal, operation_id=key)
    return PortalOut(url=link.url)


@router.get(ORG + "/billing")
async def billing_status(request: Request, principal: OrgPrincipal) -> dict[str, Any]:
    """The organization's plan, where it comes from, and this period's use."""
    return dict(await ghostart_of(request).subscriptions.status(principal))
