"""Email settings: ``GHOSTART_EMAIL_*`` (links in emails, the unsubscribe signing keys).

Provider settings (API keys, the sender address) belong to the mailer adapter, with its own
prefix; these are what every mailer shares.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from ghostart.email.unsubscribe import UnsubscribeSigner
from ghostart.errors import ConfigurationError

__all__ = ["EmailSettings", "load_email_settings"]


class EmailSettings(BaseSettings):
    """What every email needs whatever the provider."""

    model_config = SettingsConfigDict(
        env_prefix="GHOSTART_EMAIL_", env_file=".env", extra="ignore", frozen=True
    )

    #: The public address of the service, the base of every link in an email.
    public_url: str = Field(default="http://localhost:8000", min_length=1)
    #: The product name shown in emails.
    product_name: str = Field(default="ghostart", min_length=1, max_length=80)
    #: Unsubscribe signing keys, ``"k2:BASE64URL,k1:BASE64URL"`` (the first signs). Unset: a key
    #: generated once under ``GHOSTART_HOME`` (one machine only; set it when you run several).
    signing_keys: SecretStr | None = None
    #: How long an unsubscribe link keeps working.
    unsubscribe_max_age_days: int = Field(default=365, ge=1, le=3650)
    #: The weekly digest goes out on this weekday (0 is Monday) ...
    digest_weekday: int = Field(default=0, ge=0, le=6)
    #: ... at this hour, in each member's own time zone.
    digest_hour: int = Field(default=9, ge=0, le=23)
    #: A digest slot missed while no worker ran is still fired if less than this late.
    digest_catch_up_hours: int = Field(default=24, ge=0, le=168)
    #: How often each worker's scheduler looks for due slots.
    scheduler_interval_seconds: float = Field(default=60.0, gt=0, le=3600)

    def signer(self, home: Path) -> UnsubscribeSigner:
        """The unsubscribe signer: the configured keys, else a local key under ``home``."""
        max_age = timedelta(days=self.unsubscribe_max_age_days)
        if self.signing_keys is not None:
            return UnsubscribeSigner.from_setting(
                self.signing_keys.get_secret_value(), max_age=max_age
            )
        return UnsubscribeSigner.from_setting(f"local:{_local_key(home)}", max_age=max_age)


def load_email_settings(**overrides: Any) -> EmailSettings:
    """Read the settings; a bad value is a :class:`ConfigurationError` naming the setting."""
    try:
        return EmailSettings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False):
            name = str(err["loc"][0]) if err["loc"] else "?"
            shown = "" if name == "signing_keys" else f" (got {err.get('input')!r})"
            lines.append(f"GHOSTART_EMAIL_{name.upper()}: {err['msg']}{shown}")
        raise ConfigurationError("invalid email settings: " + "; ".join(lines)) from None


def _local_key(home: Path) -> str:
    """A signing key under ``home``, created (mode 600) on first use; the first writer wins."""
    path = home / "email-signing-key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    home.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_urlsafe(32))
    try:
        os.link(tmp, path)  # fails if another process won the race: use theirs
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text().strip()
