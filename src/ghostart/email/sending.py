"""Sending many emails: one batch request where the mailer supports it, else one by one.

The Mailer port sends one email. A provider that can send many in one request (Resend: up to 100)
also implements :class:`BatchMailer`; :func:`send_many` uses it for the weekly digest, which goes
to every member of an organization at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from ghostart.errors import InvalidInput
from ghostart.ports.mailer import Email, Mailer

__all__ = ["BatchMailer", "batch_idempotency_key", "send_many"]


@runtime_checkable
class BatchMailer(Protocol):
    """A mailer that sends up to ``max_batch`` emails in one request."""

    max_batch: int

    async def send_batch(
        self, emails: Sequence[Email], *, idempotency_key: str | None = None
    ) -> list[str]:
        """Send ``emails`` at once (all or none) and return their message ids, in order."""
        ...


def batch_idempotency_key(emails: Sequence[Email]) -> str:
    """A key for a batch, stable across retries: derived from its emails' own keys, in order."""
    if not emails:
        raise InvalidInput("a batch needs at least one email", field="emails")
    digest = hashlib.sha256("\n".join(e.idempotency_key for e in emails).encode()).hexdigest()
    return f"batch:{digest}"


async def send_many(mailer: Mailer, emails: Sequence[Email]) -> list[str]:
    """Send ``emails``: in batches of ``max_batch`` when ``mailer`` batches, else one by one.

    Each batch's idempotency key comes from its emails' keys, so retrying the same list (the
    same chunks) sends nothing twice. Returns the message ids, in order.
    """
    if isinstance(mailer, BatchMailer) and mailer.max_batch > 1:
        ids: list[str] = []
        for start in range(0, len(emails), mailer.max_batch):
            chunk = emails[start : start + mailer.max_batch]
            ids += await mailer.send_batch(chunk, idempotency_key=batch_idempotency_key(chunk))
        return ids
    return [await mailer.send(email) for email in emails]
