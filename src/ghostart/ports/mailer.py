"""Mailer port."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pydantic import EmailStr, Field

from ghostart.models import DomainModel

__all__ = ["Email", "Mailer"]


class Email(DomainModel):
    """One message to send."""

    to: list[EmailStr] = Field(min_length=1, max_length=50)
    subject: str = Field(min_length=1, max_length=300)
    text: str = Field(min_length=1, max_length=100_000)
    html: str | None = Field(default=None, max_length=500_000)
    sender: str | None = Field(default=None, max_length=320)
    tags: dict[str, str] = Field(default_factory=dict)
    idempotency_key: str = Field(min_length=1, max_length=255)


@runtime_checkable
class Mailer(Protocol):
    """Sends email.

    Guarantees: the same ``idempotency_key`` sends at most once (natively, or by the adapter's own
    record); returns the provider's message id; failures are raised from the provider taxonomy.
    """

    async def send(self, email: Email) -> str:
        """Send and return the message id."""
        ...
