"""Shared fixtures: an embedded app under a temporary home, with an organization ready to use."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ghostart.app import Ghostart
from ghostart.settings import Settings
from ghostart.testing import CountingGenerator, EventRecorder

# PostgreSQL databases per test (skipped without a server, failed under GHOSTART_REQUIRE_SERVICES=1).
from tests.postgres import (  # noqa: F401
    empty_postgres_url,
    postgres_admin,
    postgres_template,
    postgres_url,
)
from tests.support import Team, make_settings, make_team

# Never let a developer's environment leak into the tests.
for _name in list(os.environ):
    if _name.startswith("GHOSTART_") and not _name.startswith(
        ("GHOSTART_TEST_", "GHOSTART_REQUIRE")
    ):
        del os.environ[_name]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "home")


@pytest.fixture
def generator() -> CountingGenerator:
    return CountingGenerator()


@pytest.fixture
def events() -> EventRecorder:
    return EventRecorder()


@pytest.fixture
async def app(
    settings: Settings, generator: CountingGenerator, events: EventRecorder
) -> AsyncIterator[Ghostart]:
    application = Ghostart.from_settings(settings, generator=generator)
    application.plugins.register(events, name="test-events")
    async with application:
        yield application


@pytest.fixture
async def team(app: Ghostart) -> Team:
    return await make_team(app)
