"""The adapter's settings: ``GHOSTART_OPENAI_*`` variables, overridden by options of the URL.

``GHOSTART_GENERATOR=openai?model=gpt-4.1-mini&moderation=on`` takes its options from the URL and
everything else from the environment (or ``.env``). The API key is read from the environment only
(``GHOSTART_OPENAI_API_KEY``, else ``OPENAI_API_KEY``), never from the URL: the URL is a plain
setting that shows up in messages and ``ghostart plugins``.
"""

from __future__ import annotations

import logging
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from ghostart.errors import ConfigurationError
from ghostart.registry import AdapterURL

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_PRICES",
    "OPENAI_BASE_URL",
    "OpenAISettings",
    "Price",
    "cost_usd",
    "price_for",
]

log = logging.getLogger("ghostart.openai")

OPENAI_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4.1-mini"
_MICRO = Decimal("0.000001")  # usage records keep six decimals of a dollar


class Price(BaseModel):
    """What a model costs, in US dollars per one million tokens."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Per 1M prompt (input) tokens.
    input: Decimal = Field(ge=0)
    #: Per 1M completion (output) tokens, reasoning tokens included.
    output: Decimal = Field(ge=0)


def _price(input_: str, output: str) -> Price:
    return Price(input=Decimal(input_), output=Decimal(output))


#: Defaults, in USD per 1M tokens: OpenAI's standard list prices when this release was made. They
#: are defaults, not a contract: prices change, and your account may pay others (Batch, Flex,
#: Priority, regional or Azure prices). Set ``GHOSTART_OPENAI_PRICES`` to override or extend them.
DEFAULT_PRICES: dict[str, Price] = {
    "gpt-5": _price("1.25", "10.00"),
    "gpt-5-mini": _price("0.25", "2.00"),
    "gpt-5-nano": _price("0.05", "0.40"),
    "gpt-4.1": _price("2.00", "8.00"),
    "gpt-4.1-mini": _price("0.40", "1.60"),
    "gpt-4.1-nano": _price("0.10", "0.40"),
    "gpt-4o": _price("2.50", "10.00"),
    "gpt-4o-mini": _price("0.15", "0.60"),
    "o3": _price("2.00", "8.00"),
    "o4-mini": _price("1.10", "4.40"),
}

Structured = Literal["auto", "json_schema", "json_object", "text"]
Moderation = Literal["auto", "on", "off"]

#: URL options and the settings they set; ``input_price``/``output_price`` price ``model``.
_URL_OPTIONS = (
    "model",
    "base_url",
    "organization",
    "project",
    "timeout",
    "structured",
    "moderation",
    "moderation_model",
    "temperature",
    "max_completion_tokens",
)
_PRICE_OPTIONS = ("input_price", "output_price")
_SECRET_OPTIONS = ("api_key", "key", "openai_api_key")


class OpenAISettings(BaseSettings):
    """Settings of the OpenAI generator (prefix ``GHOSTART_OPENAI_``)."""

    model_config = SettingsConfigDict(
        env_prefix="GHOSTART_OPENAI_",
        env_file=".env",
        extra="ignore",
        frozen=True,
        populate_by_name=True,
        validate_default=True,
    )

    #: ``GHOSTART_OPENAI_API_KEY``, else ``OPENAI_API_KEY``. Optional for a custom ``base_url``.
    api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("GHOSTART_OPENAI_API_KEY", "OPENAI_API_KEY", "api_key"),
    )
    #: The model (on Azure: the deployment name).
    model: str = Field(default=DEFAULT_MODEL, min_length=1, max_length=150)
    #: An OpenAI-compatible endpoint: ``GHOSTART_OPENAI_BASE_URL``, else ``OPENAI_BASE_URL``.
    base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("GHOSTART_OPENAI_BASE_URL", "OPENAI_BASE_URL", "base_url"),
    )
    organization: str | None = None
    project: str | None = None
    #: Seconds for one HTTP request (connecting: at most 10 of them).
    timeout: float = Field(default=60.0, gt=0, le=600)
    #: How the answer's shape is asked for: ``auto`` starts with ``json_schema`` and falls back,
    #: once per process, when the endpoint says it lacks it (see docs/adapters/openai.md).
    structured: Structured = "auto"
    #: Check every draft with the moderations endpoint; ``auto``: on for api.openai.com only.
    moderation: Moderation = "auto"
    moderation_model: str = Field(default="omni-moderation-latest", min_length=1)
    #: Not sent unless set (reasoning models accept only their default).
    temperature: float | None = Field(default=None, ge=0, le=2)
    #: Not sent unless set; for reasoning models it includes the reasoning tokens.
    max_completion_tokens: int | None = Field(default=None, ge=16, le=100_000)
    #: Prices per model (USD per 1M tokens), over :data:`DEFAULT_PRICES`:
    #: ``{"my-model": {"input": 0.5, "output": 1.5}}``.
    prices: dict[str, Price] = Field(default_factory=dict)

    def __repr__(self) -> str:
        return f"OpenAISettings(model={self.model!r}, base_url={_redact(self.resolved_base_url)!r})"

    @classmethod
    def from_url(cls, url: AdapterURL, **overrides: Any) -> OpenAISettings:
        """The environment's settings with the URL's options (and ``overrides``) on top."""
        options = url.checked_options(
            "GHOSTART_GENERATOR",
            known=(*_URL_OPTIONS, *_PRICE_OPTIONS),
            secrets=_SECRET_OPTIONS,
            instead="GHOSTART_OPENAI_API_KEY (or OPENAI_API_KEY)",
        )
        values: dict[str, Any] = {k: v for k, v in options.items() if k in _URL_OPTIONS}
        values |= overrides
        settings = cls.load(**values)
        prices = {k: options[k] for k in _PRICE_OPTIONS if k in options}
        if prices:
            if len(prices) != 2:
                raise ConfigurationError(
                    f"GHOSTART_GENERATOR={url}: give both input_price and output_price "
                    "(USD per 1M tokens)"
                )
            price = _validated(
                Price, {"input": prices["input_price"], "output": prices["output_price"]}
            )
            settings = settings.model_copy(
                update={"prices": settings.prices | {settings.model: price}}
            )
        return settings

    @classmethod
    def load(cls, **values: Any) -> OpenAISettings:
        """Read the settings; a bad value is a :class:`ConfigurationError` naming the setting."""
        settings: OpenAISettings = _validated(cls, values)
        return settings

    @property
    def resolved_base_url(self) -> str:
        """The endpoint requests go to."""
        return (self.base_url or OPENAI_BASE_URL).rstrip("/")

    @property
    def is_openai(self) -> bool:
        """Whether the endpoint is OpenAI's own API."""
        return urlsplit(self.resolved_base_url).hostname == "api.openai.com"

    @property
    def moderation_enabled(self) -> bool:
        """Whether drafts are checked by the moderations endpoint."""
        return self.moderation == "on" or (self.moderation == "auto" and self.is_openai)

    def all_prices(self) -> dict[str, Price]:
        """The defaults with the configured prices on top."""
        return DEFAULT_PRICES | self.prices


