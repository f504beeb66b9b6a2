"""The docs keep up with the code: hooks, settings, embedded adapters and the newcomer commands."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from ghostart import hookspecs
from ghostart.builtin import plugin as builtin_plugin
from ghostart.registry import AdapterRegistry
from ghostart.settings import Settings
from ghostart.web.settings import WebSettings

ROOT = Path(__file__).parents[2]
README = ROOT / "README.md"
PLUGIN_GUIDE = ROOT / "docs" / "writing-a-plugin.md"
EMBEDDED = ROOT / "docs" / "adapters" / "embedded.md"

START = "python -m pip install -e . -e examples/service && ghostart-service"
TEST = "python -m pip install nox && nox -s tests"


def _hookspec_names() -> list[str]:
    names = [
        name
        for name, _ in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith("ghostart_")
    ]
    assert names, "no ghostart_* hookspecs found"
    return names


def _setting_names() -> list[str]:
    assert Settings.model_fields, "Settings has no fields"
    names = {*Settings.model_fields, *WebSettings.model_fields}
    return sorted(f"GHOSTART_{name.upper()}" for name in names)


def _builtin_adapters() -> list[tuple[str, str]]:
    registry = AdapterRegistry()
    builtin_plugin.ghostart_register_adapters(registry)
    entries = [(entry.port.value, entry.scheme) for entry in registry.entries()]
    assert entries, "the built-in plugin registered nothing"
    return entries


@pytest.mark.parametrize("name", _hookspec_names())
def test_every_hook_has_an_example_and_is_documented(name: str) -> None:
    spec = getattr(hookspecs, name)
    assert "Example" in (inspect.getdoc(spec) or ""), f"{name} docstring has no Example"
    guide = PLUGIN_GUIDE.read_text(encoding="utf-8")
    heading = re.compile(rf"^#+ .*\b{re.escape(name)}\b", re.MULTILINE)
    assert heading.search(guide), f"{PLUGIN_GUIDE.name} has no heading for {name}"
    call = f"{name}({', '.join(inspect.signature(spec).parameters)})"
    assert call in guide, f"{PLUGIN_GUIDE.name} lacks the signature {call}"


@pytest.mark.parametrize("variable", _setting_names())
def test_every_setting_is_in_the_readme_table(variable: str) -> None:
    readme = README.read_text(encoding="utf-8")
    assert f"| `{variable}` |" in readme, f"README.md configuration table lacks {variable}"


@pytest.mark.parametrize(("port", "scheme"), _builtin_adapters())
def test_every_embedded_adapter_is_documented(port: str, scheme: str) -> None:
    doc = EMBEDDED.read_text(encoding="utf-8")
    row = f"| {port} | `{scheme}` |"
    assert row in doc, f"{EMBEDDED.name} has no table row starting {row!r}"
    section = re.compile(rf"^## {re.escape(port)}: `{re.escape(scheme)}`$", re.MULTILINE)
    assert section.search(doc), f"{EMBEDDED.name} has no section '## {port}: `{scheme}`'"


@pytest.mark.parametrize("command", [START, TEST], ids=["start", "test"])
def test_newcomer_commands_are_in_the_readme_verbatim(command: str) -> None:
    readme = README.read_text(encoding="utf-8")
    block = re.compile(r"^```[a-z]*\n" + re.escape(command) + r"\n```$", re.MULTILINE)
    assert block.search(readme), f"README.md lacks a code block holding only: {command}"
