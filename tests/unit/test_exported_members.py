"""The public surface is what we meant (after httpx's tests/test_exported_members.py)."""

from __future__ import annotations

import importlib

import pytest

import ghostart

MODULES = [
    "ghostart",
    "ghostart.errors",
    "ghostart.models",
    "ghostart.ports",
    "ghostart.rbac",
    "ghostart.registry",
    "ghostart.plugins",
    "ghostart.retry",
    "ghostart.secretbox",
    "ghostart.settings",
    "ghostart.testing",
]


@pytest.mark.parametrize("name", MODULES)
def test_every_exported_name_exists_once(name: str) -> None:
    # Sorting is ruff's job (RUF022); this checks that __all__ tells the truth.
    module = importlib.import_module(name)
    exported = module.__all__
    assert len(exported) == len(set(exported))
    missing = [member for member in exported if not hasattr(module, member)]
    assert missing == []


def test_top_level_exports_every_public_error() -> None:
    errors = importlib.import_module("ghostart.errors")
    assert set(errors.__all__) <= set(ghostart.__all__)


def test_version_matches_distribution_metadata() -> None:
    from importlib.metadata import version

    assert ghostart.__version__ == version("ghostart")
