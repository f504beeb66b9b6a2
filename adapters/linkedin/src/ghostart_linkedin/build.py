"""Putting the adapter together: one function, used by the plugin, the tests and the core.

``build_publisher`` wires the OAuth client, the token handling, the API calls and the
publisher around the storage they are given: inside an app, the plugin passes the core
store's (:mod:`ghostart_linkedin.stored`); tests and code outside an app, the in-memory ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx

from ghostart.ports import Clock, Monitor, RateLimiter
from ghostart.secretbox import SecretBox
from ghostart_linkedin.api import DailyBudget, LinkedInAPI
from ghostart_linkedin.connections import ConnectionStore, UsedStates
from ghostart_linkedin.oauth import LinkedInOAuth
from ghostart_linkedin.publisher import LinkedInPublisher, make_http_client
from ghostart_linkedin.settings import LinkedInSettings
from ghostart_linkedin.tokens import EventSink, Tokens

__all__ = ["build_publisher"]


def build_publisher(
    settings: LinkedInSettings,
    *,
    box: SecretBox,
    connections: ConnectionStore,
    used_states: UsedStates,
    clock: Clock,
    rate_limiter: RateLimiter | None = None,
    http: httpx.AsyncClient | None = None,
    monitor: Monitor | None = None,
    emit: EventSink | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> LinkedInPublisher:
    """A :class:`LinkedInPublisher` over the given storage.

    Raises:
        ConfigurationError: The member app's credentials are missing (the message names them).
    """
    client = http or make_http_client(settings)
    oauth = LinkedInOAuth(
        settings, settings.apps(), box=box, used_states=used_states, http=client, clock=clock
    )
    tokens = Tokens(
        settings,
        store=connections,
        box=box,
        oauth=oauth,
        clock=clock,
        emit=emit,
        monitor=monitor,
    )
    api = LinkedInAPI(
        settings,
        tokens=tokens,
        http=client,
        budget=DailyBudget(rate_limiter, settings, clock),
        clock=clock,
        monitor=monitor,
    )
    return LinkedInPublisher(
        settings, api=api, clock=clock, monitor=monitor, sleep=sleep, owns_http=http is None
    )
