"""Registration through the entry point, and the configuration errors that name what to set."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import pytest

import ghostart_linkedin
import ghostart_linkedin.plugin
from ghostart.builtin.ratelimit_memory import MemoryRateLimiter
from ghostart.errors import ConfigurationError
from ghostart.plugins import PluginManager
from ghostart.registry import BuildContext, Port
from ghostart.secretbox import SecretBox
from ghostart.settings import load_settings
from ghostart.testing import ManualClock
from ghostart_linkedin.publisher import LinkedInPublisher
from tests.adapters.linkedin.conftest import CLIENT_SECRET


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("GHOSTART_LINKEDIN_CLIENT_ID", "78member")
    monkeypatch.setenv("GHOSTART_LINKEDIN_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("GHOSTART_LINKEDIN_REDIRECT_URI", "https://app.example.com/cb")
    return monkeypatch


async def _build(value: str, tmp_path: Path, *, keys: bool = True) -> LinkedInPublisher:
    manager = PluginManager(entry_points_enabled=False)
    manager.register(ghostart_linkedin.plugin, name="linkedin")
    secret = f"k1:{SecretBox.generate_key()}" if keys else None
    settings = load_settings(home=tmp_path, secret_keys=secret)
    context = BuildContext(settings, ManualClock(), plugins=manager)
    publisher = manager.adapter_registry().build(Port.PUBLISHER, value, context)
    assert isinstance(publisher, LinkedInPublisher)
    await publisher.aclose()
    return publisher


def test_the_entry_point_names_the_plugin_module() -> None:
    [ep] = [ep for ep in entry_points(group="ghostart") if ep.name == "linkedin"]
    assert ep.value == "ghostart_linkedin.plugin" and ep.load() is ghostart_linkedin.plugin


def test_an_installed_app_finds_the_publisher_by_name() -> None:
    registry = PluginManager().adapter_registry()  # entry points on, as in production
    [entry] = [e for e in registry.entries() if (e.port, e.scheme) == (Port.PUBLISHER, "linkedin")]
    assert entry.package == "ghostart-linkedin"


async def test_the_factory_builds_from_the_environment_and_the_url(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env.setenv("GHOSTART_LINKEDIN_VERSION", "202601")
    publisher = await _build("linkedin?version=202609&find_count=50", tmp_path)
    assert publisher.settings.version == "202609" and publisher.settings.find_count == 50
    assert list(publisher.tokens.oauth.apps) == ["member"]
    # The daily budgets count through GHOSTART_RATE_LIMIT_URL's limiter (memory:// here).
    assert isinstance(publisher.api.budget.limiter, MemoryRateLimiter)


async def test_without_secret_keys_the_factory_names_the_setting(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(ConfigurationError, match="GHOSTART_SECRET_KEYS"):
        await _build("linkedin", tmp_path, keys=False)


async def test_without_client_credentials_the_factory_names_them(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        await _build("linkedin", tmp_path)
    for name in ("CLIENT_ID", "CLIENT_SECRET", "REDIRECT_URI"):
        assert f"GHOSTART_LINKEDIN_{name}" in str(caught.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("linkedin?client_secret=abc", "do not put secrets in the URL"),
        ("linkedin?verison=202609", "unknown option(s) verison"),
        ("linkedin?version=2026-09", "GHOSTART_LINKEDIN_VERSION: Value error, must be a LinkedIn"),
    ],
)
async def test_bad_urls_are_configuration_errors(
    env: pytest.MonkeyPatch, tmp_path: Path, value: str, expected: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        await _build(value, tmp_path)
    assert expected in str(caught.value) and "abc" not in str(caught.value).replace("verison", "")


def test_the_package_exports_what_it_documents() -> None:
    for name in ghostart_linkedin.__all__:
        assert getattr(ghostart_linkedin, name) is not None
    assert ghostart_linkedin.__all__ == sorted(ghostart_linkedin.__all__)
    with pytest.raises(AttributeError):
        ghostart_linkedin.Nope  # noqa: B018


async def test_inside_an_app_the_publisher_keeps_its_state_in_the_apps_store(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from ghostart.app import Ghostart
    from ghostart.models import DomainEvent, EventName
    from ghostart_linkedin.stored import StoreConnectionStore, StoreUsedStates
    from tests.adapters.linkedin.wired import Recorder
    from tests.support import make_settings

    # No GHOSTART_SECRET_KEYS: an embedded app's own key (GHOSTART_HOME/secret.key) seals.
    app = Ghostart.from_settings(make_settings(tmp_path, publisher="linkedin"))
    try:
        publisher = app.publisher
        assert isinstance(publisher, LinkedInPublisher)
        assert isinstance(publisher.tokens.store, StoreConnectionStore)
        assert publisher.tokens.store.store is app.store
        used = publisher.tokens.oauth._used
        assert isinstance(used, StoreUsedStates) and used.store is app.store
        assert publisher.tokens.oauth._box is app.secret_box
        assert publisher.api.budget.limiter is app.rate_limiter
        recorder = Recorder()
        app.plugins.register(recorder, name="recorder")
        event = DomainEvent(name=EventName.LINKEDIN_EXPIRING, payload={"user_id": "u"})
        await publisher.tokens.emit(event)  # the app's emit: every plugin gets it
        assert recorder.events == [event]
    finally:
        await app.aclose()