def _validated(model: Any, values: dict[str, Any]) -> Any:
    try:
        return model(**values)
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False):
            name = str(err["loc"][0]) if err["loc"] else "?"
            if name.upper().endswith("API_KEY"):
                lines.append(f"{name}: {err['msg']}")  # never echo what was given
                continue
            setting = name if name.isupper() else f"GHOSTART_OPENAI_{name.upper()}"
            lines.append(f"{setting}: {err['msg']} (got {err.get('input')!r})")
        raise ConfigurationError(
            "invalid OpenAI settings: " + "; ".join(lines), errors=lines
        ) from None


def _redact(url: str) -> str:
    """``url`` without a password or query (either may hold a credential)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "***"
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return f"{parts.scheme}://{netloc}{parts.path}" if parts.scheme else url


def price_for(model: str, prices: dict[str, Price]) -> Price | None:
    """The price of ``model``: exact, else the longest name it extends.

    ``gpt-4o-mini-2024-07-18`` is priced as ``gpt-4o-mini``, not as ``gpt-4o``.
    """
    if model in prices:
        return prices[model]
    matches = [name for name in prices if model.startswith(name + "-")]
    return prices[max(matches, key=len)] if matches else None


def cost_usd(prompt_tokens: int, completion_tokens: int, price: Price | None) -> Decimal:
    """Dollars for the tokens at ``price``, rounded to a millionth; 0 without a price."""
    if price is None:
        return Decimal("0")
    total = Decimal(prompt_tokens) * price.input + Decimal(completion_tokens) * price.output
    return (total / Decimal(1_000_000)).quantize(_MICRO, rounding=ROUND_HALF_UP)
