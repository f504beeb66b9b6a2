"""The plugin: registers the LinkedIn publisher for ``GHOSTART_PUBLISHER=linkedin``.

The factory imports the adapter only when called, so loading the plugin costs nothing when
another publisher is configured. Inside an app, the composition root hands it (on
``BuildContext``) the store, which keeps connections in ``linkedin_connections`` and spent
OAuth states in ``oauth_states``; the app's secret box; the app's rate limiter, which counts the
daily budgets (shared by every process with ``redis://``); and the app's ``emit``, through which
the connection events reach every plugin. Built outside an app (no store on the context), it
falls back to memory for connections and states, a secret box from ``GHOSTART_SECRET_KEYS`` and
a rate limiter from ``GHOSTART_RATE_LIMIT_URL``, and logs its events.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ghostart.errors import ConfigurationError
from ghostart.hookspecs import hookimpl
from ghostart.registry import AdapterRegistry, AdapterURL, BuildContext, Port

if TYPE_CHECKING:
    from ghostart.secretbox import SecretBox
    from ghostart_linkedin.connections import ConnectionStore, UsedStates

__all__ = ["PACKAGE", "ghostart_register_adapters"]

PACKAGE = "ghostart-linkedin"
log = logging.getLogger("ghostart.linkedin")


def _publisher(url: AdapterURL, ctx: BuildContext) -> Any:
    from ghostart_linkedin.build import build_publisher
    from ghostart_linkedin.settings import LinkedInSettings

    settings = LinkedInSettings.from_url(url)
    box = ctx.secret_box or _secret_box(url, ctx)
    limiter = ctx.rate_limiter
    if limiter is None and ctx.plugins is not None:
        limiter = ctx.plugins.adapter_registry().build(
            Port.RATE_LIMITER, ctx.settings.rate_limit_url, ctx
        )
    connections: ConnectionStore
    used_states: UsedStates
    if ctx.store is not None:
        from ghostart_linkedin.stored import StoreConnectionStore, StoreUsedStates

        connections = StoreConnectionStore(ctx.store, ctx.clock)
        used_states = StoreUsedStates(ctx.store)
    else:
        from ghostart_linkedin.connections import MemoryConnectionStore, MemoryUsedStates

        log.warning(
            "LinkedIn connections are kept in memory (built outside an app, without a store): "
            "members reconnect after a restart"
        )
        connections, used_states = MemoryConnectionStore(), MemoryUsedStates(ctx.clock)
    return build_publisher(
        settings,
        box=box,
        connections=connections,
        used_states=used_states,
        clock=ctx.clock,
        rate_limiter=limiter,
        monitor=ctx.monitor,
        # Events kept with their save (the store's outbox) are dispatched, not emitted afresh.
        emit=ctx.dispatch if ctx.store is not None and ctx.dispatch is not None else ctx.emit,
    )


def _secret_box(url: AdapterURL, ctx: BuildContext) -> SecretBox:
    from ghostart.secretbox import SETTING_NAME, SecretBox

    if ctx.settings.secret_keys is None:
        raise ConfigurationError(
            f"GHOSTART_PUBLISHER={url} keeps members' LinkedIn tokens encrypted: set "
            f"{SETTING_NAME} (create a key with `ghostart secrets new-key`)",
            setting=SETTING_NAME,
        )
    return SecretBox.from_setting(ctx.settings.secret_keys.get_secret_value())


@hookimpl
def ghostart_register_adapters(registry: AdapterRegistry) -> None:
    """Register the publisher for ``linkedin``."""
    registry.add_publisher(
        "linkedin",
        _publisher,
        package=PACKAGE,
        description="LinkedIn Posts API (members and pages), never twice",
    )
