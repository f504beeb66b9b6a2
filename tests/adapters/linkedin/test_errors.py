"""Every row of the error table, each with LinkedIn's documented body, and the daily budgets."""

from __future__ import annotations

import json
from uuid import uuid4

import httpx
import pytest

from ghostart.errors import (
    AuthExpired,
    ConfigurationError,
    DuplicateContent,
    GhostartError,
    PermanentError,
    RateLimited,
    TransientError,
)
from ghostart.ports import PublishRequest
from ghostart.testing import ManualClock
from ghostart_linkedin.connections import Connection
from ghostart_linkedin.errors import map_response
from ghostart_linkedin.fake import FakeLinkedIn
from ghostart_linkedin.publisher import LinkedInPublisher
from ghostart_linkedin.testing import DOCUMENTED_ERRORS, error_response
from tests.adapters.linkedin.conftest import Connect, MakePublisher


def _request(connection: Connection) -> PublishRequest:
    post_id = uuid4()
    return PublishRequest(
        post_id=post_id,
        organization_id=connection.organization_id,
        author_id=connection.user_id,
        body=f"Post {post_id}",
        idempotency_key=f"post:{post_id}",
    )


async def _fail_with(
    publisher: LinkedInPublisher, linkedin: FakeLinkedIn, connect: Connect, name: str
) -> GhostartError:
    connection = await connect()
    linkedin.fail_next("create", name)
    with pytest.raises(GhostartError) as caught:
        await publisher.publish(_request(connection))
    error = caught.value
    # No token in any part of the error, whatever LinkedIn echoed.
    shown = str(error) + json.dumps(error.details, default=str) + repr(getattr(error, "raw", ""))
    assert not [t for t in linkedin.access_tokens if t in shown]
    return error


def test_401_is_auth_expired_with_linkedins_code() -> None:
    error = map_response(error_response("revoked_token"), operation="x", now=ManualClock().now())
    assert isinstance(error, AuthExpired)
    assert (
        error.details["service_error_code"] == 65601
        and error.details["code"] == "REVOKED_ACCESS_TOKEN"
    )
    # The publisher refreshes once, then needs reconnecting: see test_tokens.py.


async def test_429_is_rate_limited_until_midnight_utc_and_stops_further_calls(
    publisher: LinkedInPublisher, linkedin: FakeLinkedIn, connect: Connect, clock: ManualClock
) -> None:
    error = await _fail_with(publisher, linkedin, connect, "throttled_application")
    assert isinstance(error, RateLimited) and error.status == 429
    assert error.retry_after == 12 * 3600  # the clock says 12:00 UTC
    assert error.details["scope"] == "application"
    # The app's budget for today is spent: no other member's call reaches LinkedIn.
    other = await connect(sub="someoneelse")
    calls = linkedin.calls("create")
    with pytest.raises(RateLimited) as again:
        await publisher.publish(_request(other))
    assert again.value.details["local"] is True and linkedin.calls("create") == calls
    clock.advance(12 * 3600)  # midnight UTC: a new day, a new budget
    await publisher.publish(_request(other))


async def test_a_member_429_spends_only_that_members_day(
    publisher: LinkedInPublisher, linkedin: FakeLinkedIn, connect: Connect
) -> None:
    error = await _fail_with(publisher, linkedin, connect, "throttled")
    assert isinstance(error, RateLimited) and error.details["scope"] == "member"
    await publisher.publish(_request(await connect(sub="someoneelse")))  # another member is fine


async def test_our_own_daily_budget_refuses_before_linkedin_does(
    make_publisher: MakePublisher, linkedin: FakeLinkedIn, connect: Connect
) -> None:
    publisher = make_publisher(member_daily_limit=2)
    connection = await connect(into=publisher)
    for _ in range(2):
        await publisher.publish(_request(connection))
    with pytest.raises(RateLimited, match="GHOSTART_LINKEDIN_MEMBER_DAILY_LIMIT"):
        await publisher.publish(_request(connection))
    assert linkedin.calls("create") == 2


@pytest.mark.parametrize("name", ["server_error", "gateway_timeout"])
async def test_5xx_is_transient_and_may_have_landed(
    publisher: LinkedInPublisher, linkedin: FakeLinkedIn, connect: Connect, name: str
) -> None:
    error = await _fail_with(publisher, linkedin, connect, name)
    assert isinstance(error, TransientError) and not isinstance(error, RateLimited)
    assert error.status == DOCUMENTED_ERRORS[name][0]


async def test_a_timeout_is_transient_and_ambiguous(
    publisher: LinkedInPublisher, linkedin: FakeLinkedIn, connect: Connect
) -> None:
    error = await _fail_with(publisher, linkedin, connect, "timeout")
    assert isinstance(error, TransientError) and error.details["ambiguous"] is True


async def test_422_duplicate_post_is_duplicate_content_with_the_existing_urn(
    publisher: LinkedInPublisher, linkedin: FakeLinkedIn, connect: Connect
) -> None:
    error = await _fail_with(publisher, linkedin, connect, "duplicate_post")
    assert isinstance(error, DuplicateContent)
    assert error.existing_id == "urn:li:share:7141138937766391808" and error.status == 422


async def test_426_nonexistent_version_is_a_configuration_error_naming_the_setting(
    make_publisher: MakePublisher, linkedin: FakeLinkedIn, connect: Connect
) -> None:
    publisher = make_publisher(version="202401")  # retired: the fake serves 202610
    connection = await connect(into=publisher)
    with pytest.raises(ConfigurationError) as caught:
        await publisher.publish(_request(connection))
    assert "GHOSTART_LINKEDIN_VERSION" in str(caught.value)
    assert "Requested version 202401 is not active" in str(caught.value)
    assert caught.value.details["setting"] == "GHOSTART_LINKEDIN_VERSION"
    documented = map_response(
        error_response("nonexistent_version"), operation="x", now=ManualClock().now()
    )
    assert isinstance(documented, ConfigurationError)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bad_request", "Invalid param. Please see errorDetails for more information."),
        ("access_denied", "Not enough permissions to access: POST /posts"),
    ],
)
async def test_400_and_403_are_permanent_with_linkedins_message(
    publisher: LinkedInPublisher, linkedin: FakeLinkedIn, connect: Connect, name: str, message: str
) -> None:
    error = await _fail_with(publisher, linkedin, connect, name)
    assert type(error) is PermanentError and message in str(error)
    assert error.raw == DOCUMENTED_ERRORS[name][1] and error.provider == "linkedin"


async def test_a_body_that_echoes_the_token_is_masked(
    publisher: LinkedInPublisher, linkedin: FakeLinkedIn, connect: Connect
) -> None:
    connection = await connect()
    [token] = list(linkedin.access_tokens)
    echo = httpx.Response(400, json={"message": f"bad header Bearer {token}", "status": 400})
    linkedin.fail_next("create", echo)
    with pytest.raises(PermanentError) as caught:
        await publisher.publish(_request(connection))
    assert token not in str(caught.value) and token not in json.dumps(caught.value.raw)
    assert "Bearer ***" in str(caught.value)
