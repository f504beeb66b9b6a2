"""The one place that touches the resend SDK's module globals.

The SDK keeps its configuration in the module: ``resend.api_key``, ``resend.api_url`` and
``resend.default_async_http_client`` are read by every request. So:

- **One API key per process.** :func:`configure` sets the key once; a second mailer with another
  key (or another base URL) is a :class:`ConfigurationError`, not a silent switch of every
  tenant's mail to the last key set. A multi-tenant deployment sends all organizations' mail from
  one Resend account (each organization may still have its own verified sending domain in it);
  tenants with their own Resend accounts need one process each, or a mailer on Resend's HTTP API
  that passes the key per request.
- **Our transport.** :class:`_Transport` is the SDK's documented extension point
  (``AsyncHTTPClient``) over an ``httpx.AsyncClient``: pooled connections, our timeouts, and
  timeouts told apart from other failures (the SDK's own client reports both as a generic 500).
  Each mailer's client travels in a context variable for the duration of its call, so two mailers
  (or tests) with different clients never share one by accident. respx sees every request.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import httpx
import resend
from resend.exceptions import ResendError
from resend.http_client_async import AsyncHTTPClient

from ghostart.errors import ConfigurationError

__all__ = ["TransportFailure", "configure", "using"]

_current: ContextVar[httpx.AsyncClient | None] = ContextVar("ghostart_resend_client", default=None)
_lock = threading.Lock()
_configured: tuple[str, str] | None = None


class TransportFailure(ResendError):
    """The request did not get an answer (raised through the SDK, which re-raises its errors)."""

    def __init__(self, message: str, *, timeout: bool) -> None:
        super().__init__(
            code=0, error_type="transport_error", message=message, suggested_action="retry"
        )
        self.timeout = timeout


class _Transport(AsyncHTTPClient):
    async def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        json: dict[str, object] | list[object] | None = None,
        files: dict[str, Any] | None = None,
        data: dict[str, str] | None = None,
    ) -> tuple[bytes, int, Mapping[str, str]]:
        client = _current.get()
        if client is None:  # a call outside ResendMailer: refuse rather than guess a client
            raise TransportFailure(
                "no HTTP client: call Resend through ResendMailer", timeout=False
            )
        try:
            response = await client.request(
                method, url, headers=dict(headers), json=json, files=files, data=data
            )
        except httpx.TimeoutException as exc:
            raise TransportFailure(f"{type(exc).__name__}", timeout=True) from exc
        except httpx.HTTPError as exc:
            raise TransportFailure(f"{type(exc).__name__}", timeout=False) from exc
        return response.content, response.status_code, response.headers


_TRANSPORT = _Transport()


def configure(api_key: str, api_url: str) -> None:
    """Point the SDK at ``api_url`` with ``api_key``, once per process."""
    global _configured
    with _lock:
        if _configured is not None:
            same_key = hmac.compare_digest(_configured[0].encode(), api_key.encode())
            if not same_key or _configured[1] != api_url:
                raise ConfigurationError(
                    "the resend SDK holds one API key and base URL per process, and this process "
                    "already uses another; run one Resend account per process (see "
                    "docs/adapters/resend.md, 'One key per process')"
                )
        resend.api_key = api_key
        resend.api_url = api_url
        resend.default_async_http_client = _TRANSPORT
        _configured = (api_key, api_url)


def reset() -> None:
    """Forget the configuration (tests only: a process never needs two keys)."""
    global _configured
    with _lock:
        _configured = None
        resend.api_key = None


@contextmanager
def using(client: httpx.AsyncClient) -> Iterator[None]:
    """Route the SDK's requests in this context through ``client``."""
    token = _current.set(client)
    try:
        yield
    finally:
        _current.reset(token)
