"""ghostart on Sentry: tagged errors, scrubbed events, spans for jobs and provider calls.

Install ``ghostart-sentry``, initialise Sentry in the application with the scrubber, and choose
the monitor::

    sentry_sdk.init(dsn=..., **ghostart_sentry.sentry_options(traces_sample_rate=0.1))
    GHOSTART_MONITOR=sentry

The classes are importable from here; importing this package does not import the SDK until a
name is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ghostart_sentry.monitor import SentryMonitor
    from ghostart_sentry.scrub import DENYLIST, Scrubber, sentry_options
    from ghostart_sentry.testing import CapturingTransport

__all__ = ["DENYLIST", "CapturingTransport", "Scrubber", "SentryMonitor", "sentry_options"]

_WHERE = {
    "CapturingTransport": "ghostart_sentry.testing",
    "DENYLIST": "ghostart_sentry.scrub",
    "Scrubber": "ghostart_sentry.scrub",
    "SentryMonitor": "ghostart_sentry.monitor",
    "sentry_options": "ghostart_sentry.scrub",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'ghostart_sentry' has no attribute {name!r}")
