"""Idempotency keys and meter-event identifiers, derived from what caused the call.

A key is a pure function of the ghostart row or operation behind a POST (the organization, the
plan, the caller's operation id, the usage record's id), never random: a retry, by the SDK, by
ghostart's RetryPolicy or by a worker that picks the job up again, sends the same key, and Stripe
answers with the first result instead of doing the work twice. Stripe keeps keys for 24 hours.
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["MAX_IDEMPOTENCY_KEY", "MAX_METER_IDENTIFIER", "idempotency_key", "meter_identifier"]

#: Stripe's limits on the ``Idempotency-Key`` header and on a meter event's ``identifier``.
MAX_IDEMPOTENCY_KEY = 255
MAX_METER_IDENTIFIER = 100
_SAFE = re.compile(r"[^A-Za-z0-9_.:@+=-]")


def _derive(limit: int, kind: str, parts: tuple[object, ...]) -> str:
    if not parts or any(str(p) == "" for p in parts):
        raise ValueError(f"an idempotency key for {kind!r} needs non-empty parts")
    text = ":".join(["ghostart", kind, *(_SAFE.sub("_", str(p)) for p in parts)])
    # An unsafe character replaced could make two inputs collide: hash the raw parts instead.
    exact = all(not _SAFE.search(str(p)) for p in parts)
    if exact and len(text) <= limit:
        return text
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8")).hexdigest()
    return f"ghostart:{kind}:{digest}"[:limit]


def idempotency_key(kind: str, *parts: object) -> str:
    """``ghostart:<kind>:<part>:<part>...`` (hashed when too long or not plain ASCII)."""
    return _derive(MAX_IDEMPOTENCY_KEY, kind, parts)


def meter_identifier(event_name: str, source_id: object) -> str:
    """The meter event ``identifier`` for the usage recorded by ``source_id`` (a row's id)."""
    return _derive(MAX_METER_IDENTIFIER, "usage", (event_name, source_id))
