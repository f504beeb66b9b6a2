"""ghostart on Resend: notification, review and digest email with idempotent sends.

Install ``ghostart-resend``, set a key and a sender, and choose the mailer::

    GHOSTART_RESEND_API_KEY=re_...                     # or RESEND_API_KEY
    GHOSTART_RESEND_FROM="Acme <notifications@mail.acme.com>"
    GHOSTART_MAILER=resend                             # or resend?timeout=20

The classes are importable from here; importing this package does not import the SDK until a
class is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ghostart_resend.mailer import ResendMailer
    from ghostart_resend.settings import ResendSettings
    from ghostart_resend.webhooks import ResendWebhooks, SvixVerifier

__all__ = ["ResendMailer", "ResendSettings", "ResendWebhooks", "SvixVerifier"]

_WHERE = {
    "ResendMailer": "ghostart_resend.mailer",
    "ResendSettings": "ghostart_resend.settings",
    "ResendWebhooks": "ghostart_resend.webhooks",
    "SvixVerifier": "ghostart_resend.webhooks",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'ghostart_resend' has no attribute {name!r}")
