"""What factories receive: options that hold URLs, and the app's plugin manager."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ghostart.app import Ghostart
from ghostart.builtin.generator_offline import OfflineGenerator
from ghostart.hookspecs import hookimpl
from ghostart.plugins import PluginManager
from ghostart.registry import AdapterRegistry, AdapterURL, BuildContext
from tests.support import make_settings


def test_a_bare_name_may_carry_a_url_in_its_options() -> None:
    url = AdapterURL.parse("openai?model=gpt-4o-mini&base_url=http://localhost:11434/v1")
    assert (url.scheme, url.netloc, url.path) == ("openai", "", "")
    assert url.options == {"model": "gpt-4o-mini", "base_url": "http://localhost:11434/v1"}
    real = AdapterURL.parse("redis://cache:6379/0?next=http://x")
    assert (real.scheme, real.netloc, real.path) == ("redis", "cache:6379", "/0")
    assert real.options == {"next": "http://x"}


class _Capture:
    def __init__(self) -> None:
        self.contexts: list[BuildContext] = []

    @hookimpl
    def ghostart_register_adapters(self, registry: AdapterRegistry) -> None:
        def build(url: AdapterURL, ctx: BuildContext) -> Any:
            self.contexts.append(ctx)
            return OfflineGenerator()

        registry.add_generator("capture", build, package="tests")


def test_factories_get_the_apps_plugin_manager(tmp_path: Path) -> None:
    capture = _Capture()
    plugins = PluginManager(entry_points_enabled=False)
    plugins.register(capture, name="capture")
    app = Ghostart.from_settings(make_settings(tmp_path, generator="capture"), plugins=plugins)
    [ctx] = capture.contexts
    assert ctx.plugins is plugins is app.plugins and ctx.monitor is app.monitor
