"""The adapter registry: which factory builds which port for which URL scheme.

Plugins fill it through the ``ghostart_register_adapters`` hook; the composition root asks it for
the adapter named by each setting. Schemes work like SQLAlchemy dialects: ``sqlite+aiosqlite``
is looked up as written, then as ``sqlite``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from ghostart.errors import ConfigurationError

if TYPE_CHECKING:
    from ghostart.models import DomainEvent
    from ghostart.plugins import PluginManager
    from ghostart.ports import Clock, Monitor, RateLimiter, Store
    from ghostart.secretbox import SecretBox
    from ghostart.settings import Settings

__all__ = [
    "KNOWN_PROVIDERS",
    "AdapterRegistry",
    "AdapterURL",
    "BuildContext",
    "Port",
    "Registration",
]


class Port(StrEnum):
    """The capabilities an adapter can provide, with the setting that chooses each."""

    STORE = "store"
    CACHE = "cache"
    LOCK = "lock"
    QUEUE = "queue"
    GENERATOR = "generator"
    PUBLISHER = "publisher"
    MAILER = "mailer"
    BILLING = "billing"
    MONITOR = "monitor"
    RATE_LIMITER = "rate_limiter"
    BROADCAST = "broadcast"

    @property
    def setting(self) -> str:
        """The environment variable that picks this port's adapter."""
        return {
            Port.STORE: "GHOSTART_DATABASE_URL",
            Port.CACHE: "GHOSTART_CACHE_URL",
            Port.LOCK: "GHOSTART_LOCK_URL",
            Port.QUEUE: "GHOSTART_QUEUE_URL",
            Port.GENERATOR: "GHOSTART_GENERATOR",
            Port.PUBLISHER: "GHOSTART_PUBLISHER",
            Port.MAILER: "GHOSTART_MAILER",
            Port.BILLING: "GHOSTART_BILLING",
            Port.MONITOR: "GHOSTART_MONITOR",
            Port.RATE_LIMITER: "GHOSTART_RATE_LIMIT_URL",
            Port.BROADCAST: "GHOSTART_BROADCAST_URL",
        }[self]


#: Schemes served by ghostart's own adapter distributions, for "pip install ..." hints.
KNOWN_PROVIDERS: dict[tuple[Port, str], str] = {
    (Port.STORE, "postgresql"): "ghostart-postgres",
    (Port.STORE, "postgres"): "ghostart-postgres",
    (Port.CACHE, "redis"): "ghostart-redis",
    (Port.CACHE, "rediss"): "ghostart-redis",
    (Port.LOCK, "redis"): "ghostart-redis",
    (Port.QUEUE, "redis"): "ghostart-redis",
    (Port.RATE_LIMITER, "redis"): "ghostart-redis",
    (Port.BROADCAST, "redis"): "ghostart-redis",
    (Port.BROADCAST, "rediss"): "ghostart-redis",
    (Port.GENERATOR, "openai"): "ghostart-openai",
    (Port.PUBLISHER, "linkedin"): "ghostart-linkedin",
    (Port.MAILER, "resend"): "ghostart-resend",
    (Port.BILLING, "stripe"): "ghostart-stripe",
    (Port.MONITOR, "sentry"): "ghostart-sentry",
}


