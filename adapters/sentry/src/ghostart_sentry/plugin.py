"""The plugin: registers the Sentry monitor for ``GHOSTART_MONITOR=sentry``.

The factory imports the SDK only when called, so that loading the plugin costs nothing when
another monitor is configured.
"""

from __future__ import annotations

from typing import Any

from ghostart.errors import ConfigurationError
from ghostart.hookspecs import hookimpl
from ghostart.registry import AdapterRegistry, AdapterURL, BuildContext

__all__ = ["PACKAGE", "ghostart_register_adapters"]

PACKAGE = "ghostart-sentry"

#: The ports whose adapter names become the ``provider`` tag of their calls.
_PROVIDER_PORTS = ("generator", "publisher", "mailer", "billing")


def _monitor(url: AdapterURL, ctx: BuildContext) -> Any:
    try:
        from ghostart_sentry.monitor import SentryMonitor
    except ImportError as exc:  # the SDK is a dependency, but an environment may be broken
        raise ConfigurationError(
            f"GHOSTART_MONITOR={url} needs sentry-sdk: pip install {PACKAGE} ({exc})"
        ) from exc
    providers = {}
    for port in _PROVIDER_PORTS:
        value = str(getattr(ctx.settings, port, "") or "")
        providers[port] = AdapterURL.parse(value).base_scheme if value else port
    return SentryMonitor(
        providers=providers,
        breadcrumbs=url.option("breadcrumbs", "true") != "false",
    )


@hookimpl
def ghostart_register_adapters(registry: AdapterRegistry) -> None:
    """Register the monitor for ``sentry``."""
    registry.add_monitor(
        "sentry",
        _monitor,
        package=PACKAGE,
        description="Sentry (tagged errors, scrubbed events, spans for jobs and provider calls)",
    )
