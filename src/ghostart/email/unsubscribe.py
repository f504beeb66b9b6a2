"""One-click unsubscribe (RFC 8058): signed tokens and the two headers that carry them.

Every optional email (notifications, the digest) carries::

    List-Unsubscribe: <https://app.example.com/v1/email/unsubscribe?token=u1.k1....>
    List-Unsubscribe-Post: List-Unsubscribe=One-Click

A mail client that shows an "Unsubscribe" button POSTs ``List-Unsubscribe=One-Click`` to that URL;
the token alone says who leaves which category, so the route needs no sign-in. The token is
``u1.<key id>.<user id>.<category>.<issued at>.<signature>``: an HMAC-SHA256 under a versioned key
(``GHOSTART_EMAIL_SIGNING_KEYS``, the first key signs, every key verifies, so keys rotate without
breaking links already in inboxes). Nothing in it is secret; everything in it is authenticated.

A token is refused as :class:`UnsubscribeTokenInvalid` when malformed, signed under an unknown key,
or altered in any byte, and as :class:`UnsubscribeTokenExpired` when older than ``max_age``.
Transactional mail has no token: it is not a preference.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit
from uuid import UUID

from ghostart.errors import ConfigurationError, InvalidInput
from ghostart.models import EmailCategory, utcnow

__all__ = [
    "ONE_CLICK",
    "Unsubscribe",
    "UnsubscribeSigner",
    "UnsubscribeTokenExpired",
    "UnsubscribeTokenInvalid",
    "unsubscribe_headers",
    "unsubscribe_url",
]

#: The body a one-click client POSTs, and the value of ``List-Unsubscribe-Post``.
ONE_CLICK = "List-Unsubscribe=One-Click"
_VERSION = "u1"
_SETTING = "GHOSTART_EMAIL_SIGNING_KEYS"
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_MIN_KEY_BYTES = 32
#: A token "issued" this far in the future is refused: clocks drift, but not by more.
_CLOCK_SKEW = timedelta(minutes=5)
# Domain separation: these keys sign nothing else, but a signature here must never verify there.
_CONTEXT = b"ghostart.email.unsubscribe\n"


class UnsubscribeTokenInvalid(InvalidInput):
    """The token is malformed, signed under an unknown key, or was altered."""

    code = "invalid_unsubscribe_token"


class UnsubscribeTokenExpired(UnsubscribeTokenInvalid):
    """The token was genuine but is older than the signer's ``max_age``."""

    code = "unsubscribe_token_expired"


@dataclass(frozen=True)
class Unsubscribe:
    """What a verified token says: ``user_id`` leaves ``category``."""

    user_id: UUID
    category: EmailCategory
    issued_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes | None:
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return data if _b64(data) == text else None


