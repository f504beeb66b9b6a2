"""The email package's public surface is what we meant, and the docs name every template."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from ghostart.email import TEMPLATES

ROOT = Path(__file__).parents[2]


@pytest.mark.parametrize(
    "name",
    [
        "ghostart.email",
        "ghostart.email.catalog",
        "ghostart.email.delivery",
        "ghostart.email.routing",
        "ghostart.email.sending",
        "ghostart.email.settings",
        "ghostart.email.templates",
        "ghostart.email.unsubscribe",
    ],
)
def test_every_exported_name_exists_once(name: str) -> None:
    module = importlib.import_module(name)
    assert len(module.__all__) == len(set(module.__all__))
    assert [m for m in module.__all__ if not hasattr(module, m)] == []


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_template_has_both_files_and_is_documented(name: str) -> None:
    templates = ROOT / "src" / "ghostart" / "email" / "templates"
    assert (templates / f"{name}.html").is_file() and (templates / f"{name}.txt").is_file()
    assert f"`{name}`" in (ROOT / "docs" / "email.md").read_text(encoding="utf-8")
