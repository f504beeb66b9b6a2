"""A member's LinkedIn connection as the core stores it (table ``linkedin_connections``).

The core keeps the row; the LinkedIn adapter (``ghostart-linkedin``) seals and opens the tokens
with the core :class:`~ghostart.secretbox.SecretBox`, so ``access_token`` and ``refresh_token``
here are always ciphertext. Nothing outside the adapter decrypts them, and no route returns them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field

from ghostart.models.base import DomainModel

__all__ = ["LinkedInApp", "LinkedInConnection"]

#: Which LinkedIn app a connection belongs to: a member's own posting, or a company page's.
LinkedInApp = Literal["member", "organization"]


class LinkedInConnection(DomainModel):
    """One (organization, user, app) connection; ``version`` is the compare-and-set token."""

    organization_id: UUID
    user_id: UUID
    app: LinkedInApp
    member_urn: str = Field(min_length=1, max_length=200)
    member_name: str | None = None
    access_token: str = Field(repr=False)
    access_expires_at: datetime
    refresh_token: str | None = Field(default=None, repr=False)
    refresh_expires_at: datetime | None = None
    scopes: tuple[str, ...] = ()
    needs_reconnect: bool = False
    reconnect_reason: str | None = None
    reminded_for: datetime | None = None
    connected_at: datetime
    updated_at: datetime
    version: int = 0
