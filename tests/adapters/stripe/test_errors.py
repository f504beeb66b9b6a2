"""Every SDK error maps onto the taxonomy, against the error bodies Stripe documents.

Transient ones are retried by ghostart's RetryPolicy (never by the SDK), with the same
Idempotency-Key.
"""

from __future__ import annotations

import email.utils
import time
from uuid import uuid4

import httpx
import pytest
import respx

from ghostart.errors import PermanentError, ProviderError, RateLimited, TransientError
from ghostart.retry import RetryPolicy
from ghostart_stripe.billing import StripeBilling
from ghostart_stripe.errors import retry_after
from ghostart_stripe.testing import customer, error_response, subscription
from tests.adapters.stripe.conftest import KEY

ORG = uuid4()


def _policy() -> RetryPolicy:
    return RetryPolicy(max_attempts=4, initial_backoff=0.001, max_backoff=0.002)


async def _create(billing: StripeBilling) -> str:
    return await billing.api.create_customer(ORG, idempotency_key="ghostart:customer:k")


@pytest.mark.parametrize(
    ("name", "expected", "says"),
    [
        ("rate_limit", RateLimited, "rate limited (429)"),
        ("lock_timeout", RateLimited, "locked by another request"),
        ("api_error", TransientError, "(500)"),
        ("service_unavailable", TransientError, "(503)"),
        ("idempotency_in_use", TransientError, "(409)"),
    ],
)
async def test_transient_errors_are_retried_by_the_policy_with_the_same_key(
    billing: StripeBilling, stripe_mock: respx.MockRouter, name: str, expected: type, says: str
) -> None:
    failure = error_response(name, **{"Retry-After": "0"})
    route = stripe_mock.post("/v1/customers").mock(
        side_effect=[failure, failure, httpx.Response(200, json=customer("cus_1"))]
    )
    with pytest.raises(expected) as err:
        await _create(billing)
    assert says in str(err.value) and err.value.provider == "stripe"
    assert route.call_count == 1  # the SDK did not retry on its own
    assert await _policy().call(lambda: _create(billing), operation="customer") == "cus_1"
    keys = {c.request.headers["Idempotency-Key"] for c in route.calls}
    assert keys == {"ghostart:customer:k"} and route.call_count == 3


async def test_a_rate_limit_carries_retry_after_and_the_documented_details(
    billing: StripeBilling, stripe_mock: respx.MockRouter
) -> None:
    stripe_mock.post("/v1/customers").mock(return_value=error_response("rate_limit"))
    with pytest.raises(RateLimited) as err:
        await _create(billing)
    e = err.value
    assert (e.retry_after, e.status, e.details["code"]) == (2.0, 429, "rate_limit")
    assert e.details["request_id"] == "req_xy2Q3Z5n8tRvGk"
    assert e.raw["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    "exc",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("eof")],
)
async def test_connection_failures_and_timeouts_are_transient(
    billing: StripeBilling, stripe_mock: respx.MockRouter, exc: Exception
) -> None:
    stripe_mock.post("/v1/customers").mock(side_effect=exc)
    with pytest.raises(TransientError) as err:
        await _create(billing)
    assert type(err.value) is TransientError
    assert err.value.details.get("timeout", False) is isinstance(exc, httpx.TimeoutException)


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("invalid_api_key", "GHOSTART_STRIPE_API_KEY"),
        ("restricted_key", "GHOSTART_STRIPE_API_KEY"),
        ("card_declined", "decline code insufficient_funds"),
        ("no_such_price", "line_items[0][price]"),
        ("no_such_customer", "resource_missing"),
        ("idempotency_mismatch", "used with other parameters"),
        ("api_error_no_retry", "(500"),
    ],
)
async def test_permanent_errors_are_not_retried(
    billing: StripeBilling, stripe_mock: respx.MockRouter, name: str, says: str
) -> None:
    route = stripe_mock.post("/v1/customers").mock(return_value=error_response(name))
    with pytest.raises(PermanentError) as err:
        await _policy().call(lambda: _create(billing), operation="customer")
    assert says in str(err.value)
    assert route.call_count == 1
    assert err.value.status == error_response(name).status_code


async def test_a_card_error_keeps_the_codes_a_caller_needs(
    billing: StripeBilling, stripe_mock: respx.MockRouter
) -> None:
    stripe_mock.post("/v1/customers").mock(return_value=error_response("card_declined"))
    with pytest.raises(PermanentError) as err:
        await _create(billing)
    assert (err.value.details["code"], err.value.details["decline_code"]) == (
        "card_declined",
        "insufficient_funds",
    )


async def test_a_5xx_stripe_says_not_to_retry_is_permanent_and_one_it_says_to_retry_is_not(
    billing: StripeBilling, stripe_mock: respx.MockRouter
) -> None:
    stripe_mock.get("/v1/subscriptions/sub_1").mock(
        side_effect=[
            error_response("api_error", **{"Stripe-Should-Retry": "false"}),
            error_response("no_such_price", **{"Stripe-Should-Retry": "true"}),
            httpx.Response(200, json=subscription("sub_1")),
        ]
    )
    with pytest.raises(PermanentError):
        await billing.api.retrieve_subscription("sub_1")
    with pytest.raises(TransientError):
        await billing.api.retrieve_subscription("sub_1")


async def test_a_key_echoed_by_a_proxy_is_masked_everywhere(
    billing: StripeBilling, stripe_mock: respx.MockRouter
) -> None:
    body = {
        "error": {"message": f"Invalid API Key provided: {KEY}", "type": "invalid_request_error"}
    }
    stripe_mock.post("/v1/customers").mock(return_value=httpx.Response(401, json=body))
    with pytest.raises(ProviderError) as err:
        await _create(billing)
    cause = err.value.__cause__
    for text in (
        str(err.value),
        repr(err.value.details),
        str(cause),
        repr(cause),
        repr(cause.args),
    ):  # type: ignore[union-attr]
        assert KEY not in text
    assert "***" in str(err.value)


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after({"Retry-After": "3"}) == 3.0
    assert retry_after({"retry-after": "-1"}) == 0.0
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    wait = retry_after({"Retry-After": when})
    assert wait is not None and 25 <= wait <= 31
    assert retry_after({"Retry-After": "soon"}) is None and retry_after({}) is None
