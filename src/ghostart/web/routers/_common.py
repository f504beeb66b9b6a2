"""Shared pieces of the routers: the ghostart app of a request, cursors, page sizes."""

from __future__ import annotations

import base64
import binascii

from fastapi import Request

from ghostart.app import Ghostart
from ghostart.errors import InvalidInput
from ghostart.web.settings import WebSettings

ORG = "/organizations/{organization_id}"


def ghostart_of(request: Request) -> Ghostart:
    """The :class:`Ghostart` serving this request."""
    app: Ghostart = request.app.state.ghostart
    return app


def web_settings_of(request: Request) -> WebSettings:
    """The web settings of this service."""
    settings: WebSettings = request.app.state.web_settings
    return settings


def page_size(request: Request, limit: int | None) -> int:
    """``limit``, capped by ``GHOSTART_MAX_PAGE_SIZE`` (default 50 when not given)."""
    cap = web_settings_of(request).max_page_size
    if limit is None:
        return min(50, cap)
    if limit < 1:
        raise InvalidInput("limit must be at least 1", field="limit")
    return min(limit, cap)


def encode_cursor(offset: int) -> str:
    """An opaque cursor (clients must not build their own)."""
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The position a cursor stands for."""
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = raw.partition(":")
        offset = int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput("cursor is not one this API returned", field="cursor") from None
    if kind != "o" or offset < 0 or offset > 1_000_000:
        raise InvalidInput("cursor is not one this API returned", field="cursor")
    return offset
