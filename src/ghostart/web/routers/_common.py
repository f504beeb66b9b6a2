"""Shared pieces of the routers: the ghostart app of a request, cursors, page sizes."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from uuid import UUID

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


Position = tuple[datetime, UUID]


def encode_cursor(position: Position) -> str:
    """An opaque cursor after ``(created_at, id)`` (clients must not build their own).

    A keyset, not an offset: a page continues after the last item seen, so items added
    meanwhile neither repeat nor push others off the next page.
    """
    at, item_id = position
    raw = f"k:{at.astimezone(UTC).isoformat()}|{item_id.hex}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Position | None:
    """The position a cursor stands for; ``None`` for the first page."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = raw.partition(":")
        at_text, _, id_text = value.partition("|")
        at, item_id = datetime.fromisoformat(at_text), UUID(hex=id_text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput("cursor is not one this API returned", field="cursor") from None
    if kind != "k" or at.tzinfo is None or len(id_text) != 32:
        raise InvalidInput("cursor is not one this API returned", field="cursor")
    return at, item_id
