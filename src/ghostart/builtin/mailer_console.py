"""The console mailer: writes each email to a stream (stderr by default) instead of sending it."""

from __future__ import annotations

import sys
from typing import TextIO

from ghostart.ports import Email

__all__ = ["ConsoleMailer"]


class ConsoleMailer:
    """Prints emails; the same idempotency key prints once."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self.sent: dict[str, Email] = {}

    async def send(self, email: Email) -> str:
        """Print ``email`` and return a message id derived from its idempotency key."""
        message_id = f"console:{email.idempotency_key}"
        if email.idempotency_key in self.sent:
            return message_id
        self.sent[email.idempotency_key] = email
        out = self.stream or sys.stderr
        out.write(
            f"--- email {message_id}\nTo: {', '.join(email.to)}\nSubject: {email.subject}\n\n"
            f"{email.text}\n--- end\n"
        )
        out.flush()
        return message_id
