"""Registration through the entry point, settings from the URL and the environment, the hook."""

from __future__ import annotations

import json
import re
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
import respx

import ghostart_openai
import ghostart_openai.plugin
from ghostart.errors import ConfigurationError
from ghostart.hookspecs import hookimpl
from ghostart.models import BrandVoice, ContentRequest
from ghostart.plugins import PluginManager
from ghostart.registry import BuildContext, Port
from ghostart.settings import load_settings
from ghostart.testing import ManualClock
from ghostart_openai.generator import OpenAIGenerator
from ghostart_openai.settings import OpenAISettings
from ghostart_openai.testing import OPENAI_BASE_URL, chat_completion, post_json


def _build(value: str, tmp_path: Path, plugins: PluginManager | None = None) -> OpenAIGenerator:
    manager = plugins or PluginManager(entry_points_enabled=False)
    manager.register(ghostart_openai.plugin, name="openai")
    context = BuildContext(load_settings(home=tmp_path), ManualClock(), plugins=manager)
    generator = manager.adapter_registry().build(Port.GENERATOR, value, context)
    assert isinstance(generator, OpenAIGenerator)
    return generator


def test_the_entry_point_names_the_plugin_module() -> None:
    [ep] = [ep for ep in entry_points(group="ghostart") if ep.name == "openai"]
    assert ep.value == "ghostart_openai.plugin" and ep.load() is ghostart_openai.plugin


def test_an_installed_app_finds_the_generator_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, api_key: str
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", api_key)
    registry = PluginManager().adapter_registry()  # entry points on, as in production
    [entry] = [e for e in registry.entries() if (e.port, e.scheme) == (Port.GENERATOR, "openai")]
    assert entry.package == "ghostart-openai"


def test_url_options_override_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, api_key: str
) -> None:
    monkeypatch.setenv("GHOSTART_OPENAI_API_KEY", api_key)
    monkeypatch.setenv("GHOSTART_OPENAI_MODEL", "gpt-4.1")
    monkeypatch.setenv("GHOSTART_OPENAI_TIMEOUT", "30")
    generator = _build(
        "openai?model=gpt-4o-mini&base_url=http://localhost:11434/v1&structured=json_object"
        "&moderation=on&input_price=0.5&output_price=1.5",
        tmp_path,
    )
    settings = generator.settings
    assert (settings.model, settings.timeout, settings.structured) == (
        "gpt-4o-mini",
        30.0,
        "json_object",
    )
    assert settings.resolved_base_url == "http://localhost:11434/v1"
    assert settings.moderation_enabled and generator.mode == "json_object"
    assert settings.all_prices()["gpt-4o-mini"].input == 0.5
    assert generator.model == "openai:gpt-4o-mini@1"


def test_the_key_falls_back_to_openai_api_key_and_ghostart_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-openai-env")
    assert OpenAISettings.load().api_key.get_secret_value() == "sk-from-openai-env"  # type: ignore[union-attr]
    monkeypatch.setenv("GHOSTART_OPENAI_API_KEY", "sk-from-ghostart-env")
    assert OpenAISettings.load().api_key.get_secret_value() == "sk-from-ghostart-env"  # type: ignore[union-attr]


def test_openai_without_a_key_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="GHOSTART_OPENAI_API_KEY"):
        _build("openai", tmp_path)


def test_a_compatible_endpoint_needs_no_key(tmp_path: Path) -> None:
    generator = _build("openai?base_url=http://localhost:11434/v1&model=llama3.1", tmp_path)
    assert generator.settings.api_key is None and not generator.settings.moderation_enabled


