"""Every documented Resend error maps onto the taxonomy; keys and addresses never leak."""

from __future__ import annotations

import email.utils
import logging
import time
from uuid import uuid4

import httpx
import pytest
import respx

from ghostart.errors import PermanentError, ProviderError, RateLimited, TransientError
from ghostart.ports.mailer import Email
from ghostart.retry import RetryPolicy
from ghostart_resend.errors import retry_after
from ghostart_resend.mailer import ResendMailer
from ghostart_resend.testing import DOCUMENTED_ERRORS, error_response

from .conftest import KEY


def _email() -> Email:
    return Email(
        to=["ada@example.com"],
        subject="Your draft is ready",
        text="Open ghostart to review it.",
        idempotency_key=f"email:{uuid4()}",
    )


# name -> (error type, the setting the message must name, or None)
EXPECTED: dict[str, tuple[type[ProviderError], str | None]] = {
    "validation_error": (PermanentError, None),
    "missing_required_field": (PermanentError, None),
    "invalid_idempotency_key": (PermanentError, None),
    "bad_request": (PermanentError, None),
    "missing_api_key": (PermanentError, "GHOSTART_RESEND_API_KEY"),
    "invalid_api_key": (PermanentError, "GHOSTART_RESEND_API_KEY"),
    "testing_domain": (PermanentError, "GHOSTART_RESEND_FROM"),
    "domain_not_verified": (PermanentError, "GHOSTART_RESEND_FROM"),
    "invalid_idempotent_request": (PermanentError, None),
    "concurrent_idempotent_requests": (TransientError, None),
    "rate_limit_exceeded": (RateLimited, None),
    "daily_quota_exceeded": (RateLimited, None),
    "monthly_quota_exceeded": (PermanentError, None),
    "application_error": (TransientError, None),
    "internal_server_error": (TransientError, None),
}


def test_every_documented_error_has_an_expectation() -> None:
    assert set(EXPECTED) == set(DOCUMENTED_ERRORS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_documented_errors_map_onto_the_taxonomy(
    mailer: ResendMailer, resend_mock: respx.MockRouter, name: str
) -> None:
    resend_mock.post("/emails").mock(return_value=error_response(name))
    kind, setting = EXPECTED[name]
    with pytest.raises(ProviderError) as info:
        await mailer.send(_email())
    err = info.value
    assert type(err) is kind
    status, code, _, _ = DOCUMENTED_ERRORS[name]
    assert (err.provider, err.status, err.details["code"]) == ("resend", status, code)
    assert err.raw["statusCode"] == status and err.raw["name"] == code
    if setting:
        assert setting in str(err)
    assert isinstance(err.__cause__, Exception)  # the SDK's error, kept


@pytest.mark.parametrize(
    ("name", "seconds"), [("rate_limit_exceeded", 1.0), ("daily_quota_exceeded", 3600.0)]
)
async def test_rate_limits_carry_retry_after(
    mailer: ResendMailer, resend_mock: respx.MockRouter, name: str, seconds: float
) -> None:
    resend_mock.post("/emails").mock(return_value=error_response(name))
    with pytest.raises(RateLimited) as info:
        await mailer.send(_email())
    assert info.value.retry_after == seconds


def test_retry_after_reads_seconds_dates_and_the_reset_header() -> None:
    assert retry_after({"Retry-After": "2"}) == 2.0
    assert retry_after({"ratelimit-reset": "3"}) == 3.0
    assert retry_after({"retry-after": "soon", "ratelimit-reset": "x"}) is None
    assert retry_after({}) is None
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    wait = retry_after({"retry-after": later})
    assert wait is not None and 25 <= wait <= 31


async def test_the_policy_waits_as_told_then_sends_with_the_same_key(
    mailer: ResendMailer, resend_mock: respx.MockRouter
) -> None:
    route = resend_mock.post("/emails").mock(
        side_effect=[
            error_response("rate_limit_exceeded", **{"retry-after": "0"}),
            httpx.Response(200, json={"id": "49a3999c-0ce1-4ea6-ab68-afcd6dc2e794"}),
        ]
    )
    email = _email()
    policy = RetryPolicy(initial_backoff=5.0)  # a backoff would take 2.5 s or more
    started = time.monotonic()
    assert await policy.call(lambda: mailer.send(email), operation="email.send")
    assert time.monotonic() - started < 1.0  # retry_after=0 was obeyed, not the backoff
    assert {c.request.headers["idempotency-key"] for c in route.calls} == {email.idempotency_key}


async def test_a_daily_quota_is_left_to_the_outbox_not_waited_in_process(
    mailer: ResendMailer, resend_mock: respx.MockRouter
) -> None:
    route = resend_mock.post("/emails").mock(return_value=error_response("daily_quota_exceeded"))
    with pytest.raises(RateLimited):
        await RetryPolicy().call(lambda: mailer.send(_email()), operation="email.send")
    assert route.call_count == 1  # retry_after 3600 s > max_rate_limit_wait: no in-process retry


@pytest.mark.parametrize(
    ("failure", "timeout"),
    [(httpx.ReadTimeout("slow"), True), (httpx.ConnectError("refused"), False)],
)
async def test_transport_failures_are_transient(
    mailer: ResendMailer, resend_mock: respx.MockRouter, failure: Exception, timeout: bool
) -> None:
    resend_mock.post("/emails").mock(side_effect=failure)
    with pytest.raises(TransientError) as info:
        await mailer.send(_email())
    assert type(info.value) is TransientError
    assert info.value.details.get("timeout") is timeout


async def test_a_non_json_gateway_error_is_transient(
    mailer: ResendMailer, resend_mock: respx.MockRouter
) -> None:
    resend_mock.post("/emails").mock(
        return_value=httpx.Response(502, text="<html>Bad gateway</html>")
    )
    with pytest.raises(TransientError) as info:
        await mailer.send(_email())
    assert info.value.status == 502


async def test_the_key_and_addresses_never_reach_errors_or_logs(
    mailer: ResendMailer, resend_mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    # A proxy that echoes the key, and Resend's own message naming the account owner's address.
    message = f"Bad key {KEY} for owner@acme.example and ada@example.com"
    resend_mock.post("/emails").mock(
        return_value=httpx.Response(
            403, json={"statusCode": 403, "name": "validation_error", "message": message}
        )
    )
    caplog.set_level(logging.DEBUG)
    with pytest.raises(PermanentError) as info:
        await mailer.send(_email())
    err = info.value
    cause = err.__cause__
    texts = [str(err), repr(err.raw), repr(err.details), str(cause), repr(cause), caplog.text]
    for text in texts:
        assert KEY not in text
        assert "owner@acme.example" not in text and "ada@example.com" not in text
    assert "o***@acme.example" in str(err)
