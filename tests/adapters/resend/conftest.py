"""Fixtures: a respx mock of Resend's API and mailers built against it (no network, no key).

respx patches httpx's transports, so it sees the ``httpx.AsyncClient`` the mailer hands the SDK's
async API, whether injected or made by the mailer itself.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
import respx

from ghostart_resend import _sdk
from ghostart_resend.mailer import ResendMailer
from ghostart_resend.settings import ResendSettings
from ghostart_resend.testing import RESEND_API_URL, FakeResend

#: A fake key, long and distinctive so that a leak anywhere is easy to find.
KEY = "re_test_0123456789abcdef_DO_NOT_LEAK"
SENDER = "Acme <notifications@mail.acme.example>"

# Never let a developer's environment leak into the tests (nor their real key out of them).
for _name in list(os.environ):
    if (
        _name.startswith("GHOSTART_")
        and not _name.startswith(("GHOSTART_TEST_", "GHOSTART_REQUIRE"))
    ) or _name.startswith("RESEND_"):
        del os.environ[_name]


@pytest.fixture(autouse=True)
def _fresh_sdk() -> Iterator[None]:
    """Each test configures the SDK's process-wide key itself."""
    _sdk.reset()
    yield
    _sdk.reset()


@pytest.fixture
def fake() -> FakeResend:
    """Resend's send endpoints, with its idempotency behaviour."""
    return FakeResend()


@pytest.fixture
def resend_mock(fake: FakeResend) -> Iterator[respx.MockRouter]:
    """Resend's API, mocked; a request to any other route fails the test."""
    with respx.mock(base_url=RESEND_API_URL, assert_all_called=False) as mock:
        fake.install(mock)
        yield mock


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP client injected into the mailers."""
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def make_mailer(http: httpx.AsyncClient) -> Callable[..., ResendMailer]:
    """Build a mailer on the mock: keyword arguments are settings."""

    def make(**values: Any) -> ResendMailer:
        values = {"api_key": KEY, "sender": SENDER} | values
        return ResendMailer(ResendSettings.load(**values), http_client=http)

    return make


@pytest.fixture
def mailer(make_mailer: Callable[..., ResendMailer], resend_mock: respx.MockRouter) -> ResendMailer:
    """A mailer whose requests reach the fake."""
    return make_mailer()
