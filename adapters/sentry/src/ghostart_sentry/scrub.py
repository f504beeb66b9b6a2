"""The scrubber: no token, API key, password or email address leaves in a Sentry event.

Two layers, applied to every string and every key of an event, transaction and breadcrumb
(messages, exception values, tags, contexts, extra, request data, stack-frame variables, span
data), recursively:

1. **Keys** in :data:`DENYLIST` (and any key *containing* one of its words, like
   ``linkedin_access_token``): the value becomes ``[Filtered]``.
2. **Values** that look like secrets, wherever they appear (an exception message quoting a
   URL, a log line): email addresses, ``user:password@`` in URLs, ``Bearer ...``, JWTs,
   ``key=value`` pairs with a secret-sounding key, and the token formats of the providers
   ghostart talks to (``sk-``, ``sk_live_``, ``rk_``, ``whsec_``, ``re_``, ``gha_live_``);
   plus literal **known secrets**: the values of secret-named environment variables
   (``GHOSTART_SECRET_KEYS``, ``OPENAI_API_KEY``, ``GHOSTART_JWT_SECRET``, ...) and any the
   application passes in.

The application installs it with :func:`sentry_options`; :class:`~ghostart_sentry.SentryMonitor`
also adds it as an event processor of the global scope, so that events are scrubbed even when
the application initialised Sentry without it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

__all__ = ["DENYLIST", "FILTERED", "Scrubber", "sentry_options"]

FILTERED = "[Filtered]"

#: Keys whose values never leave: Sentry's own list plus ghostart's secrets and PII.
DENYLIST: list[str] = [
    *DEFAULT_DENYLIST,
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "secret_keys",
    "jwt",
    "bearer",
    "dsn",
    "signature",
    "stripe_signature",
    "svix_signature",
    "webhook_secret",
    "ciphertext",
    "key_hash",
    "email",
    "email_address",
    "reply_to",
    "recipient",
    "recipients",
    "phone",
    "database_url",
    "cache_url",
    "queue_url",
    "lock_url",
    "rate_limit_url",
    "broadcast_url",
]

#: Words that make any key containing them secret (``linkedin_access_token``, ``x-api-key``).
_SECRET_WORDS = re.compile(
    r"pass(word|wd)?|secret|token|api_?key|authori[sz]ation|cookie|credential|private_?key"
    r"|signature|e_?mail|dsn|session|csrf|ciphertext"
)
#: Counts, not secrets, though their names say "token".
_ALLOWED_KEYS = frozenset({"prompt_tokens", "completion_tokens", "total_tokens", "max_tokens"})

_VALUE_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # user:password@ in any URL (keeps the user name and the host).
    (re.compile(r"(\b[a-zA-Z][\w+.\-]*://[^/\s:@]*):[^/\s@]*@"), rf"\1:{FILTERED}@"),
    (re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=\-]{6,}"), rf"\1 {FILTERED}"),
    (re.compile(r"\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"), FILTERED),
    (re.compile(r"\b(sk|pk|rk)_(live|test)_[A-Za-z0-9]{6,}"), FILTERED),
    (re.compile(r"\bsk-[A-Za-z0-9_\-]{12,}"), FILTERED),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=]{6,}"), FILTERED),
    (re.compile(r"\bre_[A-Za-z0-9_]{12,}"), FILTERED),
    (re.compile(r"\bgha_(live|test)_[A-Za-z0-9]{6,}"), FILTERED),
    (
        re.compile(
            r"(?i)\b([\w\-]*(?:password|passwd|secret|token|api_?key|apikey|authorization)[\w\-]*)"
            r"(['\"]?\s*[=:]\s*)(['\"]?)(?!\[Filtered\]|(?:bearer|basic|token)\s)[^\s'\",;&}]+"
        ),
        rf"\1\2\3{FILTERED}",
    ),
    (
        re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"),
        "[email]",
    ),
]

_SECRET_ENV = re.compile(r"(?i)(secret|token|password|passwd|api_?key|dsn|private_?key)")


def _env_secrets() -> list[str]:
    """Values of environment variables whose names say they are secret (6 characters or more)."""
    found = []
    for name, value in os.environ.items():
        if _SECRET_ENV.search(name) and len(value) >= 6:
            found.append(value)
            found.extend(part for part in re.split(r"[,\s]+", value) if len(part) >= 6)
    return found


class Scrubber:
    """Scrubs events and breadcrumbs in place; never raises (a failure drops the event)."""

    def __init__(self, secrets: Iterable[str] = (), *, from_environment: bool = True) -> None:
        known = {s for s in secrets if s and len(s) >= 6}
        if from_environment:
            known.update(_env_secrets())
        # Longest first, so that a secret containing another is replaced whole.
        self._known = sorted(known, key=len, reverse=True)

    def add_secrets(self, secrets: Iterable[str]) -> None:
        """Also replace these literal values."""
        known = set(self._known) | {s for s in secrets if s and len(s) >= 6}
        self._known = sorted(known, key=len, reverse=True)

    @staticmethod
    def secret_key(key: object) -> bool:
        """Whether values under ``key`` are secret."""
        if not isinstance(key, str):
            return False
        normal = key.lower().replace("-", "_")
        if normal in _ALLOWED_KEYS:
            return False
        return normal in _DENY or _SECRET_WORDS.search(normal) is not None

    def text(self, value: str) -> str:
        """``value`` with every secret-looking part replaced."""
        for secret in self._known:
            if secret in value:
                value = value.replace(secret, FILTERED)
        for pattern, replacement in _VALUE_PATTERNS:
            value = pattern.sub(replacement, value)
        return value

    def value(self, value: Any, depth: int = 0) -> Any:
        """Scrub any JSON-like value (dicts by key and value, lists, strings)."""
        if depth > 50:
            return FILTERED
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {
                k: (
                    FILTERED
                    if self.secret_key(k) and v not in (None, "")
                    else self.value(v, depth + 1)
                )
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.value(v, depth + 1) for v in value]
        return value

    def event(self, event: Any, hint: Any = None) -> Any:
        """``before_send`` / event processor: the scrubbed event (``None`` drops it)."""
        try:
            scrubbed = self.value(event)
            user = scrubbed.get("user")
            if isinstance(user, dict):  # an id helps; who the person is does not leave
                scrubbed["user"] = {k: v for k, v in user.items() if k == "id"}
            return scrubbed
        except Exception:  # better no event than a leak
            return None

    def breadcrumb(self, crumb: Any, hint: Any = None) -> Any:
        """``before_breadcrumb``: the scrubbed breadcrumb."""
        try:
            return self.value(crumb)
        except Exception:
            return None


_DENY = frozenset(k.lower().replace("-", "_") for k in DENYLIST)


def sentry_options(secrets: Iterable[str] = (), **options: Any) -> dict[str, Any]:
    """Keyword arguments for ``sentry_sdk.init`` that scrub every event, transaction and crumb.

    ``secrets`` are literal values to replace, besides those found in the environment;
    ``options`` are passed through (``traces_sample_rate``, ``environment``, ...) and win.
    Sentry's default-PII collection is left off (no IP addresses, cookies or user names); the
    deprecated ``send_default_pii`` is not set, so that newer SDKs do not warn.
    """
    scrubber = Scrubber(secrets)
    base: dict[str, Any] = {
        "event_scrubber": EventScrubber(denylist=DENYLIST, recursive=True),
        "before_send": scrubber.event,
        "before_send_transaction": scrubber.event,
        "before_breadcrumb": scrubber.breadcrumb,
    }
    return base | options
