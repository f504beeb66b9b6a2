"""Configuration from ``GHOSTART_*`` environment variables (and a ``.env`` file), via pydantic-settings.

Adapters are chosen by URL (see :mod:`ghostart.registry`). With nothing set, everything runs
embedded under ``GHOSTART_HOME`` (default ``./.ghostart``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ghostart.errors import ConfigurationError

__all__ = ["Settings", "load_settings"]


class Settings(BaseSettings):
    """Every setting of ghostart core; adapters read their own with their own prefix."""

    model_config = SettingsConfigDict(
        env_prefix="GHOSTART_", env_file=".env", extra="ignore", frozen=True, validate_default=True
    )

    #: Where the embedded adapters keep their files.
    home: Path = Path(".ghostart")

    # URLs may carry passwords: kept out of repr (errors show them redacted, see registry.py).
    database_url: str | None = Field(default=None, repr=False)
    cache_url: str | None = Field(default=None, repr=False)
    queue_url: str = Field(default="memory://", repr=False)
    lock_url: str = Field(default="memory://", repr=False)
    rate_limit_url: str = Field(default="memory://", repr=False)
    #: Completion signals between processes; unset: the queue's URL when the queue is shared and
    #: an installed adapter broadcasts on its scheme, else ``memory://`` (see ``app.py``).
    broadcast_url: str | None = Field(default=None, repr=False)
    generator: str = "offline"
    publisher: str = "dry-run"
    mailer: str = "console"
    billing: str = "none"
    monitor: str = "logging"
    #: Prometheus metrics (``ghostart[metrics]``); unset: on when prometheus-client is installed.
    metrics: bool | None = None
    #: ``text`` or ``json`` (one object per line, with request and job ids).
    log_format: Literal["text", "json"] = "text"

    #: Versioned AES-256 keys: ``"k2:BASE64,k1:BASE64"``, the first one encrypts.
    secret_keys: SecretStr | None = None

    plugins_allow: str | None = None
    plugins_block: str | None = None

    #: Run migrations when the app starts; ``None``: only for an embedded SQLite store.
    auto_migrate: bool | None = None

    default_plan: str = Field(default="free", min_length=1)
    default_monthly_generations: int | None = Field(default=100, ge=0)

    cache_ttl_seconds: float = Field(default=7 * 24 * 3600, gt=0)
    generation_rate_limit: int = Field(default=30, ge=1, description="per member per minute")

    worker_concurrency: int = Field(default=8, ge=1, le=1000)
    job_lease_seconds: float = Field(default=60.0, gt=0)
    job_max_attempts: int = Field(default=5, ge=1, le=100)
    reconcile_interval_seconds: float = Field(default=5.0, gt=0)
    #: A worker stopping (SIGTERM) waits this long for in-flight jobs before releasing them.
    shutdown_grace_seconds: float = Field(default=20.0, ge=0)
    #: Run the worker inside the app process when the queue is in-process (``memory://``).
    embedded_worker: bool = True
    #: A request waiting for its draft reads the store this often when no signal wakes it.
    wait_poll_seconds: float = Field(default=1.0, gt=0, le=60)

    @field_validator(
        "database_url",
        "cache_url",
        "queue_url",
        "lock_url",
        "rate_limit_url",
        "broadcast_url",
        "generator",
        "publisher",
        "mailer",
        "billing",
        "monitor",
    )
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be empty")
        return value.strip() if value else value

    @field_validator("default_monthly_generations", "auto_migrate", "metrics", mode="before")
    @classmethod
    def _unset(cls, value: object) -> object:
        # From the environment, "" / "none" / "unlimited" mean "not set" (unlimited, automatic).
        if isinstance(value, str) and value.strip().lower() in {"", "none", "null", "unlimited"}:
            return None
        return value

    @property
    def resolved_database_url(self) -> str:
        """The store URL, defaulting to SQLite under ``home``."""
        return self.database_url or f"sqlite:///{self.home / 'ghostart.db'}"

    @property
    def resolved_cache_url(self) -> str:
        """The cache URL, defaulting to a SQLite cache file under ``home``."""
        return self.cache_url or f"sqlite:///{self.home / 'cache.db'}"

    @property
    def should_auto_migrate(self) -> bool:
        """Whether the app migrates on start."""
        if self.auto_migrate is not None:
            return self.auto_migrate
        return self.resolved_database_url.startswith("sqlite")


_SECRET_FIELDS = {"secret_keys"}


def load_settings(**overrides: Any) -> Settings:
    """Read settings, turning validation errors into one readable :class:`ConfigurationError`."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False):
            name = str(err["loc"][0]) if err["loc"] else "?"
            shown = "" if name in _SECRET_FIELDS else f" (got {err.get('input')!r})"
            lines.append(f"GHOSTART_{name.upper()}: {err['msg']}{shown}")
        raise ConfigurationError("invalid settings: " + "; ".join(lines), errors=lines) from None
