"""A Sentry transport that keeps envelopes in memory, for tests (sentry-sdk ships none).

::

    transport = CapturingTransport()
    sentry_sdk.init(dsn="https://key@sentry.invalid/1", transport=transport, **sentry_options())
    ...
    sentry_sdk.flush()
    transport.events()      # the error events, as dicts
    transport.payload()     # every envelope serialized, as bytes: scan it for secrets
"""

from __future__ import annotations

import json
from typing import Any

from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

__all__ = ["CapturingTransport"]


class CapturingTransport(Transport):
    """Collects every envelope instead of sending it."""

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        """Keep ``envelope``."""
        self.envelopes.append(envelope)

    def items(self, item_type: str) -> list[dict[str, Any]]:
        """The JSON payloads of the items of a type (``event``, ``transaction``), in order."""
        found = []
        for envelope in self.envelopes:
            for item in envelope.items:
                if item.type == item_type and item.payload.json is not None:
                    found.append(item.payload.json)
                elif item.type == item_type and item.payload.bytes:
                    found.append(json.loads(item.payload.bytes))
        return found

    def events(self) -> list[dict[str, Any]]:
        """The error events."""
        return self.items("event")

    def transactions(self) -> list[dict[str, Any]]:
        """The performance transactions (with their spans)."""
        return self.items("transaction")

    def payload(self) -> bytes:
        """Every envelope as it would go over the wire."""
        return b"".join(envelope.serialize() for envelope in self.envelopes)
