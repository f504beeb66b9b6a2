"""The pluggy hook specifications. Implement them with ``ghostart.hookimpl``.

A plugin is a module (or object) with hook implementations, registered under the ``ghostart``
entry-point group::

    [project.entry-points.ghostart]
    acme = "ghostart_acme"
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING

import pluggy

from ghostart.models import DomainEvent

if TYPE_CHECKING:
    from ghostart.app import Ghostart
    from ghostart.registry import AdapterRegistry

__all__ = ["PROJECT", "hookimpl", "hookspec"]

PROJECT = "ghostart"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def ghostart_register_adapters(registry: AdapterRegistry) -> None:
    """Register adapter factories for the URL schemes this plugin serves.

    Example::

        @hookimpl
        def ghostart_register_adapters(registry):
            registry.add_cache("acme", lambda url, ctx: AcmeCache(url.netloc), package="ghostart-acme")
    """


@hookspec
def ghostart_handle_event(event: DomainEvent, app: Ghostart) -> Awaitable[None] | None:
    """React to a domain event (``content.generated``, ``post.published``, ...).

    Called for every event after the change that caused it is committed. May be a coroutine. An
    error here is reported to the Monitor and never undoes or blocks the change.

    Example::

        @hookimpl
        async def ghostart_handle_event(event, app):
            if event.name == "post.published":
                await notify_team(event.organization_id, event.payload["post_id"])
    """
