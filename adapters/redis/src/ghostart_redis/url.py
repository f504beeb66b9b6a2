"""Reading adapter URLs: typed options, several hosts, and messages that hide passwords."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from ghostart.errors import ConfigurationError
from ghostart.registry import AdapterURL

__all__ = [
    "URLOptions",
    "parse_bool",
    "parse_database",
    "redact",
    "split_hosts",
    "typed_options",
]


def redact(url: AdapterURL) -> str:
    """``url`` for messages: ghostart shows the password and every secret option as ``***``."""
    return str(url)


class URLOptions:
    """Typed query options of an adapter URL.

    Errors name the option and never show a password.
    """

    def __init__(self, url: AdapterURL) -> None:
        self.url = url
        self.shown = redact(url)

    def __contains__(self, name: str) -> bool:
        return name in self.url.options

    def text(self, name: str, default: str | None = None) -> str | None:
        """The option as written."""
        return self.url.options.get(name, default)

    def number(self, name: str, default: float) -> float:
        """The option as a finite number."""
        return self.url.float_option(name, default)

    def positive(self, name: str, default: float) -> float:
        """The option as a positive number."""
        value = self.number(name, default)
        if not value > 0:
            raise ConfigurationError(f"{self.shown}: option {name!r} must be positive, got {value}")
        return value

    def whole(self, name: str, default: int, *, minimum: int = 1, maximum: int = 10**9) -> int:
        """The option as a whole number within bounds."""
        return self.url.int_option(name, default, minimum=minimum, maximum=maximum)

    def flag(self, name: str, default: bool) -> bool:
        """The option as a yes/no (``1/0``, ``true/false``, ``yes/no``, ``on/off``)."""
        raw = self.url.options.get(name)
        if raw is None:
            return default
        try:
            return parse_bool(raw)
        except ValueError:
            raise ConfigurationError(
                f"{self.shown}: option {name!r} must be true or false, got {raw!r}"
            ) from None


def parse_bool(value: str) -> bool:
    """``1/0``, ``true/false``, ``yes/no``, ``on/off``; anything else is a ``ValueError``."""
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(value)


def typed_options(
    options: URLOptions, parsers: dict[str, Callable[[str], object]]
) -> dict[str, Any]:
    """The options named in ``parsers`` that the URL sets, each parsed by its function."""
    typed: dict[str, Any] = {}
    for name, parse in parsers.items():
        raw = options.text(name)
        if raw is None:
            continue
        try:
            typed[name] = parse(raw)
        except ValueError:
            raise ConfigurationError(
                f"{options.shown}: option {name!r} has a bad value {raw!r}"
            ) from None
    return typed


def parse_database(shown: str, segments: list[str]) -> int:
    """The database number of a URL path split at ``/`` (0 when there is none)."""
    if not segments:
        return 0
    if len(segments) == 1 and segments[0].isdigit():
        return int(segments[0])
    raise ConfigurationError(f"{shown}: the path must be a database number, e.g. /0")


def split_hosts(
    netloc: str, shown: str, default_port: int
) -> tuple[str | None, str | None, list[tuple[str, int]]]:
    """User, password and ``(host, port)`` pairs of a netloc that may list several hosts."""
    userinfo, _, hostlist = netloc.rpartition("@")
    username: str | None = None
    password: str | None = None
    if userinfo:
        user, has_password, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if has_password else None
    hosts: list[tuple[str, int]] = []
    for item in hostlist.split(","):
        item = item.strip()
        if not item:
            continue
        if item.startswith("["):  # [IPv6]:port
            host, _, rest = item[1:].partition("]")
            port_text = rest[1:] if rest.startswith(":") else ""
        else:
            host, _, port_text = item.partition(":")
        try:
            port = int(port_text) if port_text else default_port
        except ValueError:
            raise ConfigurationError(f"{shown}: bad port in {item!r}") from None
        if not host or not 0 < port < 65536:
            raise ConfigurationError(f"{shown}: bad host in {item!r}")
        hosts.append((host, port))
    if not hosts:
        hosts.append(("localhost", default_port))
    return username, password, hosts
