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

from ghostart.models import BrandVoice, ContentRequest, DomainEvent

if TYPE_CHECKING:
    from ghostart.app import Ghostart
    from ghostart.prompting import PromptMessage
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

    Called for every event after the change that caused it is committed, at least once: the
    event is kept with the change, and a worker dispatches it again if its process died first
    or a handler raised. Deduplicate by ``event.id``. May be a coroutine. An error here is
    reported to the Monitor and never undoes or blocks the change.

    Example::

        @hookimpl
        async def ghostart_handle_event(event, app):
            if event.name == "post.published":
                await notify_team(event.organization_id, event.payload["post_id"])
    """


@hookspec
def ghostart_adjust_prompt(
    messages: list[PromptMessage], voice: BrandVoice, request: ContentRequest, model: str
) -> None:
    """Adjust, in place, the chat messages a language-model generator is about to send.

    ``messages`` is the list :func:`ghostart.prompting.build_messages` made: a ``system`` message
    (ghostart's instructions) then a ``user`` message (the brand voice and the request as
    delimited data). Append, insert or edit ``{"role": ..., "content": ...}`` dicts; the roles are
    ``system``, ``user`` and ``assistant``. ``model`` is the provider's model name. Called once per
    generation, in plugin order, before the first request; the result must still end with a
    ``user`` message. Text you take from people belongs inside the data blocks, never in a
    ``system`` message (see :func:`ghostart.prompting.data_block`).

    Installing or removing a plugin that implements this hook changes the generator's ``model``
    identifier, so drafts cached under the old prompt are not served for the new one.

    Example::

        @hookimpl
        def ghostart_adjust_prompt(messages, voice, request, model):
            messages[0]["content"] += " Never mention competitors by name."
    """
