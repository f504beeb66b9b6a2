"""The adapter's settings: ``GHOSTART_STRIPE_*`` variables, overridden by options of the URL.

``GHOSTART_BILLING=stripe?past_due_grace_days=3`` takes its options from the URL and everything
else from the environment (or ``.env``). The API key and the webhook signing secrets are read from
the environment only, never from the URL: the URL is a plain setting that shows up in messages
and ``ghostart plugins``.

Plans are configuration (``GHOSTART_STRIPE_PLANS`` as JSON, or ``GHOSTART_STRIPE_PLANS_FILE``
naming a JSON or TOML file): a plan name maps to its Stripe price ids and its entitlements.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from ghostart.errors import ConfigurationError
from ghostart.registry import AdapterURL

__all__ = ["STRIPE_API_BASE", "PlanConfig", "StripeSettings"]

STRIPE_API_BASE = "https://api.stripe.com"

#: URL options and the settings they set (secrets are never among them).
_URL_OPTIONS = (
    "past_due_grace_days",
    "timeout",
    "plans_file",
    "success_url",
    "cancel_url",
    "portal_return_url",
    "portal_configuration",
    "allow_promotion_codes",
    "customer_search",
    "webhook_tolerance",
    "api_base",
)
_SECRET_OPTIONS = ("api_key", "key", "secret", "webhook_secret", "stripe_api_key")


class PlanConfig(BaseModel):
    """One plan: the Stripe prices that sell it and what it entitles an organization to.

    ``monthly_generations``, ``seats``, ``campaigns`` and ``api_access`` become the core
    ``Plan``'s fields of the same names (docs/adapters/stripe.md).
    ``None`` means unlimited.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Recurring price ids that put a subscription on this plan (monthly, yearly...); Checkout
    #: offers the first unless the caller picks another of them. Empty for the free default plan.
    prices: tuple[str, ...] = ()
    #: A metered price added to Checkout's line items; usage is reported to ``meter_event_name``.
    metered_price: str | None = None
    #: The ``event_name`` of the Stripe meter that the metered price bills.
    meter_event_name: str | None = Field(default=None, min_length=1, max_length=100)
    monthly_generations: int | None = Field(default=None, ge=0)
    seats: int | None = Field(default=None, ge=0)
    campaigns: int | None = Field(default=None, ge=0)
    api_access: bool = True
    #: Free trial days granted by Checkout (``subscription_data.trial_period_days``).
    trial_days: int | None = Field(default=None, ge=1, le=730)

    @field_validator("prices", "metered_price")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        ids = value if isinstance(value, tuple) else (value,)
        for price in ids:
            if price is not None and (not price or any(c.isspace() for c in price)):
                raise ValueError(f"not a Stripe price id: {price!r}")
        if isinstance(value, tuple) and len(set(value)) != len(value):
            raise ValueError("a price id is listed twice")
        return value

    @model_validator(mode="after")
    def _metered(self) -> PlanConfig:
        if (self.metered_price is None) != (self.meter_event_name is None):
            raise ValueError("metered_price and meter_event_name go together")
        return self

    @property
    def paid(self) -> bool:
        """Whether the plan is sold through Stripe (it has prices)."""
        return bool(self.prices)


