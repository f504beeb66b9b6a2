"""ghostart on LinkedIn: connect members with OAuth and publish posts that are never sent twice.

Install ``ghostart-linkedin``, configure the LinkedIn app and choose the publisher::

    GHOSTART_LINKEDIN_CLIENT_ID=...  GHOSTART_LINKEDIN_CLIENT_SECRET=...
    GHOSTART_LINKEDIN_REDIRECT_URI=https://app.example.com/v1/linkedin/callback
    GHOSTART_PUBLISHER=linkedin           # or linkedin?version=202610

The classes are importable from here; importing this package imports nothing else until a
name is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ghostart_linkedin.build import build_publisher
    from ghostart_linkedin.connections import (
        Connection,
        ConnectionKey,
        ConnectionStore,
        MemoryConnectionStore,
        MemoryUsedStates,
        UsedStates,
    )
    from ghostart_linkedin.errors import NeedsReconnect, NotConnected
    from ghostart_linkedin.images import ImageUpload
    from ghostart_linkedin.oauth import InvalidState, LinkedInOAuth
    from ghostart_linkedin.publisher import Article, LinkedInPost, LinkedInPublisher
    from ghostart_linkedin.settings import LinkedInSettings
    from ghostart_linkedin.tokens import LinkedInEvent, Tokens

__all__ = [
    "Article",
    "Connection",
    "ConnectionKey",
    "ConnectionStore",
    "ImageUpload",
    "InvalidState",
    "LinkedInEvent",
    "LinkedInOAuth",
    "LinkedInPost",
    "LinkedInPublisher",
    "LinkedInSettings",
    "MemoryConnectionStore",
    "MemoryUsedStates",
    "NeedsReconnect",
    "NotConnected",
    "Tokens",
    "UsedStates",
    "build_publisher",
]

_WHERE = {
    "Article": "ghostart_linkedin.publisher",
    "Connection": "ghostart_linkedin.connections",
    "ConnectionKey": "ghostart_linkedin.connections",
    "ConnectionStore": "ghostart_linkedin.connections",
    "ImageUpload": "ghostart_linkedin.images",
    "InvalidState": "ghostart_linkedin.oauth",
    "LinkedInEvent": "ghostart_linkedin.tokens",
    "LinkedInOAuth": "ghostart_linkedin.oauth",
    "LinkedInPost": "ghostart_linkedin.publisher",
    "LinkedInPublisher": "ghostart_linkedin.publisher",
    "LinkedInSettings": "ghostart_linkedin.settings",
    "MemoryConnectionStore": "ghostart_linkedin.connections",
    "MemoryUsedStates": "ghostart_linkedin.connections",
    "NeedsReconnect": "ghostart_linkedin.errors",
    "NotConnected": "ghostart_linkedin.errors",
    "Tokens": "ghostart_linkedin.tokens",
    "UsedStates": "ghostart_linkedin.connections",
    "build_publisher": "ghostart_linkedin.build",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'ghostart_linkedin' has no attribute {name!r}")
