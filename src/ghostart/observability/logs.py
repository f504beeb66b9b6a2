"""Logging set-up: plain text or one JSON object per line, with request and job ids.

``GHOSTART_LOG_FORMAT=json`` makes every record a JSON object (``time``, ``level``, ``logger``,
``message``, ``request_id``, ``job_id``, and ``exc`` with the traceback); ``text`` (the default)
keeps the classic line, ids appended when bound. The ids come from
:mod:`ghostart.observability.correlation`, so a request and the jobs it caused share a
``request_id`` across the API and worker processes.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from ghostart.observability.correlation import current_job_id, current_request_id

__all__ = ["CorrelationFilter", "JSONFormatter", "TextFormatter", "configure_logging"]

LOG_FORMATS = ("text", "json")


class CorrelationFilter(logging.Filter):
    """Adds ``request_id`` and ``job_id`` (or ``None``) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Annotate; never drops a record."""
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        if not hasattr(record, "job_id"):
            record.job_id = current_job_id()
        return True


class JSONFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "job_id"):
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """The classic line, with ``request_id=... job_id=...`` appended when bound."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """The line."""
        line = super().format(record)
        ids = [
            f"{key}={getattr(record, key)}"
            for key in ("request_id", "job_id")
            if getattr(record, key, None) is not None
        ]
        if not ids:
            return line
        head, sep, tail = line.partition("\n")  # after the message, before a traceback
        return f"{head} {' '.join(ids)}{sep}{tail}"


def configure_logging(
    level: int = logging.WARNING, log_format: str = "text", *, force: bool = False
) -> logging.Handler | None:
    """Install one stderr handler on the root logger with the chosen format; returns it.

    Like :func:`logging.basicConfig`, does nothing (returns ``None``) when the root logger
    already has handlers someone else installed, unless ``force``. Replaces a handler an
    earlier call installed, so calling it twice is harmless.
    """
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, got {log_format!r}")
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, "_ghostart", False)]
    if len(ours) < len(root.handlers) and not force:
        return None
    for handler in ours:
        root.removeHandler(handler)
    handler = logging.StreamHandler()
    handler._ghostart = True  # type: ignore[attr-defined]
    handler.addFilter(CorrelationFilter())
    handler.setFormatter(JSONFormatter() if log_format == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    return handler
