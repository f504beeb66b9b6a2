"""Tests that need a running server (PostgreSQL, Redis): skip without it, fail in CI.

A test (or fixture) that can not reach its server calls :func:`unavailable`: on a developer's
machine the test is skipped with the reason; with ``GHOSTART_REQUIRE_SERVICES=1`` (CI sets it)
it fails, so a missing server can never turn a red suite green by skipping.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

__all__ = ["postgres_url", "redis_url", "required", "unavailable"]


def required() -> bool:
    """Whether unreachable services fail tests instead of skipping them."""
    return os.environ.get("GHOSTART_REQUIRE_SERVICES") == "1"


def unavailable(service: str, reason: object) -> NoReturn:
    """Skip the calling test because ``service`` is unreachable, or fail it when required."""
    message = f"{service} is unreachable: {reason}"
    if required():
        pytest.fail(f"{message} (GHOSTART_REQUIRE_SERVICES=1: services are required)")
    pytest.skip(f"{message}; start it or set its URL to run these tests")


def postgres_url() -> str:
    """The PostgreSQL server tests use (``GHOSTART_TEST_POSTGRES_URL``), as a superuser URL."""
    return os.environ.get(
        "GHOSTART_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )


def redis_url() -> str:
    """The Redis server tests use (``GHOSTART_TEST_REDIS_URL``)."""
    return os.environ.get("GHOSTART_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
