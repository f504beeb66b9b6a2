"""docs/adapters/redis.md keeps up with the code: every URL option and every metric."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import ghostart_redis
from ghostart_redis import connection

PAGE = Path(__file__).parents[3] / "docs" / "adapters" / "redis.md"
SOURCES = Path(ghostart_redis.__file__).parent


def _page() -> str:
    if not PAGE.exists():
        pytest.skip(f"{PAGE} is not here (not a checkout of the ghostart repository)")
    return PAGE.read_text(encoding="utf-8")


def _options() -> list[str]:
    names = set(connection.COMMON_OPTIONS) | set(connection._PASS_THROUGH)
    names |= set(connection._TLS_OPTIONS)
    for name in ("RedisCache", "RedisQueue", "RedisRateLimiter", "RedisBroadcast"):
        names |= getattr(ghostart_redis, name).URL_OPTIONS
    return sorted(names)


def _metrics() -> list[str]:
    found = set()
    for source in SOURCES.glob("*.py"):
        found |= set(re.findall(r'"(ghostart\.[a-z_]+\.[a-z_]+)"', source.read_text()))
    found = {name for name in found if not name.startswith("ghostart.redis.")}  # loggers
    assert found, "no metrics found in the sources"
    return sorted(found)


@pytest.mark.parametrize("option", _options())
def test_every_url_option_is_documented(option: str) -> None:
    assert f"`{option}`" in _page(), f"{PAGE.name} does not document the option {option}"


@pytest.mark.parametrize("metric", _metrics())
def test_every_metric_is_documented(metric: str) -> None:
    assert f"`{metric}`" in _page(), f"{PAGE.name} does not document the metric {metric}"
