"""The email side of the unit of work: the email outbox, suppressions and scheduler slots.

Every email is a row of ``email_outbox`` first, written by the event handler or the scheduler,
and claimed and sent by the workers. ``idempotency_key`` is unique: an
event handled twice, or a slot fired by two workers, inserts its rows once, and every retry of a
row sends with the same key. Suppressions hold the SHA-256 of an address, never the address.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol
from uuid import UUID

from pydantic import Field

from ghostart.models import EmailCategory, PostStatus
from ghostart.models.base import DomainModel, new_id, utcnow

__all__ = [
    "DigestCounts",
    "DigestPost",
    "EmailRepository",
    "EmailStatus",
    "OutboxEmail",
    "Recipient",
]


class EmailStatus(StrEnum):
    """An outbox row's state: ``pending -> sending -> sent``, or ``failed`` / ``skipped``."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    #: Not sent: the recipient opted out or the address was suppressed after it was queued.
    SKIPPED = "skipped"


class OutboxEmail(DomainModel):
    """One email to one user, as the outbox holds it."""

    id: UUID = Field(default_factory=new_id)
    organization_id: UUID | None = None
    user_id: UUID
    #: The address at enqueue time (personal data: not in the repr).
    recipient: str = Field(repr=False, max_length=320)
    template: str
    category: EmailCategory
    #: The template's validated data, JSON-ready: rendering it again gives the same bytes.
    data: dict[str, Any] = Field(default_factory=dict, repr=False)
    idempotency_key: str = Field(min_length=1, max_length=255)
    status: EmailStatus = EmailStatus.PENDING
    attempts: int = 0
    #: When the row may be sent: its creation, or a retry's backoff.
    not_before: datetime = Field(default_factory=utcnow)
    lease_owner: str | None = None
    lease_until: datetime | None = None
    message_id: str | None = None
    #: What the provider reported after the send (``delivered``, ``bounced``, ``complained``).
    delivery: str | None = None
    error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None


class Recipient(DomainModel):
    """A member who may get mail: who they are and in which organization (the scheduler's scan)."""

    user_id: UUID
    organization_id: UUID
    role: str
    email: str = Field(repr=False)
    name: str | None = None
    timezone: str = "UTC"
    email_preferences: dict[str, Any] = Field(default_factory=dict)
    organization_name: str | None = None


class DigestPost(DomainModel):
    """One post in a digest."""

    id: UUID
    author_id: UUID
    status: PostStatus
    body: str


class DigestCounts(DomainModel):
    """Posts per status changed in a period, and the newest few, for one digest."""

    counts: dict[PostStatus, int] = Field(default_factory=dict)
    items: list[DigestPost] = Field(default_factory=list)


class EmailRepository(Protocol):
    """The system's email tables (members never write them)."""

    async def add_many(self, rows: Sequence[OutboxEmail]) -> builtins.list[OutboxEmail]:
        """Insert ``rows``, skipping any whose idempotency key exists; the rows inserted."""
        ...

    async def get(self, email_id: UUID) -> OutboxEmail | None: ...

    async def list_for_user(self, user_id: UUID, *, limit: int = 50) -> builtins.list[OutboxEmail]:
        """The user's emails, newest first."""
        ...

    async def claim_due(
        self, *, now: datetime, owner: str, lease_until: datetime, limit: int
    ) -> builtins.list[OutboxEmail]:
        """Take up to ``limit`` due rows, oldest first, leasing them to ``owner``.

        Due: ``pending`` with ``not_before <= now``, or ``sending`` with an expired lease (the
        sender died; the same key makes the provider send it once). Compare-and-set
        (``sending``, ``attempts + 1``, the lease), so concurrent workers never take the same row.
        """
        ...

    async def mark_sent(self, email_id: UUID, *, message_id: str, at: datetime) -> bool: ...

    async def retry_later(
        self, email_id: UUID, *, owner: str, not_before: datetime, error: str
    ) -> bool:
        """Put ``owner``'s row back to ``pending`` until ``not_before``."""
        ...

    async def mark(
        self, email_ids: Sequence[UUID], status: EmailStatus, *, error: str | None = None
    ) -> int:
        """Set ``status`` (``failed`` or ``skipped``) on rows not sent yet."""
        ...

    async def record_delivery(self, message_id: str, delivery: str) -> int:
        """Note what the provider reported for ``message_id``; how many rows it concerned."""
        ...

    async def suppress(
        self,
        address_hash: str,
        *,
        reason: str,
        provider: str,
        message_id: str | None,
        at: datetime,
    ) -> bool:
        """Add a suppressed address (by hash); whether it was new."""
        ...

    async def suppressed(self, address_hashes: Sequence[str]) -> set[str]:
        """Which of ``address_hashes`` are suppressed."""
        ...

    async def claim_slot(self, key: str, *, owner: str, at: datetime) -> bool:
        """Record the scheduler slot ``key`` as fired; whether this call did (once, ever)."""
        ...

    async def recipients(
        self, *, timezones: Sequence[str] | None = None
    ) -> builtins.list[Recipient]:
        """Every membership of a user with an address (in ``timezones``, if given)."""
        ...

    async def timezones(self) -> builtins.list[str]:
        """The distinct time zones of users who belong to an organization."""
        ...

    async def digest(
        self,
        organization_id: UUID,
        *,
        author_id: UUID | None,
        since: datetime,
        until: datetime,
        limit: int = 10,
    ) -> DigestCounts:
        """Posts changed in ``[since, until)`` (of ``author_id`` only, if given)."""
        ...