@dataclass(frozen=True)
class AdapterURL:
    """A parsed adapter setting: ``scheme://netloc/path?option=value`` or a bare name."""

    raw: str = field(repr=False)  # may hold a password
    scheme: str
    netloc: str = field(default="", repr=False)
    path: str = ""
    options: dict[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def parse(cls, value: str) -> AdapterURL:
        """Parse a URL or a bare adapter name (``"offline"`` means ``"offline://"``)."""
        value = value.strip()
        if not value:
            raise ConfigurationError("adapter URL is empty")
        # A bare name's options may hold URLs (``openai?base_url=http://...``): only a "://"
        # before the query makes the value a URL.
        if "://" not in value.partition("?")[0]:
            name, _, query = value.partition("?")
            return cls(raw=value, scheme=name.lower(), options=dict(parse_qsl(query)))
        try:
            parts = urlsplit(value)
        except ValueError as exc:
            raise ConfigurationError(
                f"adapter URL {_redact(value)!r} is malformed: {exc}"
            ) from None
        if not parts.scheme:
            raise ConfigurationError(f"adapter URL has no scheme: {_redact(value)!r}")
        return cls(
            raw=value,
            scheme=parts.scheme.lower(),
            netloc=parts.netloc,
            path=parts.path,
            options=dict(parse_qsl(parts.query)),
        )

    @property
    def base_scheme(self) -> str:
        """The scheme without a driver suffix: ``sqlite+aiosqlite`` -> ``sqlite``."""
        return self.scheme.split("+", 1)[0]

    def option(self, name: str, default: str | None = None) -> str | None:
        """A query option."""
        return self.options.get(name, default)

    def float_option(self, name: str, default: float) -> float:
        """A query option as a float, with a readable error."""
        raw = self.options.get(name)
        if raw is None:
            return default
        try:
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError(raw)
            return value
        except ValueError:
            raise ConfigurationError(
                f"option {name!r} of adapter URL {_redact(self.raw)!r} must be a number, got {raw!r}"
            ) from None

    def int_option(self, name: str, default: int, *, minimum: int = 1, maximum: int = 10**9) -> int:
        """A whole-number query option within bounds, with a readable error."""
        raw = self.options.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            value = minimum - 1
        if not minimum <= value <= maximum:
            raise ConfigurationError(
                f"option {name!r} of adapter URL {_redact(self.raw)!r} must be a whole number "
                f"from {minimum} to {maximum}, got {raw!r}"
            )
        return value

    def file_path(self) -> Path:
        """The path of a ``scheme:///path`` URL (relative when written ``scheme:///rel``)."""
        return Path(self.path[1:] if self.path.startswith("/") and not self.netloc else self.path)

    def checked_options(
        self, setting: str, *, known: Iterable[str], secrets: Iterable[str], instead: str
    ) -> dict[str, str]:
        """The query options, once none is a secret and every one is ``known``.

        For an adapter's ``from_url``: a secret in a URL ends up in logs and process lists, so
        it is refused with the settings to use ``instead``; a misspelt option is refused rather
        than ignored. ``setting`` names the variable the URL came from.
        """
        secret_names = {name.lower() for name in secrets}
        secret = [name for name in self.options if name.lower() in secret_names]
        if secret:
            raise ConfigurationError(
                f"{setting}: do not put secrets in the URL (option {secret[0]!r}); "
                f"set {instead} instead"
            )
        allowed = set(known)
        unknown = sorted(set(self.options) - allowed)
        if unknown:
            raise ConfigurationError(
                f"{setting}={self}: unknown option(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(allowed))}"
            )
        return dict(self.options)

    def __str__(self) -> str:
        return _redact(self.raw)


_SECRET_OPTION = re.compile(r"([?&][^=&]*(?:password|secret|token|api_key)[^=&]*=)[^&#]*", re.I)


def _redact(url: str) -> str:
    """``url`` with its secrets hidden (``***``), for messages.

    That is a ``user:password@host`` password and the values of options named like secrets
    (``?sentinel_password=...``); everything after the scheme if the URL can not be parsed.
    """
    url = _SECRET_OPTION.sub(r"\1***", url)
    if "://" not in url.partition("?")[0]:
        return url
    try:
        password = urlsplit(url).password
    except ValueError:
        return url.split("://", 1)[0] + "://***"
    return url.replace(f":{password}@", ":***@", 1) if password else url


@dataclass(frozen=True)
class BuildContext:
    """What a factory may use to build its adapter."""

    settings: Settings
    clock: Clock
    monitor: Monitor | None = None
    #: The app's plugin manager, for adapters that call hooks (``ghostart_adjust_prompt``);
    #: ``None`` when an adapter is built outside an app.
    plugins: PluginManager | None = None
    #: Where a billing provider keeps its per-organization state: the app's
    #: :class:`~ghostart.services.billing_states.StoreSubscriptionStates` (built on the store
    #: before billing); ``None`` outside an app.
    billing_states: Any = None
    #: The app's store, secret box, rate limiter and event sinks, for adapters that keep state
    #: in the core's database, seal secrets or emit domain events (ghostart-linkedin); built
    #: before them. ``None`` outside an app. ``emit`` hands an event to the plugins once;
    #: ``dispatch`` hands over one recorded in the store with its change
    #: (:func:`ghostart.services.events.add_event`) and marks it dispatched.
    store: Store | None = None
    secret_box: SecretBox | None = None
    rate_limiter: RateLimiter | None = None
    emit: Callable[[DomainEvent], Awaitable[None]] | None = None
    dispatch: Callable[[DomainEvent], Awaitable[None]] | None = None


AdapterFactory = Callable[[AdapterURL, BuildContext], Any]


@dataclass(frozen=True)
class Registration:
    """One factory for one port and scheme."""

    port: Port
    scheme: str
    factory: AdapterFactory
    package: str
    description: str = ""


class AdapterRegistry:
    """The typed object handed to ``ghostart_register_adapters``."""

    def __init__(self) -> None:
        self._entries: dict[tuple[Port, str], Registration] = {}

    def add(
        self,
        port: Port,
        scheme: str,
        factory: AdapterFactory,
        *,
        package: str,
        description: str = "",
    ) -> None:
        """Register ``factory`` for ``port`` and ``scheme``; a later plugin overrides an earlier one."""
        key = (Port(port), scheme.lower())
        self._entries[key] = Registration(key[0], key[1], factory, package, description)

    def add_store(self, scheme: str, factory: AdapterFactory, **kw: str) -> None:
        """Register a Store factory."""
        self.add(Port.STORE, scheme, factory, **kw)

    def add_cache(self, scheme: str, factory: AdapterFactory, **kw: str) -> None:
        """Register a Cache factory."""
        self.add(Port.CACHE, scheme, factory, **kw)

    def add_lock(self, scheme: str, factory: AdapterFactory, **kw: str) -> None:
        """Register a Lock factory."""
        self.add(Port.LOCK, scheme, factory, **kw)

    def add_queue(self, scheme: str, factory: AdapterFactory, **kw: str) -> None:
        """Register a Queue factory."""
        self.add(Port.QUEUE, scheme, factory, **kw)

    def add_generator(self, scheme: str, factory: AdapterFactory, **kw: str) -> None:
        """Register a Generator factory."""
        self.add(Port.GENERATOR, scheme, factory, **kw)

    def add_publisher(self, scheme: str, factory: AdapterFactory, **kw: str) -> None:
        """Register a Publisher factory."""
        self.add(Port.PUBLISHER, scheme, factory, **kw)

    def add_mailer(self, scheme: str, factory: AdapterFactory, **kw: str) -> None:
        """Register a Mailer factory."""
        self.add(Port.MAILER, scheme, factory, **kw)

    def add_billing(self, scheme: str, factory: AdapterFactory, **kw: str) -> None:
        """Register a Billing factory."""
        self.add(Port.BILLING, scheme, factory, **kw)

    def add_monitor(self, scheme: str, factory: AdapterFactory, **kw: str) -> None:
        """Register a Monitor factory."""
        self.add(Port.MONITOR, scheme, factory, **kw)

    def add_rate_limiter(self, scheme: str, factory: AdapterFactory, **kw: str) -> None:
        """Register a RateLimiter factory."""
        self.add(Port.RATE_LIMITER, scheme, factory, **kw)

    def add_broadcast(self, scheme: str, factory: AdapterFactory, **kw: str) -> None:
        """Register a Broadcast factory."""
        self.add(Port.BROADCAST, scheme, factory, **kw)

    def entries(self) -> list[Registration]:
        """Every registration, sorted by port and scheme."""
        return sorted(self._entries.values(), key=lambda r: (r.port.value, r.scheme))

    def resolve(self, port: Port, url: AdapterURL) -> Registration:
        """The registration serving ``url`` for ``port``, or a ConfigurationError that says what to do."""
        for scheme in (url.scheme, url.base_scheme):
            if (port, scheme) in self._entries:
                return self._entries[(port, scheme)]
        installed = ", ".join(sorted(s for p, s in self._entries if p == port)) or "none"
        hint = KNOWN_PROVIDERS.get((port, url.base_scheme))
        fix = (
            f"install it with: pip install {hint}"
            if hint
            else "check the spelling, or install the plugin that provides it"
        )
        raise ConfigurationError(
            f"{port.setting}={url}: no {port.value} adapter for scheme '{url.scheme}'. "
            f"Installed: {installed}; {fix}.",
            port=port.value,
            scheme=url.scheme,
            installed=installed,
            package=hint,
        )

    def build(self, port: Port, value: str, context: BuildContext) -> Any:
        """Parse ``value``, find its factory and build the adapter."""
        url = AdapterURL.parse(value)
        return self.resolve(port, url).factory(url, context)
