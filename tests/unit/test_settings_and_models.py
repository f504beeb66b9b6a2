"""Settings read from the environment with readable errors; models refuse bad input with typed errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ghostart.errors import ConfigurationError, InvalidInput
from ghostart.models import BrandVoiceSpec, ContentRequest, PostStatus, allowed_transitions
from ghostart.settings import load_settings


def test_defaults_are_embedded(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path)
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'ghostart.db'}"
    assert settings.resolved_cache_url == f"sqlite:///{tmp_path / 'cache.db'}"
    assert (settings.generator, settings.publisher, settings.mailer, settings.billing) == (
        "offline",
        "dry-run",
        "console",
        "none",
    )
    assert settings.should_auto_migrate
    assert not load_settings(database_url="postgresql+psycopg://db/x").should_auto_migrate


def test_environment_is_read_with_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GHOSTART_WORKER_CONCURRENCY", "12")
    monkeypatch.setenv("GHOSTART_GENERATOR", "offline?latency=0.1")
    settings = load_settings()
    assert settings.worker_concurrency == 12 and settings.generator == "offline?latency=0.1"


def test_bad_values_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GHOSTART_WORKER_CONCURRENCY", "many")
    monkeypatch.setenv("GHOSTART_JOB_LEASE_SECONDS", "-1")
    with pytest.raises(ConfigurationError) as err:
        load_settings()
    message = str(err.value)
    assert "GHOSTART_WORKER_CONCURRENCY" in message and "'many'" in message
    assert "GHOSTART_JOB_LEASE_SECONDS" in message
    with pytest.raises(
        ConfigurationError, match="GHOSTART_QUEUE_URL: Value error, must not be empty"
    ):
        load_settings(queue_url="  ")


def test_secret_settings_are_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GHOSTART_SECRET_KEYS", "k1:c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ=")
    settings = load_settings()
    assert "c2VjcmV0" not in repr(settings) and "c2VjcmV0" not in str(settings.model_dump())


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"topic": ""}, "topic"),
        ({"topic": "x" * 10_000}, "topic"),
        ({"topic": "fine topic", "language": "english!"}, "language"),
        ({"topic": "fine topic", "format": "poem"}, "format"),
        ({"topic": "fine topic", "call_to_action": "c" * 201}, "call_to_action"),
        ({"topic": "fine topic", "surprise": 1}, "surprise"),
    ],
)
def test_content_request_refuses_bad_input(data: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        ContentRequest.parse(data)
    assert err.value.field == field and field in str(err.value)


def test_content_request_normalises_for_single_flight() -> None:
    a = ContentRequest.parse({"topic": "  Remote   Work ", "call_to_action": ""})
    b = ContentRequest.parse({"topic": "remote work"})
    assert a.normalised() == b.normalised() and a.call_to_action is None


def test_brand_voice_bounds() -> None:
    with pytest.raises(InvalidInput, match="topics"):
        BrandVoiceSpec.parse({"name": "v", "topics": [f"t{i}" for i in range(31)]})
    with pytest.raises(InvalidInput, match="example_posts"):
        BrandVoiceSpec.parse({"name": "v", "example_posts": ["x" * 4000]})


def test_lifecycle_table() -> None:
    assert PostStatus.GENERATING in allowed_transitions(PostStatus.REQUESTED)
    assert PostStatus.PUBLISHED not in allowed_transitions(PostStatus.DRAFT)
    assert allowed_transitions(PostStatus.PUBLISHED) == frozenset()
    assert all(isinstance(allowed_transitions(s), frozenset) for s in PostStatus)
