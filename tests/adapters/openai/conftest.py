"""Fixtures: a respx mock of OpenAI's API and generators built against it (no network, no key).

respx patches httpx's transports, so it sees the ``httpx.AsyncClient`` the generator hands the
SDK, whether injected or made by the generator itself.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
import respx

from ghostart_openai.generator import OpenAIGenerator
from ghostart_openai.settings import OPENAI_BASE_URL, OpenAISettings
from ghostart_openai.testing import chat_completion, post_json

#: A fake key, long and distinctive so that a leak anywhere is easy to find.
KEY = "sk-test-0123456789abcdef-DO-NOT-LEAK"

# Never let a developer's environment leak into the tests (nor their real key out of them).
for _name in list(os.environ):
    if (
        _name.startswith("GHOSTART_")
        and not _name.startswith(("GHOSTART_TEST_", "GHOSTART_REQUIRE"))
    ) or _name.startswith("OPENAI_"):
        del os.environ[_name]


@pytest.fixture
def api_key() -> str:
    """The fake key every generator here is built with."""
    return KEY


@pytest.fixture
def openai_mock() -> Iterator[respx.MockRouter]:
    """OpenAI's API, mocked; every request must match a route (nothing reaches a network)."""
    with respx.mock(base_url=OPENAI_BASE_URL, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def chat(openai_mock: respx.MockRouter) -> respx.Route:
    """``POST /chat/completions``, answering a valid post unless a test says otherwise."""
    return openai_mock.post("/chat/completions").mock(
        return_value=httpx.Response(200, json=chat_completion(post_json()))
    )


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP client injected into the generators."""
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def make_generator(http: httpx.AsyncClient) -> Callable[..., OpenAIGenerator]:
    """Build a generator on the mock: keyword arguments are settings (moderation off unless set)."""

    def make(**values: Any) -> OpenAIGenerator:
        values = {"api_key": KEY, "moderation": "off"} | values
        return OpenAIGenerator(OpenAISettings.load(**values), http_client=http)

    return make
