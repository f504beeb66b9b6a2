"""Settings of the web layer (``GHOSTART_*``, like the core's)."""

from __future__ import annotations

import os
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ghostart.errors import ConfigurationError

__all__ = ["Environment", "WebSettings", "load_web_settings", "local_jwt_secret"]


class Environment(StrEnum):
    """Development allows a locally generated JWT secret; production demands real auth."""

    DEVELOPMENT = "development"
    PRODUCTION = "production"


class WebSettings(BaseSettings):
    """Authentication and limits of an HTTP service built on ghostart."""

    model_config = SettingsConfigDict(
        env_prefix="GHOSTART_", env_file=".env", extra="ignore", frozen=True
    )

    env: Environment = Environment.DEVELOPMENT
    home: Path = Path(".ghostart")

    #: Supabase's JWT secret (HS256). Unset in development: a local secret under ``home``.
    jwt_secret: SecretStr | None = None
    #: Supabase's ``/auth/v1/.well-known/jwks.json`` for asymmetric keys (RS256/ES256).
    jwt_jwks_url: str | None = None
    #: Pinned algorithms, comma-separated; default HS256 with a secret, ES256 with a JWKS.
    jwt_algorithms: str | None = None
    jwt_audience: str = "authenticated"
    jwt_issuer: str | None = None
    jwt_leeway_seconds: float = Field(default=30.0, ge=0, le=300)

    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_page_size: int = Field(default=100, ge=1, le=1000)
    #: Content requests per organization per minute (members have their own core limit).
    org_request_rate_limit: int = Field(default=600, ge=1)
    #: Failed API-key attempts per client address per minute before answers slow down.
    api_key_failures_per_minute: int = Field(default=10, ge=1)
    #: Bearer token for ``GET /metrics``; unset: open in development, closed (404) in production.
    metrics_token: SecretStr | None = None
    #: Usage analytics of API calls and page views are written in batches this often (seconds).
    analytics_flush_seconds: float = Field(default=2.0, gt=0, le=300)

    @field_validator("jwt_jwks_url", "jwt_issuer", "jwt_algorithms", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def algorithms(self) -> tuple[str, ...]:
        """The pinned JWT algorithms."""
        if self.jwt_algorithms:
            return tuple(a.strip() for a in self.jwt_algorithms.split(",") if a.strip())
        return ("ES256",) if self.jwt_jwks_url else ("HS256",)

    @property
    def uses_local_secret(self) -> bool:
        """Whether tokens are checked against the generated development secret."""
        return self.jwt_secret is None and self.jwt_jwks_url is None


def load_web_settings(**overrides: Any) -> WebSettings:
    """Read the web settings; bad values are one readable :class:`ConfigurationError`."""
    try:
        settings = WebSettings(**overrides)
    except ValidationError as exc:
        lines = [
            f"GHOSTART_{str(err['loc'][0]).upper()}: {err['msg']}"
            for err in exc.errors(include_url=False)
        ]
        raise ConfigurationError("invalid web settings: " + "; ".join(lines)) from None
    if settings.env is Environment.PRODUCTION and settings.uses_local_secret:
        raise ConfigurationError(
            "GHOSTART_ENV=production needs GHOSTART_JWT_SECRET or GHOSTART_JWT_JWKS_URL "
            "(the locally generated development secret is refused)"
        )
    return settings


def local_jwt_secret(home: Path) -> str:
    """The development JWT secret under ``home``, created (mode 600) on first use."""
    path = home / "dev-jwt-secret"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    home.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secret)
    try:
        os.link(tmp, path)  # fails if another process won the race: use theirs
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text().strip()
