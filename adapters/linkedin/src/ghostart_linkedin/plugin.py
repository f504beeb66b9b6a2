"""The plugin: registers the LinkedIn publisher for ``GHOSTART_PUBLISHER=linkedin``.

The factory imports the adapter only when called, so loading the plugin costs nothing when
another publisher is configured. What it can not get from the core yet, it makes itself:

- **connections and spent OAuth states**: in memory (lost on restart; one process), until the
  core store provides them (docs/adapters/linkedin.md, "Core storage (next step)");
- **the secret box**: from ``GHOSTART_SECRET_KEYS``, the same keys the core uses;
- **the rate limiter**: built from ``GHOSTART_RATE_LIMIT_URL`` through the registry, so with
  ``redis://`` the daily budgets are shared by every process;
- **events**: logged until the composition root sets ``publisher.tokens.emit = app.emit``.
"""

from __future__ import annotations

import logging
from typing import Any

from ghostart.errors import ConfigurationError
from ghostart.hookspecs import hookimpl
from ghostart.registry import AdapterRegistry, AdapterURL, BuildContext, Port

__all__ = ["PACKAGE", "ghostart_register_adapters"]

PACKAGE = "ghostart-linkedin"
log = logging.getLogger("ghostart.linkedin")


def _publisher(url: AdapterURL, ctx: BuildContext) -> Any:
    from ghostart.secretbox import SETTING_NAME, SecretBox
    from ghostart_linkedin.build import build_publisher
    from ghostart_linkedin.connections import MemoryConnectionStore, MemoryUsedStates
    from ghostart_linkedin.settings import LinkedInSettings

    settings = LinkedInSettings.from_url(url)
    if ctx.settings.secret_keys is None:
        raise ConfigurationError(
            f"GHOSTART_PUBLISHER={url} keeps members' LinkedIn tokens encrypted: set "
            f"{SETTING_NAME} (create a key with `ghostart secrets new-key`)",
            setting=SETTING_NAME,
        )
    box = SecretBox.from_setting(ctx.settings.secret_keys.get_secret_value())
    limiter = None
    if ctx.plugins is not None:
        limiter = ctx.plugins.adapter_registry().build(
            Port.RATE_LIMITER, ctx.settings.rate_limit_url, ctx
        )
    log.warning(
        "LinkedIn connections are kept in memory until the core store provides them "
        "(docs/adapters/linkedin.md): members reconnect after a restart"
    )
    return build_publisher(
        settings,
        box=box,
        connections=MemoryConnectionStore(),
        used_states=MemoryUsedStates(ctx.clock),
        clock=ctx.clock,
        rate_limiter=limiter,
        monitor=ctx.monitor,
    )


@hookimpl
def ghostart_register_adapters(registry: AdapterRegistry) -> None:
    """Register the publisher for ``linkedin``."""
    registry.add_publisher(
        "linkedin",
        _publisher,
        package=PACKAGE,
        description="LinkedIn Posts API (members and pages), never twice",
    )
