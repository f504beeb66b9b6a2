"""The adapter's settings: ``GHOSTART_RESEND_*`` variables, overridden by options of the URL.

``GHOSTART_MAILER=resend?timeout=20`` takes its options from the URL and everything else from the
environment (or ``.env``). The API key and the webhook secrets are read from the environment only
(``GHOSTART_RESEND_API_KEY``, else ``RESEND_API_KEY``), never from the URL: the URL is a plain
setting that shows up in messages and ``ghostart plugins``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ghostart.errors import ConfigurationError
from ghostart.registry import AdapterURL

__all__ = ["RESEND_API_URL", "ResendSettings"]

RESEND_API_URL = "https://api.resend.com"
KEY_SETTING = "GHOSTART_RESEND_API_KEY (or RESEND_API_KEY)"
FROM_SETTING = "GHOSTART_RESEND_FROM"
WEBHOOK_SETTING = "GHOSTART_RESEND_WEBHOOK_SECRETS"

_URL_OPTIONS = ("sender", "base_url", "timeout", "webhook_tolerance")
_SECRET_OPTIONS = {"api_key", "key", "token", "webhook_secret", "webhook_secrets", "secret"}


class ResendSettings(BaseSettings):
    """Settings of the Resend mailer and of its webhook endpoint."""

    model_config = SettingsConfigDict(
        env_prefix="GHOSTART_RESEND_",
        env_file=".env",
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )

    api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("GHOSTART_RESEND_API_KEY", "RESEND_API_KEY")
    )
    #: The default ``From``: ``"Acme <notifications@mail.acme.com>"``, on a domain verified in
    #: Resend. An email's own ``sender`` wins.
    sender: str | None = Field(
        default=None,
        max_length=320,
        repr=False,
        validation_alias=AliasChoices("GHOSTART_RESEND_FROM"),
    )
    base_url: str = RESEND_API_URL
    #: Seconds for one HTTP request (at most 10 of them to connect).
    timeout: float = Field(default=30.0, gt=0, le=300)
    #: Svix signing secrets of the webhook endpoint, ``whsec_...``, comma-separated: during a
    #: rotation both the new and the old one verify.
    webhook_secrets: SecretStr | None = None
    #: How far a webhook's ``svix-timestamp`` may be from now, in seconds (replay protection).
    webhook_tolerance: int = Field(default=300, ge=10, le=3600)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an http(s) URL")
        if parts.username or parts.password or parts.query:
            raise ValueError("must not carry credentials or a query")
        return value.rstrip("/")

    @classmethod
    def from_url(cls, url: AdapterURL, **overrides: Any) -> ResendSettings:
        """The environment's settings with the URL's options (and ``overrides``) on top."""
        options = url.checked_options(
            "GHOSTART_MAILER",
            known=_URL_OPTIONS,
            secrets=_SECRET_OPTIONS,
            instead=f"{KEY_SETTING} and {WEBHOOK_SETTING}",
        )
        return cls.load(**(options | overrides))

    @classmethod
    def load(cls, **values: Any) -> ResendSettings:
        """Read the settings; a bad value is a :class:`ConfigurationError` naming the setting."""
        try:
            return cls(**values)
        except ValidationError as exc:
            lines = []
            for err in exc.errors(include_url=False):
                name = str(err["loc"][0]) if err["loc"] else "?"
                setting = name if name.isupper() else f"GHOSTART_RESEND_{name.upper()}"
                if any(word in name.lower() for word in ("key", "secret", "url")):
                    lines.append(f"{setting}: {err['msg']}")  # may hold a credential: not echoed
                    continue
                lines.append(f"{setting}: {err['msg']} (got {err.get('input')!r})")
            raise ConfigurationError(
                "invalid Resend settings: " + "; ".join(lines), errors=lines
            ) from None

    def require_key(self) -> str:
        """The API key, or a :class:`ConfigurationError` naming the setting."""
        if self.api_key is None or not self.api_key.get_secret_value().strip():
            raise ConfigurationError(f"GHOSTART_MAILER=resend needs an API key: set {KEY_SETTING}")
        return self.api_key.get_secret_value().strip()

    def webhook_secret_list(self) -> list[str]:
        """The webhook signing secrets, or a :class:`ConfigurationError` naming the setting."""
        raw = self.webhook_secrets.get_secret_value() if self.webhook_secrets else ""
        secrets = [s.strip() for s in raw.split(",") if s.strip()]
        if not secrets:
            raise ConfigurationError(
                f"Resend webhooks need the endpoint's signing secret: set {WEBHOOK_SETTING} "
                "(whsec_..., from the webhook's page in Resend)"
            )
        return secrets
