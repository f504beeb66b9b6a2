"""API keys: what an organization's key may do, and the shape of the key itself.

A key reads ``gha_live_<lookup id><secret><checksum>``, all base62 after the prefix:

- ``gha_live_``: recognisable by secret scanners, and by people;
- lookup id, 12 characters (71 bits): public, stored and shown in lists as part of
  :attr:`ApiKey.key_prefix`, used to find the row;
- secret, 32 characters (190 bits): never stored; only a keyed hash of the whole key is;
- checksum, 6 characters: CRC32 of everything before it, base62, zero-padded. A mistyped or
  truncated key fails it, so it is refused without a database query (CRC32 catches every change
  of one character and every swap of two neighbours).

The plaintext is returned once, when the key is created; :class:`ApiKey` never holds it, nor its
hash (the repository hands the hash out separately, for verification only).
"""

from __future__ import annotations

import re
import secrets
import zlib
from datetime import datetime
from uuid import UUID

from pydantic import Field, field_validator

from ghostart.models.base import DomainModel, Text, new_id, utcnow
from ghostart.models.organization import Role
from ghostart.models.principal import Permission

__all__ = [
    "API_KEY_PREFIX",
    "ApiKey",
    "api_key_lookup_prefix",
    "generate_api_key",
]

#: What every key starts with.
API_KEY_PREFIX = "gha_live_"
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
LOOKUP_CHARS = 12
SECRET_CHARS = 32
CHECKSUM_CHARS = 6
#: The whole key's length.
API_KEY_LENGTH = len(API_KEY_PREFIX) + LOOKUP_CHARS + SECRET_CHARS + CHECKSUM_CHARS
_KEY = re.compile(
    rf"{re.escape(API_KEY_PREFIX)}[0-9A-Za-z]{{{LOOKUP_CHARS + SECRET_CHARS + CHECKSUM_CHARS}}}"
)
_KEY_PREFIX = re.compile(rf"{re.escape(API_KEY_PREFIX)}[0-9A-Za-z]{{{LOOKUP_CHARS}}}")
_NAME_MAX = 120
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        digits.append(BASE62[digit])
    return "".join(reversed(digits))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode("ascii")), CHECKSUM_CHARS)


def generate_api_key() -> str:
    """A new random key (prefix, lookup id, secret, checksum); shown to its owner once."""
    random = "".join(secrets.choice(BASE62) for _ in range(LOOKUP_CHARS + SECRET_CHARS))
    body = API_KEY_PREFIX + random
    return body + _checksum(body)


def api_key_lookup_prefix(raw: object) -> str | None:
    """The public :attr:`ApiKey.key_prefix` of ``raw``; ``None`` if it is not a well-formed key.

    Checks the shape and the checksum only (no I/O): ``None`` means it can not be a key we issued.
    """
    if not isinstance(raw, str) or len(raw) != API_KEY_LENGTH or not _KEY.fullmatch(raw):
        return None
    body, checksum = raw[:-CHECKSUM_CHARS], raw[-CHECKSUM_CHARS:]
    if _checksum(body) != checksum:  # not secret: anyone can compute a CRC
        return None
    return raw[: len(API_KEY_PREFIX) + LOOKUP_CHARS]


class ApiKey(DomainModel):
    """An organization's API key, as listed: never its secret, never its hash.

    It acts for ``created_by`` (whose posts are its posts) in ``role``, the weakest role that holds
    all of ``scopes``, and may do only what ``scopes`` allow.
    """

    id: UUID = Field(default_factory=new_id)
    organization_id: UUID
    name: Text = Field(min_length=1, max_length=_NAME_MAX)
    #: ``gha_live_`` and the lookup id: public, unique, shown so that people can tell keys apart.
    key_prefix: str = Field(pattern=_KEY_PREFIX.pattern)
    scopes: frozenset[Permission] = Field(min_length=1)
    role: Role
    #: The user the key acts for; ``None`` once that user is deleted (the key then stops working).
    created_by: UUID | None
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    @field_validator("name")
    @classmethod
    def _printable(cls, value: str) -> str:
        if _CONTROL.search(value):
            raise ValueError("must not contain control characters")
        return value

    @property
    def revoked(self) -> bool:
        """Whether the key was revoked (it then never authenticates again)."""
        return self.revoked_at is not None
