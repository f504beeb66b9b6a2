"""The plugin: registers the Resend mailer for ``GHOSTART_MAILER=resend``.

The factory imports the SDK only when called, so that loading the plugin (``ghostart plugins``,
every app start) costs nothing when another mailer is configured.
"""

from __future__ import annotations

from typing import Any

from ghostart.errors import ConfigurationError
from ghostart.hookspecs import hookimpl
from ghostart.registry import AdapterRegistry, AdapterURL, BuildContext

__all__ = ["PACKAGE", "ghostart_register_adapters"]

PACKAGE = "ghostart-resend"


def _mailer(url: AdapterURL, ctx: BuildContext) -> Any:
    try:
        from ghostart_resend.mailer import ResendMailer
    except ImportError as exc:  # the SDK is a dependency, but an environment may be broken
        raise ConfigurationError(
            f"GHOSTART_MAILER={url} needs the resend SDK with httpx: pip install {PACKAGE} ({exc})"
        ) from exc
    from ghostart_resend.settings import ResendSettings

    return ResendMailer(ResendSettings.from_url(url))


@hookimpl
def ghostart_register_adapters(registry: AdapterRegistry) -> None:
    """Register the mailer for ``resend``."""
    registry.add_mailer(
        "resend",
        _mailer,
        package=PACKAGE,
        description="Resend email API (idempotent sends, batch digests, Svix webhooks)",
    )
