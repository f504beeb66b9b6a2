"""Plugins load lazily from entry points, honour allow/block lists, and pick adapters by URL."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from pluggy import PluginValidationError

from ghostart import plugins as plugins_module
from ghostart.app import Ghostart
from ghostart.errors import ConfigurationError
from ghostart.plugins import PluginManager
from ghostart.registry import AdapterRegistry, AdapterURL, BuildContext, Port
from ghostart.testing import CountingGenerator, ManualClock
from tests.support import make_settings


def _eps(*pairs: tuple[str, str]) -> list[EntryPoint]:
    return [EntryPoint(name=n, value=v, group="ghostart") for n, v in pairs]


@pytest.fixture
def acme(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        plugins_module, "entry_points", lambda group: _eps(("acme", "tests.unit.plugins.acme"))
    )


def test_nothing_is_loaded_until_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(plugins_module, "entry_points", lambda group: calls.append(group) or [])
    manager = PluginManager()
    assert calls == []
    manager.adapter_registry()
    manager.adapter_registry()
    assert calls == ["ghostart"]


def test_entry_point_plugin_adds_and_overrides_adapters(acme: None, tmp_path: Path) -> None:
    manager = PluginManager()
    names = [p.name for p in manager.plugins()]
    assert names == ["ghostart.builtin.plugin", "acme"]
    app = Ghostart.from_settings(
        make_settings(tmp_path, cache_url="acme://cache-host/1?x=y"), plugins=manager
    )
    assert type(app.cache).__name__ == "AcmeCache" and app.cache.url.options == {"x": "y"}  # type: ignore[attr-defined]
    assert isinstance(app.generator, CountingGenerator)


@pytest.mark.parametrize(("allow", "block"), [("other", None), (None, "acme"), ("acme", "acme")])
def test_allow_and_block_lists(acme: None, allow: str | None, block: str | None) -> None:
    manager = PluginManager(allow=allow, block=block)
    assert [p.name for p in manager.plugins()] == ["ghostart.builtin.plugin"]
    assert manager.adapter_registry().entries()  # built-ins always load


def test_a_broken_plugin_names_itself_and_the_way_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        plugins_module, "entry_points", lambda group: _eps(("broken", "tests.unit.plugins.broken"))
    )
    with pytest.raises(ConfigurationError, match=r"plugin 'broken'.*GHOSTART_PLUGINS_BLOCK=broken"):
        PluginManager().load()


def test_a_misspelled_hook_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        plugins_module,
        "entry_points",
        lambda group: _eps(("misspelled", "tests.unit.plugins.misspelled")),
    )
    with pytest.raises(PluginValidationError, match="ghostart_register_adaptors"):
        PluginManager().load()


def test_unknown_scheme_lists_installed_and_names_the_package(tmp_path: Path) -> None:
    # Without installed plugins, so that the scheme is unknown whether ghostart-redis is there.
    with pytest.raises(ConfigurationError) as err:
        Ghostart.from_settings(
            make_settings(tmp_path, cache_url="redis://localhost:6379/0"),
            plugins=PluginManager(entry_points_enabled=False),
        )
    message = str(err.value)
    assert "GHOSTART_CACHE_URL" in message and "Installed: memory, sqlite" in message
    assert "pip install ghostart-redis" in message
    with pytest.raises(ConfigurationError, match=r"GHOSTART_GENERATOR=gpt5.*check the spelling"):
        Ghostart.from_settings(make_settings(tmp_path, generator="gpt5"))


def test_url_password_is_never_shown_in_errors(tmp_path: Path) -> None:
    # Without installed plugins, so that the scheme is unknown whether ghostart-postgres is there.
    with pytest.raises(ConfigurationError) as err:
        Ghostart.from_settings(
            make_settings(tmp_path, database_url="postgresql+psycopg://u:hunter2@db/x"),
            plugins=PluginManager(entry_points_enabled=False),
        )
    assert "hunter2" not in str(err.value) and "u:***@db" in str(err.value)
    assert "ghostart-postgres" in str(err.value)


def test_adapter_url_parsing() -> None:
    url = AdapterURL.parse("sqlite+aiosqlite:///data/x.db?ttl=5")
    assert (url.scheme, url.base_scheme, str(url.file_path()), url.float_option("ttl", 1)) == (
        "sqlite+aiosqlite",
        "sqlite",
        "data/x.db",
        5.0,
    )
    bare = AdapterURL.parse("Offline?latency=0.2")
    assert bare.scheme == "offline" and bare.float_option("latency", 0) == 0.2
    with pytest.raises(ConfigurationError, match="must be a number"):
        AdapterURL.parse("offline?latency=fast").float_option("latency", 0)
    with pytest.raises(ConfigurationError, match="empty"):
        AdapterURL.parse("  ")


def test_registry_build_and_override_order(tmp_path: Path) -> None:
    registry = AdapterRegistry()
    registry.add_cache("x", lambda url, ctx: "first", package="a")
    registry.add_cache("x", lambda url, ctx: "second", package="b")
    ctx = BuildContext(make_settings(tmp_path), ManualClock())
    assert registry.build(Port.CACHE, "x://", ctx) == "second"
    assert [e.package for e in registry.entries()] == ["b"]


def test_unknown_override_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="unknown adapter override"):
        Ghostart.from_settings(make_settings(tmp_path), genrator=object())


def test_hand_registered_plugin_and_unregister() -> None:
    manager = PluginManager(entry_points_enabled=False)

    class Extra:
        pass

    name = manager.register(Extra(), name="extra")
    assert "extra" in [p.name for p in manager.plugins()]
    with pytest.raises(ConfigurationError, match="already registered"):
        manager.register(Extra(), name="extra")
    manager.unregister(name)
    assert "extra" not in [p.name for p in manager.plugins()]


async def test_event_handlers_may_take_only_the_arguments_they_need(tmp_path: Path) -> None:
    from ghostart.hookspecs import hookimpl
    from ghostart.models import DomainEvent

    seen: list[str] = []

    class EventOnly:
        @hookimpl
        def ghostart_handle_event(self, event: DomainEvent) -> None:
            seen.append(event.name)

    class Broken:
        @hookimpl
        async def ghostart_handle_event(self, event: DomainEvent, app: Ghostart) -> None:
            raise RuntimeError("plugin bug")

    app = Ghostart.from_settings(make_settings(tmp_path))
    app.plugins.register(Broken(), name="broken")
    app.plugins.register(EventOnly(), name="event-only")
    await app.emit(DomainEvent(name="post.published"))
    assert seen == ["post.published"]  # a failing plugin does not stop the others
    assert app.monitor.counters["ghostart.errors,type=RuntimeError"] == 1  # type: ignore[attr-defined]
    await app.aclose()


def test_an_empty_adapter_override_is_still_used(tmp_path: Path) -> None:
    from ghostart.builtin.cache_memory import MemoryCache

    empty = MemoryCache()
    assert len(empty) == 0  # falsy, yet an override
    app = Ghostart.from_settings(make_settings(tmp_path), cache=empty)
    assert app.cache is empty


@pytest.mark.parametrize(
    "url",
    [
        "redis+sentinel://h1:26379/mymaster/0?sentinel_password=hunter2&n=x",
        "redis://:hunter2@cache:6379/0?n=x",
        "openai?model=x&api_key=hunter2&n=x",
        "acme://host/?token=hunter2&n=x",
    ],
)
def test_secrets_in_adapter_urls_are_hidden_in_messages(url: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        AdapterURL.parse(url).int_option("n", 1)

    assert "hunter2" not in str(err.value) and "***" in str(err.value)


def test_secret_options_are_hidden_when_the_scheme_is_unknown(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as err:
        Ghostart.from_settings(
            make_settings(tmp_path, cache_url="acme://cache/?sentinel_password=hunter2"),
            plugins=PluginManager(entry_points_enabled=False),
        )
    assert "hunter2" not in str(err.value) and "sentinel_password=***" in str(err.value)


def test_checked_options_refuse_secrets_and_unknown_names_and_keep_the_rest() -> None:
    url = AdapterURL.parse("acme?timeout=5&region=eu")
    known, secrets = ("timeout", "region", "retries"), ("api_key",)
    assert url.checked_options("GHOSTART_X", known=known, secrets=secrets, instead="X_KEY") == {
        "timeout": "5",
        "region": "eu",
    }
    with pytest.raises(ConfigurationError, match="do not put secrets in the URL") as refused:
        AdapterURL.parse("acme?API_KEY=sk-live-123").checked_options(
            "GHOSTART_X", known=known, secrets=secrets, instead="X_KEY"
        )
    assert "sk-live-123" not in str(refused.value) and "set X_KEY instead" in str(refused.value)
    with pytest.raises(ConfigurationError, match=r"unknown option\(s\) regoin; known: region"):
        AdapterURL.parse("acme?regoin=eu").checked_options(
            "GHOSTART_X", known=known, secrets=secrets, instead="X_KEY"
        )
