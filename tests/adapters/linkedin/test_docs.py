"""docs/adapters/linkedin.md keeps up with the code: every setting, metric and event."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import ghostart_linkedin
from ghostart_linkedin.settings import LinkedInSettings
from ghostart_linkedin.testing import DOCUMENTED_ERRORS
from ghostart_linkedin.tokens import LinkedInEvent

PAGE = Path(__file__).parents[3] / "docs" / "adapters" / "linkedin.md"
SOURCES = Path(ghostart_linkedin.__file__).parent


def _page() -> str:
    if not PAGE.exists():
        pytest.skip(f"{PAGE} is not here (not a checkout of the ghostart repository)")
    return PAGE.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(LinkedInSettings.model_fields))
def test_every_setting_is_documented(name: str) -> None:
    assert f"GHOSTART_LINKEDIN_{name.upper()}" in _page()


def _metrics() -> list[str]:
    found: set[str] = set()
    for source in SOURCES.glob("*.py"):
        found |= set(re.findall(r'"(ghostart\.linkedin\.[a-z_]+)"', source.read_text()))
    found.discard("ghostart.linkedin")  # the logger
    assert found, "no metrics found in the sources"
    return sorted(found)


@pytest.mark.parametrize("metric", _metrics())
def test_every_metric_is_documented(metric: str) -> None:
    assert f"`{metric}`" in _page()


@pytest.mark.parametrize(
    "event", [LinkedInEvent.CONNECTED, LinkedInEvent.NEEDS_RECONNECT, LinkedInEvent.EXPIRING]
)
def test_every_event_is_documented(event: str) -> None:
    assert f"`{event}`" in _page()


def test_the_error_table_names_every_documented_status() -> None:
    table = _page().split("## Errors and retries", 1)[1].split("\n## ", 1)[0]
    for status, _ in DOCUMENTED_ERRORS.values():
        assert re.search(rf"\b{status // 100 if status >= 500 else status}", table), status
