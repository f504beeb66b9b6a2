"""Mailer port."""

from __future__ import annotations

import re
from typing import Protocol, runtime_checkable

from pydantic import EmailStr, Field, field_validator

from ghostart.models import DomainModel

__all__ = ["Email", "Mailer"]

_HEADER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,75}")
#: Set from the fields, never by a header (a second ``To`` would be a hidden recipient).
_RESERVED_HEADERS = frozenset({"to", "cc", "bcc", "from", "subject", "sender", "reply-to"})


class Email(DomainModel):
    """One message to send."""

    to: list[EmailStr] = Field(min_length=1, max_length=50)
    subject: str = Field(min_length=1, max_length=300)
    text: str = Field(min_length=1, max_length=100_000)
    html: str | None = Field(default=None, max_length=500_000)
    sender: str | None = Field(default=None, max_length=320)
    tags: dict[str, str] = Field(default_factory=dict)
    #: Extra headers, such as RFC 8058's ``List-Unsubscribe`` and ``List-Unsubscribe-Post``.
    headers: dict[str, str] = Field(default_factory=dict, max_length=20)
    idempotency_key: str = Field(min_length=1, max_length=255)

    @field_validator("headers")
    @classmethod
    def _safe_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not _HEADER_NAME.fullmatch(name) or name.lower() in _RESERVED_HEADERS:
                raise ValueError(f"header {name!r} can not be set this way")
            if any(c in text for c in "\r\n\x00") or len(text) > 2000:
                raise ValueError(f"header {name!r} must be one line of at most 2000 characters")
        return value


@runtime_checkable
class Mailer(Protocol):
    """Sends email.

    Guarantees: the same ``idempotency_key`` sends at most once (natively, or by the adapter's own
    record); returns the provider's message id; failures are raised from the provider taxonomy.
    """

    async def send(self, email: Email) -> str:
        """Send and return the message id."""
        ...
