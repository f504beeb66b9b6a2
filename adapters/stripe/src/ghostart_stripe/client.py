"""The Stripe calls ghostart makes, on the official SDK's ``StripeClient`` async methods.

Requests go through ``stripe.HTTPXClient`` (httpx, so respx sees every one in tests); the SDK's
own network retries are 0 (ghostart's RetryPolicy is the only one that retries); every POST
carries the idempotency key its caller derived (:mod:`ghostart_stripe.keys`); every SDK error
leaves as a ghostart error (:func:`ghostart_stripe.errors.map_error`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import stripe

from ghostart.errors import ConfigurationError
from ghostart_stripe.errors import KEY_SETTING, map_error
from ghostart_stripe.events import ORGANIZATION_KEY
from ghostart_stripe.settings import StripeSettings

__all__ = ["StripeApi"]

T = TypeVar("T")


def _plain(obj: Any) -> dict[str, Any]:
    """A StripeObject as plain data."""
    data = obj.to_dict() if hasattr(obj, "to_dict") else obj
    return dict(data) if isinstance(data, dict) else {}


class StripeApi:
    """Thin, typed access to the endpoints ghostart uses; errors already translated."""

    def __init__(
        self, settings: StripeSettings, *, http_client: stripe.HTTPClient | None = None
    ) -> None:
        key = settings.api_key.get_secret_value() if settings.api_key else ""
        if not key.strip():
            raise ConfigurationError(
                f"GHOSTART_BILLING=stripe needs an API key: set {KEY_SETTING} "
                "(a secret sk_... or restricted rk_... key)"
            )
        self.settings = settings
        self._secret = key
        self._owns_http = http_client is None
        self._http = http_client or stripe.HTTPXClient(timeout=settings.timeout)
        self._client = stripe.StripeClient(
            key,
            http_client=self._http,
            max_network_retries=0,  # ghostart's RetryPolicy is the only one that retries
            base_addresses={"api": settings.resolved_api_base},
        )

    def __repr__(self) -> str:
        return f"StripeApi(api_base={self.settings.resolved_api_base!r})"

    async def aclose(self) -> None:
        """Close the HTTP client, if this object made it."""
        if self._owns_http:
            await self._http.close_async()  # type: ignore[no-untyped-call]

    async def _call(self, operation: str, call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await call()
        except stripe.StripeError as exc:
            raise map_error(exc, secret=self._secret, operation=operation) from exc

    async def find_customer(self, organization_id: UUID) -> str | None:
        """The oldest customer whose metadata names ``organization_id`` (Stripe's search)."""
        query = f"metadata['{ORGANIZATION_KEY}']:'{organization_id}'"
        found = await self._call(
            "search customers",
            lambda: self._client.v1.customers.search_async(params={"query": query, "limit": 10}),
        )
        customers = [c for c in _plain(found).get("data") or [] if isinstance(c, dict)]
        customers.sort(key=lambda c: (c.get("created") or 0, c.get("id") or ""))
        return str(customers[0]["id"]) if customers else None

    async def create_customer(
        self,
        organization_id: UUID,
        *,
        idempotency_key: str,
        email: str | None = None,
        name: str | None = None,
    ) -> str:
        """A new customer for the organization (its id in metadata); the customer's id."""
        params: dict[str, Any] = {"metadata": {ORGANIZATION_KEY: str(organization_id)}}
        if email:
            params["email"] = email
        if name:
            params["name"] = name
        customer = await self._call(
            "create customer",
            lambda: self._client.v1.customers.create_async(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            ),
        )
        return str(_plain(customer)["id"])

    async def create_checkout_session(
        self, params: dict[str, Any], *, idempotency_key: str
    ) -> dict[str, Any]:
        """``POST /v1/checkout/sessions``; the session."""
        session = await self._call(
            "create checkout session",
            lambda: self._client.v1.checkout.sessions.create_async(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            ),
        )
        return _plain(session)

    async def create_portal_session(
        self, params: dict[str, Any], *, idempotency_key: str
    ) -> dict[str, Any]:
        """``POST /v1/billing_portal/sessions``; the session."""
        session = await self._call(
            "create customer portal session",
            lambda: self._client.v1.billing_portal.sessions.create_async(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            ),
        )
        return _plain(session)

    async def retrieve_subscription(self, subscription_id: str) -> dict[str, Any]:
        """``GET /v1/subscriptions/{id}``; the subscription as Stripe holds it now."""
        subscription = await self._call(
            "retrieve subscription",
            lambda: self._client.v1.subscriptions.retrieve_async(subscription_id),
        )
        return _plain(subscription)

    async def create_meter_event(
        self,
        *,
        event_name: str,
        customer_id: str,
        value: int,
        identifier: str,
        timestamp: datetime | None = None,
    ) -> dict[str, Any]:
        """``POST /v1/billing/meter_events``; Stripe drops a repeated ``identifier``."""
        params: dict[str, Any] = {
            "event_name": event_name,
            "identifier": identifier,
            "payload": {"stripe_customer_id": customer_id, "value": str(value)},
        }
        if timestamp is not None:
            params["timestamp"] = int(timestamp.timestamp())
        event = await self._call(
            "report usage",
            lambda: self._client.v1.billing.meter_events.create_async(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": identifier},
            ),
        )
        return _plain(event)
