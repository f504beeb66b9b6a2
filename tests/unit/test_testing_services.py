"""The skip-or-fail rule for tests that need a server."""

from __future__ import annotations

import pytest

from ghostart.testing import services


def test_unreachable_service_skips_on_a_developer_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GHOSTART_REQUIRE_SERVICES", raising=False)

    with pytest.raises(pytest.skip.Exception, match="Redis is unreachable: refused"):
        services.unavailable("Redis", "refused")


def test_unreachable_service_fails_when_services_are_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GHOSTART_REQUIRE_SERVICES", "1")

    with pytest.raises(pytest.fail.Exception, match="PostgreSQL is unreachable"):
        services.unavailable("PostgreSQL", "no route")


def test_server_urls_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GHOSTART_TEST_REDIS_URL", "redis://cache:6380/3")
    monkeypatch.delenv("GHOSTART_TEST_POSTGRES_URL", raising=False)

    assert services.redis_url() == "redis://cache:6380/3"
    assert services.postgres_url().startswith("postgresql+psycopg://postgres@127.0.0.1:5432/")