class StripeSettings(BaseSettings):
    """Settings of the Stripe billing adapter (prefix ``GHOSTART_STRIPE_``)."""

    model_config = SettingsConfigDict(
        env_prefix="GHOSTART_STRIPE_",
        env_file=".env",
        extra="ignore",
        frozen=True,
        populate_by_name=True,
        validate_default=True,
    )

    #: ``GHOSTART_STRIPE_API_KEY``, else ``STRIPE_API_KEY``: a secret (``sk_``) or restricted
    #: (``rk_``) key.
    api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("GHOSTART_STRIPE_API_KEY", "STRIPE_API_KEY", "api_key"),
    )
    #: The webhook endpoint's signing secrets, comma separated, newest first: while Stripe rolls
    #: a secret, both the old and the new one are accepted.
    webhook_secret: SecretStr | None = None
    #: Plan name -> :class:`PlanConfig`, as JSON in the environment.
    plans: dict[str, PlanConfig] = Field(default_factory=dict)
    #: A JSON or TOML file of plans (``[pro]`` tables in TOML), merged over ``plans``.
    plans_file: Path | None = None
    #: How long a ``past_due`` subscription keeps its plan, counted from the start of the
    #: period whose invoice failed.
    past_due_grace_days: float = Field(default=7.0, ge=0, le=90)
    #: Where Checkout sends the admin back; Stripe fills in ``{CHECKOUT_SESSION_ID}``.
    success_url: str | None = None
    cancel_url: str | None = None
    portal_return_url: str | None = None
    #: A customer-portal configuration id (``bpc_...``); unset: the account's default one.
    portal_configuration: str | None = None
    allow_promotion_codes: bool = False
    #: Before creating a customer, look for one with this organization's id in its metadata.
    customer_search: bool = True
    #: Seconds a webhook's signed timestamp may differ from now, either way.
    webhook_tolerance: int = Field(default=300, ge=1, le=3600)
    #: Seconds for one HTTP request.
    timeout: float = Field(default=30.0, gt=0, le=120)
    #: Another API host (stripe-mock, a proxy); unset: api.stripe.com.
    api_base: str | None = None

    def __repr__(self) -> str:
        return (
            f"StripeSettings(plans={sorted(self.all_plans())!r}, "
            f"past_due_grace_days={self.past_due_grace_days!r}, api_base={self.resolved_api_base!r})"
        )

    @field_validator("success_url", "cancel_url", "portal_return_url", "api_base")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an absolute http(s) URL")
        return value

    @classmethod
    def from_url(cls, url: AdapterURL, **overrides: Any) -> StripeSettings:
        """The environment's settings with the URL's options (and ``overrides``) on top."""
        options = url.checked_options(
            "GHOSTART_BILLING",
            known=_URL_OPTIONS,
            secrets=_SECRET_OPTIONS,
            instead="GHOSTART_STRIPE_API_KEY and GHOSTART_STRIPE_WEBHOOK_SECRET",
        )
        return cls.load(**(options | overrides))

    @classmethod
    def load(cls, **values: Any) -> StripeSettings:
        """Read the settings; a bad value is a :class:`ConfigurationError` naming the setting."""
        settings: StripeSettings = _validated(cls, values)
        return settings

    @property
    def resolved_api_base(self) -> str:
        """The API host requests go to."""
        return (self.api_base or STRIPE_API_BASE).rstrip("/")

    def webhook_secrets(self) -> list[str]:
        """The signing secrets to try, in order."""
        raw = self.webhook_secret.get_secret_value() if self.webhook_secret else ""
        return [s.strip() for s in raw.split(",") if s.strip()]

    def all_plans(self) -> dict[str, PlanConfig]:
        """``plans`` with the plans file on top (read now, so edits apply on the next build)."""
        plans = dict(self.plans)
        if self.plans_file is not None:
            plans |= _read_plans_file(self.plans_file)
        return plans


def _read_plans_file(path: Path) -> dict[str, PlanConfig]:
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"GHOSTART_STRIPE_PLANS_FILE={path}: can not read the plans ({exc})"
        ) from None
    plans = data.get("plans", data) if isinstance(data, dict) else data
    if not isinstance(plans, dict):
        raise ConfigurationError(
            f"GHOSTART_STRIPE_PLANS_FILE={path}: expected a table of plans by name"
        )
    result: dict[str, PlanConfig] = {}
    for name, value in plans.items():
        try:
            result[str(name)] = PlanConfig.model_validate(value)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'plan'}: {e['msg']}"
                for e in exc.errors(include_url=False)
            )
            raise ConfigurationError(
                f"GHOSTART_STRIPE_PLANS_FILE={path}: plan {name!r}: {problems}"
            ) from None
    return result


def _validated(model: Any, values: dict[str, Any]) -> Any:
    try:
        return model(**values)
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False):
            name = str(err["loc"][0]) if err["loc"] else "?"
            setting = name if name.isupper() else f"GHOSTART_STRIPE_{name.upper()}"
            if "KEY" in setting or "SECRET" in setting:
                lines.append(f"{setting}: {err['msg']}")  # never echo what was given
                continue
            where = ".".join(str(p) for p in err["loc"][1:])
            lines.append(
                f"{setting}{'.' + where if where else ''}: {err['msg']} (got {err.get('input')!r})"
            )
        raise ConfigurationError(
            "invalid Stripe settings: " + "; ".join(lines), errors=lines
        ) from None
