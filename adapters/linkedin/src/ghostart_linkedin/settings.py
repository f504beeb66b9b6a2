"""The adapter's settings: ``GHOSTART_LINKEDIN_*`` variables, a few overridable by URL options.

``GHOSTART_PUBLISHER=linkedin?version=202610`` takes ``version`` from the URL and everything else
from the environment (or ``.env``). Client secrets are read from the environment only, never
from the URL: the URL is a plain setting that shows up in messages and ``ghostart plugins``.

Two sets of client credentials, because LinkedIn will not put the Community Management API in
an app that has "Share on LinkedIn" or "Sign In with LinkedIn using OpenID Connect":

- the **member** app (``GHOSTART_LINKEDIN_CLIENT_ID`` ...) posts in a member's own name;
- the **organization** app (``GHOSTART_LINKEDIN_ORG_CLIENT_ID`` ...) posts as a company page
  the member administers. It is optional.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ghostart.errors import ConfigurationError
from ghostart.registry import AdapterURL

__all__ = [
    "API_BASE_URL",
    "DEFAULT_VERSION",
    "OAUTH_BASE_URL",
    "AppCredentials",
    "AppKind",
    "LinkedInSettings",
]

API_BASE_URL = "https://api.linkedin.com"
OAUTH_BASE_URL = "https://www.linkedin.com/oauth/v2"
#: LinkedIn retires a version about a year after its release (426 ``NONEXISTENT_VERSION``).
DEFAULT_VERSION = "202610"

#: Which app a connection belongs to: a member's own posting, or a page's (Community Management).
AppKind = Literal["member", "organization"]

_URL_OPTIONS = ("version", "find_count", "hashtags", "timeout")
_SECRET_OPTIONS = ("client_secret", "org_client_secret", "secret", "token", "access_token")
_VERSION = re.compile(r"20\d{2}(0[1-9]|1[0-2])")


class AppCredentials(BaseModel):
    """One LinkedIn app: its client credentials, scopes and redirect URL."""

    model_config = ConfigDict(frozen=True)

    kind: AppKind
    client_id: str
    client_secret: SecretStr
    scopes: tuple[str, ...]
    redirect_uri: str
    #: The settings these came from, for messages (``GHOSTART_LINKEDIN_CLIENT_ID`` ...).
    prefix: str

    def __repr__(self) -> str:
        return f"AppCredentials(kind={self.kind!r}, client_id={self.client_id!r})"


class LinkedInSettings(BaseSettings):
    """Settings of the LinkedIn adapter (prefix ``GHOSTART_LINKEDIN_``)."""

    model_config = SettingsConfigDict(
        env_prefix="GHOSTART_LINKEDIN_",
        env_file=".env",
        extra="ignore",
        frozen=True,
        validate_default=True,
    )

    # The member app: "Share on LinkedIn" + "Sign In with LinkedIn using OpenID Connect".
    client_id: str | None = None
    client_secret: SecretStr | None = None
    redirect_uri: str | None = None
    scopes: str = "openid profile email w_member_social"
    # The organization app: "Community Management API" (a separate app, LinkedIn's rule).
    org_client_id: str | None = None
    org_client_secret: SecretStr | None = None
    org_redirect_uri: str | None = None
    org_scopes: str = "w_organization_social r_organization_social rw_organization_admin"

    #: The ``LinkedIn-Version`` header, ``YYYYMM``.
    version: str = DEFAULT_VERSION
    api_base_url: str = API_BASE_URL
    oauth_base_url: str = OAUTH_BASE_URL
    #: Seconds for one HTTP request (connecting: at most 10 of them).
    timeout: float = Field(default=30.0, gt=0, le=300)
    #: How long a sign-in link (its ``state``) stays valid.
    state_ttl_seconds: float = Field(default=600.0, gt=0, le=3600)
    #: Refresh an access token this long before it expires (when a refresh token allows).
    refresh_ahead_seconds: float = Field(default=2 * 86400.0, ge=0)
    #: Remind a member this long before an access token without a refresh token expires.
    reminder_ahead_seconds: float = Field(default=7 * 86400.0, ge=0)
    #: Our own daily budgets (LinkedIn publishes no numbers; its 429 is the last word).
    member_daily_limit: int = Field(default=150, ge=1)
    app_daily_limit: int = Field(default=100_000, ge=1)
    #: How many of the author's recent posts ``find`` reads when looking for an earlier attempt.
    find_count: int = Field(default=20, ge=1, le=100)
    #: Waiting for an uploaded image to become ``AVAILABLE``.
    image_poll_interval: float = Field(default=1.0, gt=0, le=60)
    image_poll_attempts: int = Field(default=30, ge=1, le=600)
    #: ``link``: ``#word`` becomes LinkedIn's hashtag template; ``text``: escaped, shown as typed.
    hashtags: Literal["link", "text"] = "link"

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not _VERSION.fullmatch(value.strip()):
            raise ValueError("must be a LinkedIn API version, YYYYMM (e.g. 202610)")
        return value.strip()

    @field_validator("api_base_url", "oauth_base_url")
    @classmethod
    def _https(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("https://", "http://localhost", "http://127.0.0.1")):
            raise ValueError("must be an https:// URL (tokens travel to it)")
        return value

    def __repr__(self) -> str:
        return (
            f"LinkedInSettings(version={self.version!r}, client_id={self.client_id!r}, "
            f"org_client_id={self.org_client_id!r})"
        )

    @classmethod
    def load(cls, **values: Any) -> LinkedInSettings:
        """Read the settings; a bad value is a :class:`ConfigurationError` naming the setting."""
        try:
            return cls(**values)
        except ValidationError as exc:
            lines = []
            for err in exc.errors(include_url=False):
                name = str(err["loc"][0]) if err["loc"] else "?"
                setting = f"GHOSTART_LINKEDIN_{name.upper()}"
                if "secret" in name:
                    lines.append(f"{setting}: {err['msg']}")  # never echo what was given
                else:
                    lines.append(f"{setting}: {err['msg']} (got {err.get('input')!r})")
            raise ConfigurationError(
                "invalid LinkedIn settings: " + "; ".join(lines), errors=lines
            ) from None

    @classmethod
    def from_url(cls, url: AdapterURL, **overrides: Any) -> LinkedInSettings:
        """The environment's settings with the URL's options (and ``overrides``) on top."""
        options = url.checked_options(
            "GHOSTART_PUBLISHER",
            known=_URL_OPTIONS,
            secrets=_SECRET_OPTIONS,
            instead="GHOSTART_LINKEDIN_CLIENT_SECRET (and GHOSTART_LINKEDIN_ORG_CLIENT_SECRET)",
        )
        return cls.load(**(options | overrides))

    def app(self, kind: AppKind) -> AppCredentials:
        """The credentials of one app, or a :class:`ConfigurationError` naming what is missing."""
        prefix = "GHOSTART_LINKEDIN_" if kind == "member" else "GHOSTART_LINKEDIN_ORG_"
        if kind == "member":
            values = (self.client_id, self.client_secret, self.redirect_uri, self.scopes)
        else:
            values = (
                self.org_client_id,
                self.org_client_secret,
                self.org_redirect_uri,
                self.org_scopes,
            )
        client_id, secret, redirect_uri, scopes = values
        missing = [
            f"{prefix}{name}"
            for name, value in (
                ("CLIENT_ID", client_id),
                ("CLIENT_SECRET", secret),
                ("REDIRECT_URI", redirect_uri),
            )
            if not value
        ]
        if missing:
            raise ConfigurationError(
                f"the LinkedIn {kind} app is not configured: set {', '.join(missing)}",
                setting=missing[0],
            )
        assert client_id and secret and redirect_uri  # for mypy: checked just above
        return AppCredentials(
            kind=kind,
            client_id=client_id,
            client_secret=secret,
            scopes=tuple(scopes.split()),
            redirect_uri=redirect_uri,
            prefix=prefix,
        )

    def apps(self) -> dict[AppKind, AppCredentials]:
        """Every configured app: the member app always, the organization app when set."""
        apps: dict[AppKind, AppCredentials] = {"member": self.app("member")}
        if self.org_client_id or self.org_client_secret:
            apps["organization"] = self.app("organization")
        return apps
