"""Every SDK error class maps onto the taxonomy, against the error bodies OpenAI documents.

The transient ones are retried by ghostart's RetryPolicy, never by the SDK (one request each).
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from uuid import uuid4

import httpx
import pytest
import respx

from ghostart.errors import (
    ContentRejected,
    PermanentError,
    ProviderError,
    RateLimited,
    TransientError,
)
from ghostart.models import BrandVoice, ContentRequest
from ghostart.retry import RetryPolicy
from ghostart_openai.errors import retry_after
from ghostart_openai.generator import OpenAIGenerator
from ghostart_openai.testing import chat_completion, error_response, post_json

VOICE = BrandVoice(organization_id=uuid4(), name="V", words_to_avoid=["synergy"])
REQUEST = ContentRequest(topic="Onboarding new engineers")
OK = httpx.Response(200, json=chat_completion(post_json()))


def _policy() -> RetryPolicy:
    return RetryPolicy(max_attempts=4, initial_backoff=0.001, max_backoff=0.002)


def _sdk_retry_counts(route: respx.Route) -> set[str]:
    return {call.request.headers["x-stainless-retry-count"] for call in route.calls}


TRANSIENT = [
    pytest.param(error_response("rate_limit_exceeded"), RateLimited, id="429-rate-limit"),
    pytest.param(error_response("server_error"), TransientError, id="500-server-error"),
    pytest.param(error_response("overloaded"), TransientError, id="503-overloaded"),
    pytest.param(
        httpx.Response(502, text="<html><body>502 Bad Gateway</body></html>"),
        TransientError,
        id="502-proxy-html",
    ),
    pytest.param(httpx.ReadTimeout("timed out"), TransientError, id="timeout"),
    pytest.param(httpx.ConnectError("connection refused"), TransientError, id="connection"),
]


@pytest.mark.parametrize(("failure", "expected"), TRANSIENT)
async def test_transient_errors_are_retried_by_the_policy_not_the_sdk(
    chat: respx.Route,
    make_generator: Callable[..., OpenAIGenerator],
    failure: httpx.Response | Exception,
    expected: type[TransientError],
) -> None:
    chat.side_effect = [failure, failure, OK]
    generator = make_generator()

    # Alone, one failing request: the SDK did not retry, and the error is the taxonomy's.
    with pytest.raises(expected) as err:
        await generator.generate(VOICE, REQUEST)
    assert type(err.value) is expected and err.value.provider == "openai"
    assert chat.call_count == 1

    # Under the RetryPolicy: a second request, which succeeds.
    draft = await _policy().call(lambda: generator.generate(VOICE, REQUEST), operation="test")
    assert draft.body and chat.call_count == 3
    assert _sdk_retry_counts(chat) == {"0"}


async def test_rate_limited_carries_the_servers_retry_after(
    chat: respx.Route, make_generator: Callable[..., OpenAIGenerator]
) -> None:
    limited_response = error_response("rate_limit_exceeded")
    chat.side_effect = [limited_response, limited_response, OK]
    generator = make_generator()
    with pytest.raises(RateLimited) as err:
        await generator.generate(VOICE, REQUEST)
    limited = err.value
    assert limited.retry_after == pytest.approx(0.21)  # retry-after-ms: 210
    assert (limited.status, limited.details["code"]) == (429, "rate_limit_exceeded")
    assert limited.details["request_id"] == "req_4d8a3c2b1e0f"
    assert limited.raw["type"] == "tokens"
    started = time.monotonic()
    await RetryPolicy(initial_backoff=5.0).call(  # the backoff would be 2.5 s or more
        lambda: generator.generate(VOICE, REQUEST), operation="test"
    )
    assert 0.2 < time.monotonic() - started < 2.0  # it waited as the server said
    assert chat.call_count == 3


PERMANENT = [
    pytest.param("invalid_api_key", PermanentError, "API key was refused (401)", id="401"),
    pytest.param("unsupported_country", PermanentError, "lacks access (403)", id="403"),
    pytest.param("model_not_found", PermanentError, "does not exist", id="404-model"),
    pytest.param(
        "context_length_exceeded", PermanentError, "context_length_exceeded", id="400-context"
    ),
    pytest.param("invalid_request", PermanentError, "refused (400)", id="400-bad-request"),
    pytest.param("insufficient_quota", PermanentError, "no quota left", id="429-no-quota"),
    pytest.param(
        "azure_content_filter", ContentRejected, "content filter", id="400-content-filter"
    ),
]


@pytest.mark.parametrize(("name", "expected", "says"), PERMANENT)
async def test_permanent_errors_are_not_retried(
    chat: respx.Route,
    make_generator: Callable[..., OpenAIGenerator],
    name: str,
    expected: type[ProviderError],
    says: str,
) -> None:
    chat.side_effect = [error_response(name), OK]
    generator = make_generator(structured="json_schema")
    with pytest.raises(expected) as err:
        await _policy().call(lambda: generator.generate(VOICE, REQUEST), operation="test")
    error = err.value
    assert type(error) is expected, f"{name} became {type(error).__name__}"
    assert says in error.message
    assert error.status == error_response(name).status_code and isinstance(error.raw, dict)
    assert isinstance(error.__cause__, Exception)  # the SDK's error, chained
    assert chat.call_count == 1


async def test_an_auth_error_says_the_key_is_wrong_without_showing_it(
    chat: respx.Route, make_generator: Callable[..., OpenAIGenerator], api_key: str
) -> None:
    echoed = error_response("invalid_api_key")
    body = echoed.json()
    body["error"]["message"] = f"Incorrect API key provided: {api_key}."  # a proxy that echoes it
    chat.side_effect = [httpx.Response(401, json=body)]
    with pytest.raises(PermanentError) as err:
        await make_generator().generate(VOICE, REQUEST)
    message = err.value.message
    assert "API key" in message and "GHOSTART_OPENAI_API_KEY" in message
    assert (
        api_key not in message
        and api_key not in repr(err.value.raw)
        and api_key not in str(err.value)
    )
    cause = err.value.__cause__
    assert cause is not None and api_key not in str(cause) and api_key not in repr(cause.args)


def test_retry_after_reads_every_documented_header() -> None:
    assert retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert retry_after({"retry-after": "2"}) == 2.0
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < (retry_after({"retry-after": later}) or 0) <= 30
    reset = {
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "6m0s",
        "x-ratelimit-remaining-tokens": "0",
        "x-ratelimit-reset-tokens": "1.5s",
    }
    assert retry_after(reset) == 360.0
    assert retry_after(reset | {"x-ratelimit-remaining-requests": "12"}) == 1.5
    assert (
        retry_after({"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "20ms"})
        == 0.02
    )
    assert (
        retry_after({"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "7"}) == 7.0
    )
    assert (
        retry_after({"x-ratelimit-remaining-tokens": "5", "x-ratelimit-reset-tokens": "7"}) is None
    )
    assert retry_after({"retry-after": "soon"}) is None
    assert retry_after({}) is None
