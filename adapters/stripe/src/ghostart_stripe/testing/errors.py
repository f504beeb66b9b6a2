"""Stripe's documented error bodies (api/errors, error-codes, rate-limits), for respx."""

from __future__ import annotations

from typing import Any

import httpx

__all__ = ["DOCUMENTED_ERRORS", "error_response"]


def _error(type_: str, message: str, **fields: str) -> dict[str, Any]:
    body: dict[str, Any] = {"type": type_, "message": message}
    code = fields.get("code")
    if code:
        body["doc_url"] = f"https://docs.stripe.com/error-codes/{code.replace('_', '-')}"
    body |= fields
    body["request_log_url"] = (
        "https://dashboard.stripe.com/test/logs/req_xy2Q3Z5n8tRvGk?t=1767225600"
    )
    return {"error": body}


#: Errors as Stripe documents them (api/errors, error-codes, rate-limits): status, body, headers.
DOCUMENTED_ERRORS: dict[str, tuple[int, dict[str, Any], dict[str, str]]] = {
    "card_declined": (
        402,
        _error(
            "card_error",
            "Your card has insufficient funds.",
            code="card_declined",
            decline_code="insufficient_funds",
            charge="ch_3MmlLrLkdIwHu7ix0snN0B15",
        ),
        {},
    ),
    "rate_limit": (
        429,
        _error(
            "invalid_request_error",
            "Request rate limit exceeded. Learn more about rate limits here "
            "https://stripe.com/docs/rate-limits.",
            code="rate_limit",
        ),
        {"Retry-After": "2", "Stripe-Rate-Limited-Reason": "global-rate"},
    ),
    "lock_timeout": (
        429,
        _error(
            "invalid_request_error",
            "This object cannot be accessed right now because another API request or Stripe "
            "process is currently accessing it. If you see this error intermittently, retry the "
            "request. If you see this error frequently and are making multiple concurrent "
            "requests to a single object, make your requests serially or at a lower rate.",
            code="lock_timeout",
        ),
        {"Stripe-Should-Retry": "true"},
    ),
    "invalid_api_key": (
        401,
        {
            "error": {
                "message": "Invalid API Key provided: sk_test_********************DO-NOT-LEAK",
                "type": "invalid_request_error",
            }
        },
        {},
    ),
    "restricted_key": (
        403,
        {
            "error": {
                "message": "The provided key 'rk_test_*********************************abcd' "
                "does not have the required permissions for this endpoint on account "
                "'acct_1M2JTkLkdIwHu7ix'. Having the 'rak_checkout_session_write' permission "
                "would allow this request to continue.",
                "type": "invalid_request_error",
            }
        },
        {},
    ),
    "no_such_price": (
        400,
        _error(
            "invalid_request_error",
            "No such price: 'price_gone'",
            code="resource_missing",
            param="line_items[0][price]",
        ),
        {},
    ),
    "no_such_customer": (
        404,
        _error(
            "invalid_request_error",
            "No such customer: 'cus_gone'",
            code="resource_missing",
            param="customer",
        ),
        {},
    ),
    "idempotency_mismatch": (
        400,
        {
            "error": {
                "message": "Keys for idempotent requests can only be used with the same "
                "parameters they were first used with. Try using a key other than "
                "'ghostart:checkout:x' if you meant to execute a different request.",
                "type": "idempotency_error",
            }
        },
        {},
    ),
    "idempotency_in_use": (
        409,
        {
            "error": {
                "code": "idempotency_key_in_use",
                "message": "There is currently another in-progress request using this "
                "Idempotent Key (that probably means you submitted twice, and the other request "
                "is still going through): ghostart:customer:x. Please try again later.",
                "type": "invalid_request_error",
            }
        },
        {},
    ),
    "api_error": (
        500,
        {"error": {"message": "An unknown error occurred", "type": "api_error"}},
        {},
    ),
    "api_error_no_retry": (
        500,
        {"error": {"message": "An unknown error occurred", "type": "api_error"}},
        {"Stripe-Should-Retry": "false"},
    ),
    "service_unavailable": (
        503,
        {"error": {"message": "Stripe is temporarily unavailable.", "type": "api_error"}},
        {},
    ),
}


def error_response(name: str, **headers: str) -> httpx.Response:
    """The documented error ``name`` as an HTTP response (with ``Request-Id``)."""
    status, body, documented = DOCUMENTED_ERRORS[name]
    return httpx.Response(
        status, json=body, headers={"Request-Id": "req_xy2Q3Z5n8tRvGk"} | documented | headers
    )
