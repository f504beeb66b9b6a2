"""Registration through the entry point, settings from the URL and the environment, one key."""

from __future__ import annotations

import re
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import resend

import ghostart_resend
import ghostart_resend.plugin
from ghostart.app import Ghostart
from ghostart.email import EmailRenderer
from ghostart.errors import ConfigurationError
from ghostart.plugins import PluginManager
from ghostart.registry import BuildContext, Port
from ghostart.settings import load_settings
from ghostart.testing import ManualClock
from ghostart_resend.mailer import ResendMailer
from ghostart_resend.settings import ResendSettings
from ghostart_resend.testing import FakeResend

from .conftest import KEY, SENDER


def _build(value: str, tmp_path: Path) -> ResendMailer:
    manager = PluginManager(entry_points_enabled=False)
    manager.register(ghostart_resend.plugin, name="resend")
    context = BuildContext(load_settings(home=tmp_path), ManualClock(), plugins=manager)
    mailer = manager.adapter_registry().build(Port.MAILER, value, context)
    assert isinstance(mailer, ResendMailer)
    return mailer


def test_the_entry_point_names_the_plugin_module() -> None:
    [ep] = [ep for ep in entry_points(group="ghostart") if ep.name == "resend"]
    assert ep.value == "ghostart_resend.plugin" and ep.load() is ghostart_resend.plugin


def test_an_installed_app_finds_the_mailer_by_name() -> None:
    registry = PluginManager().adapter_registry()  # entry points on, as in production
    [entry] = [e for e in registry.entries() if (e.port, e.scheme) == (Port.MAILER, "resend")]
    assert entry.package == "ghostart-resend"


async def test_settings_come_from_the_environment_and_the_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RESEND_API_KEY", KEY)
    monkeypatch.setenv("GHOSTART_RESEND_FROM", SENDER)
    monkeypatch.setenv("GHOSTART_RESEND_TIMEOUT", "12")
    mailer = _build("resend?timeout=20", tmp_path)
    assert mailer.settings.timeout == 20.0 and mailer.settings.sender == SENDER
    assert mailer._http.timeout.read == 20.0 and mailer._http.timeout.connect == 10.0
    # The key is set in the one place the SDK reads it.
    assert resend.api_key == KEY and resend.api_url == "https://api.resend.com"
    await mailer.aclose()


def test_ghostart_key_wins_over_resend_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESEND_API_KEY", "re_from_resend_env")
    assert ResendSettings.load().require_key() == "re_from_resend_env"
    monkeypatch.setenv("GHOSTART_RESEND_API_KEY", "re_from_ghostart_env")
    assert ResendSettings.load().require_key() == "re_from_ghostart_env"


def test_no_key_or_no_sender_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigurationError, match="GHOSTART_RESEND_API_KEY"):
        _build("resend", tmp_path)
    monkeypatch.setenv("GHOSTART_RESEND_API_KEY", KEY)
    with pytest.raises(ConfigurationError, match="GHOSTART_RESEND_FROM"):
        _build("resend", tmp_path)


@pytest.mark.parametrize("option", ["api_key", "webhook_secret", "token"])
def test_secrets_are_refused_in_the_url_and_not_echoed(tmp_path: Path, option: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        _build(f"resend?{option}=re_live_hunter2", tmp_path)
    assert "GHOSTART_RESEND_API_KEY" in str(err.value) and "hunter2" not in str(err.value)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("resend?timout=3", "unknown option(s) timout"),
        ("resend?timeout=0", "GHOSTART_RESEND_TIMEOUT"),
        ("resend?base_url=ftp://x", "GHOSTART_RESEND_BASE_URL"),
        ("resend?base_url=https://u:p@x.example", "GHOSTART_RESEND_BASE_URL"),
    ],
)
def test_bad_options_are_configuration_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, says: str
) -> None:
    monkeypatch.setenv("GHOSTART_RESEND_API_KEY", KEY)
    monkeypatch.setenv("GHOSTART_RESEND_FROM", SENDER)
    with pytest.raises(ConfigurationError, match=re.escape(says)) as err:
        _build(value, tmp_path)
    assert "u:p@" not in str(err.value)


async def test_one_key_per_process() -> None:
    first = ResendMailer(ResendSettings.load(api_key=KEY, sender=SENDER))
    same = ResendMailer(ResendSettings.load(api_key=KEY, sender=SENDER))  # same key: fine
    with pytest.raises(ConfigurationError, match="one API key") as err:
        ResendMailer(ResendSettings.load(api_key="re_other_tenant_key", sender=SENDER))
    assert "re_other_tenant_key" not in str(err.value) and KEY not in str(err.value)
    with pytest.raises(ConfigurationError, match="one API key"):
        ResendMailer(
            ResendSettings.load(api_key=KEY, sender=SENDER, base_url="https://eu.resend.example")
        )
    assert resend.api_key == KEY  # the first key stays: no tenant's mail moved silently
    await first.aclose()
    await same.aclose()


async def test_reprs_hide_the_key_and_addresses() -> None:
    settings = ResendSettings.load(api_key=KEY, sender=SENDER, webhook_secrets="whsec_c2VjcmV0")
    mailer = ResendMailer(settings)
    for text in (repr(settings), repr(mailer), str(settings)):
        assert KEY not in text and "notifications@" not in text and "c2VjcmV0" not in text
    await mailer.aclose()


def test_a_bad_key_setting_is_reported_without_its_value() -> None:
    with pytest.raises(ConfigurationError) as err:
        ResendSettings.load(api_key=["re_live_hunter2"])
    assert "hunter2" not in str(err.value)


def test_package_exports_load_lazily() -> None:
    assert ghostart_resend.ResendMailer is ResendMailer
    assert sorted(ghostart_resend.__all__) == ghostart_resend.__all__
    assert all(hasattr(ghostart_resend, name) for name in ghostart_resend.__all__)
    with pytest.raises(AttributeError):
        _ = ghostart_resend.Nope


async def test_an_app_chosen_by_setting_sends_through_resend_and_closes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeResend, resend_mock: object
) -> None:
    monkeypatch.setenv("GHOSTART_RESEND_API_KEY", KEY)
    monkeypatch.setenv("GHOSTART_RESEND_FROM", SENDER)
    app = Ghostart.from_settings(load_settings(home=tmp_path, mailer="resend"))
    async with app:
        assert isinstance(app.mailer, ResendMailer)
        email = (
            EmailRenderer()
            .preview("member_added")
            .to_email(["ada@example.com"], idempotency_key="email:app-test")
        )
        assert await app.mailer.send(email)
        mailer = app.mailer
    assert len(fake.sent) == 1 and fake.sent[0]["subject"] == email.subject
    assert mailer._http.is_closed