def test_the_key_is_refused_in_the_url_and_not_echoed(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as err:
        _build("openai?api_key=sk-live-hunter2", tmp_path)
    assert "GHOSTART_OPENAI_API_KEY" in str(err.value) and "hunter2" not in str(err.value)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("openai?modle=gpt-4o", "unknown option(s) modle"),
        ("openai?base_url=http://x/v1&timeout=0", "GHOSTART_OPENAI_TIMEOUT"),
        ("openai?base_url=http://x/v1&structured=xml", "GHOSTART_OPENAI_STRUCTURED"),
        ("openai?base_url=http://x/v1&input_price=1", "both input_price and output_price"),
        ("openai?base_url=http://x/v1&input_price=1&output_price=-2", "greater than or equal"),
    ],
)
def test_bad_options_are_configuration_errors(tmp_path: Path, value: str, says: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(says)):
        _build(value, tmp_path)


def test_a_bad_key_setting_is_reported_without_its_value(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError) as err:
        OpenAISettings.load(api_key=["sk-live-hunter2"])
    assert "api_key" in str(err.value) and "hunter2" not in str(err.value)


def test_reprs_show_the_model_and_endpoint_only(api_key: str) -> None:
    settings = OpenAISettings.load(
        api_key=api_key, base_url="https://user:pw@gw.example.com/v1?k=1"
    )
    generator = OpenAIGenerator(settings)
    for text in (repr(settings), repr(generator)):
        assert "gw.example.com/v1" in text
        assert api_key not in text and "pw" not in text and "k=1" not in text


def test_package_exports_load_lazily() -> None:
    assert ghostart_openai.OpenAIGenerator is OpenAIGenerator
    assert sorted(ghostart_openai.__all__) == ghostart_openai.__all__
    assert all(hasattr(ghostart_openai, name) for name in ghostart_openai.__all__)
    with pytest.raises(AttributeError):
        _ = ghostart_openai.Nope


class _HouseRules:
    @hookimpl
    def ghostart_adjust_prompt(self, messages: list[dict[str, str]], model: str) -> None:
        messages[0]["content"] += "\nNever mention competitors by name."
        messages.insert(1, {"role": "user", "content": f"(house rules for {model})"})
        messages.insert(2, {"role": "assistant", "content": "Understood."})


class _Broken:
    @hookimpl
    def ghostart_adjust_prompt(self, messages: list[dict[str, Any]]) -> None:
        messages.append({"role": "assistant", "content": "Sure."})


async def test_a_plugin_adjusts_the_prompt_and_the_model_identifier(
    tmp_path: Path, api_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GHOSTART_OPENAI_API_KEY", api_key)
    manager = PluginManager(entry_points_enabled=False)
    manager.register(_HouseRules(), name="house-rules")
    generator = _build("openai?model=gpt-4.1-mini&moderation=off", tmp_path, manager)
    assert generator.model == "openai:gpt-4.1-mini@1+house-rules"
    voice = BrandVoice(organization_id=uuid4(), name="V")
    with respx.mock(base_url=OPENAI_BASE_URL) as mock:
        route = mock.post("/chat/completions").mock(
            return_value=httpx.Response(200, json=chat_completion(post_json()))
        )
        await generator.generate(voice, ContentRequest(topic="Hiring well"))
    await generator.aclose()
    messages = json.loads(route.calls[0].request.content)["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[0]["content"].endswith("Never mention competitors by name.")
    assert messages[1]["content"] == "(house rules for gpt-4.1-mini)"


async def test_a_plugin_that_breaks_the_prompt_fails_loudly(
    tmp_path: Path, api_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GHOSTART_OPENAI_API_KEY", api_key)
    manager = PluginManager(entry_points_enabled=False)
    manager.register(_Broken(), name="broken")
    generator = _build("openai", tmp_path, manager)
    voice = BrandVoice(organization_id=uuid4(), name="V")
    with respx.mock(base_url=OPENAI_BASE_URL, assert_all_called=False) as mock:
        route = mock.post("/chat/completions")
        with pytest.raises(ConfigurationError, match="last message is not the user's"):
            await generator.generate(voice, ContentRequest(topic="Hiring well"))
    assert route.call_count == 0
    await generator.aclose()
