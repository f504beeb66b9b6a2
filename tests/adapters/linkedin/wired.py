"""Apps wired as in production: ``GHOSTART_PUBLISHER=linkedin`` through the plugin, on a real store.

The publisher gets the app's store (connections in ``linkedin_connections``, spent states in
``oauth_states``), secret box, rate limiter and ``emit`` from the composition root; LinkedIn is
the respx fake of the tests' ``linkedin`` fixture, which every request must match.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ghostart.app import Ghostart
from ghostart.hookspecs import hookimpl
from ghostart.models import DomainEvent
from ghostart.retry import RetryPolicy
from ghostart.secretbox import SecretBox
from ghostart.testing import ManualClock
from ghostart_linkedin.publisher import LinkedInPublisher
from tests.adapters.linkedin.conftest import CLIENT_SECRET, ORG_CLIENT_SECRET
from tests.support import make_settings

__all__ = ["KEYS", "Recorder", "linkedin_env", "wired_app"]

#: One key for every app of a test (apps on one database must share it, as processes do).
KEYS = f"k1:{SecretBox.generate_key()}"


def linkedin_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both LinkedIn apps configured through the environment, as an operator would."""
    for name, value in {
        "CLIENT_ID": "78member",
        "CLIENT_SECRET": CLIENT_SECRET,
        "REDIRECT_URI": "https://app.example.com/linkedin/callback",
        "ORG_CLIENT_ID": "86organization",
        "ORG_CLIENT_SECRET": ORG_CLIENT_SECRET,
        "ORG_REDIRECT_URI": "https://app.example.com/linkedin/callback",
    }.items():
        monkeypatch.setenv(f"GHOSTART_LINKEDIN_{name}", value)


class Recorder:
    """A plugin that keeps every event the app emits (``ghostart_handle_event``)."""

    def __init__(self) -> None:
        self.events: list[DomainEvent] = []

    @hookimpl
    def ghostart_handle_event(self, event: DomainEvent, app: Any) -> None:
        self.events.append(event)

    def named(self, name: str) -> list[DomainEvent]:
        return [e for e in self.events if e.name == name]


async def wired_app(
    home: Path,
    clock: ManualClock,
    *,
    database_url: str | None = None,
    keys: str = KEYS,
    recorder: Recorder | None = None,
    **settings: Any,
) -> Ghostart:
    """A started app whose publisher the LinkedIn plugin built from settings."""
    values: dict[str, Any] = {
        "publisher": "linkedin",
        "secret_keys": keys,
        "job_max_attempts": 3,
        "shutdown_grace_seconds": 0.2,
    }
    if database_url is not None:
        values |= {"database_url": database_url, "auto_migrate": False}
    app = Ghostart.from_settings(make_settings(home, **(values | settings)), clock=clock)
    assert isinstance(app.publisher, LinkedInPublisher)
    if recorder is not None:
        app.plugins.register(recorder, name=f"recorder-{id(recorder)}")
    app.context.retry = RetryPolicy(initial_backoff=0.01, max_backoff=0.02)
    await app.start()
    return app