class UnsubscribeSigner:
    """Signs and verifies unsubscribe tokens under versioned HMAC keys.

    Args:
        keys: Key id to key (at least 32 bytes). Key ids match ``^[A-Za-z0-9_-]{1,32}$``.
        primary: The key id that signs; the others only verify.
        max_age: How long a token stays valid. Links sit in inboxes for months, and RFC 8058 asks
            that they keep working, so the default is a year.
        clock: The current time (tests pass a fixed one).
    """

    __slots__ = ("__keys", "__primary", "_clock", "max_age")

    def __init__(
        self,
        keys: Mapping[str, bytes],
        primary: str,
        *,
        max_age: timedelta = timedelta(days=365),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if not keys:
            raise ConfigurationError(f"{_SETTING}: at least one key is required", setting=_SETTING)
        for key_id, key in keys.items():
            if not _KEY_ID.fullmatch(key_id):
                raise ConfigurationError(
                    f"{_SETTING}: key ids must match ^[A-Za-z0-9_-]{{1,32}}$", setting=_SETTING
                )
            if len(key) < _MIN_KEY_BYTES:
                raise ConfigurationError(
                    f"{_SETTING}: key {key_id!r} must be at least {_MIN_KEY_BYTES} bytes",
                    setting=_SETTING,
                )
        if primary not in keys:
            raise ConfigurationError(
                f"{_SETTING}: primary key id {primary!r} is not among the keys", setting=_SETTING
            )
        if max_age <= timedelta(0):
            raise ConfigurationError("unsubscribe tokens need a positive max_age")
        self.__keys = {k: bytes(v) for k, v in keys.items()}
        self.__primary = primary
        self.max_age = max_age
        self._clock = clock

    @classmethod
    def from_setting(
        cls,
        value: str,
        *,
        max_age: timedelta = timedelta(days=365),
        clock: Callable[[], datetime] = utcnow,
    ) -> UnsubscribeSigner:
        """Build a signer from ``"k2:BASE64URL,k1:BASE64URL"``; the first key signs.

        ``ghostart secrets new-key`` prints entries of this form. Errors name the entry by position
        and never repeat key material.
        """
        keys: dict[str, bytes] = {}
        for position, entry in enumerate(value.split(","), start=1):
            key_id, sep, encoded = entry.strip().partition(":")
            if not sep or not _KEY_ID.fullmatch(key_id.strip()):
                raise ConfigurationError(
                    f"{_SETTING}: entry {position} is not of the form 'key_id:base64url_key'",
                    setting=_SETTING,
                )
            key = _unb64(encoded.strip().rstrip("="))
            if key is None:
                raise ConfigurationError(
                    f"{_SETTING}: key {key_id.strip()!r} (entry {position}) is not base64url",
                    setting=_SETTING,
                )
            keys[key_id.strip()] = key
        return cls(keys, primary=next(iter(keys)), max_age=max_age, clock=clock)

    def sign(
        self,
        user_id: UUID,
        category: EmailCategory | str,
        *,
        issued_at: datetime | None = None,
    ) -> str:
        """A token with which ``user_id`` leaves ``category`` (never transactional).

        ``issued_at`` (default: now) fixes the token: the outbox passes the row's creation time,
        so every retry of one email renders the same bytes under the same idempotency key.
        """
        category = EmailCategory(category)
        if category is EmailCategory.TRANSACTIONAL:
            raise InvalidInput("transactional email can not be unsubscribed from", field="category")
        issued = int((issued_at or self._clock()).timestamp())
        body = f"{_VERSION}.{self.__primary}.{user_id.hex}.{category.value}.{issued}"
        return f"{body}.{self._mac(self.__primary, body)}"

    def verify(self, token: str) -> Unsubscribe:
        """What ``token`` says, once its signature and age are checked.

        Raises:
            UnsubscribeTokenInvalid: Malformed, an unknown key, or altered.
            UnsubscribeTokenExpired: Genuine, but older than ``max_age``.
        """
        parts = token.split(".") if isinstance(token, str) and len(token) <= 512 else []
        if len(parts) != 6 or parts[0] != _VERSION:
            raise UnsubscribeTokenInvalid("malformed unsubscribe token", field="token")
        _, key_id, user_hex, category_name, issued_text, signature = parts
        if key_id not in self.__keys:
            raise UnsubscribeTokenInvalid("unsubscribe token signed under an unknown key")
        expected = self._mac(key_id, token.rpartition(".")[0])
        if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
            raise UnsubscribeTokenInvalid("unsubscribe token signature does not match")
        # Only signed text from here on: a failure below is a bug in sign(), not a forgery.
        try:
            user_id = UUID(hex=user_hex)
            category = EmailCategory(category_name)
            issued_at = datetime.fromtimestamp(int(issued_text), UTC)
        except ValueError:
            raise UnsubscribeTokenInvalid("malformed unsubscribe token", field="token") from None
        now = self._clock()
        if issued_at > now + _CLOCK_SKEW:
            raise UnsubscribeTokenInvalid("unsubscribe token issued in the future")
        if now - issued_at > self.max_age:
            raise UnsubscribeTokenExpired(
                "this unsubscribe link has expired; change your email preferences in the app"
            )
        return Unsubscribe(user_id=user_id, category=category, issued_at=issued_at)

    def _mac(self, key_id: str, body: str) -> str:
        digest = hmac.new(self.__keys[key_id], _CONTEXT + body.encode(), hashlib.sha256)
        return _b64(digest.digest())

    def __repr__(self) -> str:
        return f"UnsubscribeSigner(primary={self.__primary!r}, keys={sorted(self.__keys)!r})"


def unsubscribe_url(base_url: str, token: str, path: str = "/v1/email/unsubscribe") -> str:
    """The one-click URL for ``token`` under the service's public ``base_url``."""
    return f"{base_url.rstrip('/')}{path}?token={quote(token, safe='')}"


def unsubscribe_headers(url: str) -> dict[str, str]:
    """The RFC 8058 headers for a one-click ``url``.

    RFC 8058 requires an HTTPS URI; plain HTTP is accepted only for ``localhost`` (development).
    """
    parts = urlsplit(url)
    local = parts.hostname in {"localhost", "127.0.0.1", "::1"}
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        raise InvalidInput("a one-click unsubscribe URL must be https (RFC 8058)", field="url")
    if any(c in url for c in "\r\n<>"):
        raise InvalidInput("unsubscribe URL contains characters not allowed in a header")
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": ONE_CLICK}
