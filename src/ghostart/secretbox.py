"""Authenticated encryption for values kept at rest (OAuth tokens, webhook secrets).

A token looks like ``gsb1.<key_id>.<base64url(nonce || ciphertext || tag)>``: AES-256-GCM with a
random 96-bit nonce, base64url without padding. The key id names which of the configured keys
sealed it, so keys can be rotated: new values go under the primary key, older keys only decrypt.

The associated data binds the format version, the key id and the caller's ``aad``. Callers pass
the row the value lives in (``f"secrets.ciphertext:{row_id}"``), so a ciphertext copied into
another row, or relabelled with another key id, fails to decrypt instead of yielding a valid
secret in the wrong place.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import re
from collections.abc import Mapping
from typing import Any, NoReturn

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ghostart.errors import ConfigurationError, GhostartError

__all__ = ["SETTING_NAME", "TOKEN_VERSION", "SecretBox", "SecretBoxError"]

#: The setting :meth:`SecretBox.from_setting` reads its value from.
SETTING_NAME = "GHOSTART_SECRET_KEYS"
#: The token format prefix; part of the associated data.
TOKEN_VERSION = "gsb1"

_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_B64URL = re.compile(r"[A-Za-z0-9_-]+")
_KEY_BYTES = 32
_NONCE_BYTES = 12
_TAG_BYTES = 16


class SecretBoxError(GhostartError):
    """A token could not be decrypted: tampered, wrong associated data, unknown key, malformed."""

    code = "secret_box_error"


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes | None:
    """Strict unpadded-or-padded base64url; ``None`` for anything else, never an exception."""
    body = text.rstrip("=")
    if not _B64URL.fullmatch(body) or len(text) - len(body) > 2:
        return None
    try:
        data = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        return None
    # Reject non-canonical encodings (stray low bits in the last character).
    if _b64encode(data) != body:
        return None
    return data


def _config_error(message: str) -> NoReturn:
    raise ConfigurationError(f"{SETTING_NAME}: {message}", setting=SETTING_NAME)


class SecretBox:
    """Encrypts and decrypts short strings under a set of versioned AES-256-GCM keys.

    Args:
        keys: Key id to 32-byte key. Key ids match ``^[A-Za-z0-9_-]{1,32}$``.
        primary: The key id new values are encrypted under; the other keys only decrypt.

    Raises:
        ConfigurationError: A key id or key is invalid, or ``primary`` is not among ``keys``.
    """

    __slots__ = ("__ciphers", "__key_ids", "__primary")

    def __init__(self, keys: Mapping[str, bytes], primary: str) -> None:
        if not keys:
            _config_error("at least one key is required")
        ciphers: dict[str, AESGCM] = {}
        for key_id, key in keys.items():
            if not isinstance(key_id, str) or not _KEY_ID.fullmatch(key_id):
                _config_error("key ids must match ^[A-Za-z0-9_-]{1,32}$")
            if not isinstance(key, bytes | bytearray) or len(key) != _KEY_BYTES:
                _config_error(f"key {key_id!r} must be exactly {_KEY_BYTES} bytes")
            ciphers[key_id] = AESGCM(bytes(key))
        if primary not in ciphers:
            _config_error(f"primary key id {primary!r} is not among the keys")
        self.__ciphers = ciphers
        self.__primary = primary
        self.__key_ids = (primary, *(k for k in ciphers if k != primary))

    @classmethod
    def from_setting(cls, value: str) -> SecretBox:
        """Build a box from ``"kid2:BASE64URLKEY,kid1:BASE64URLKEY"``; the first key is primary.

        Raises:
            ConfigurationError: The value is malformed. The message names the entry by position
                and never repeats key material.
        """
        keys: dict[str, bytes] = {}
        entries = value.split(",") if value.strip() else []
        if not entries:
            _config_error("is empty; expected 'key_id:base64url_key[,key_id:base64url_key...]'")
        for position, entry in enumerate(entries, start=1):
            key_id, sep, encoded = entry.strip().partition(":")
            key_id, encoded = key_id.strip(), encoded.strip()
            if not sep or not key_id or not encoded:
                _config_error(f"entry {position} is not of the form 'key_id:base64url_key'")
            if not _KEY_ID.fullmatch(key_id):
                # Not echoed: a mangled entry may put key material where the id belongs.
                _config_error(f"entry {position} has an invalid key id (^[A-Za-z0-9_-]{{1,32}}$)")
            if key_id in keys:
                _config_error(f"key id {key_id!r} appears more than once")
            key = _b64decode(encoded)
            if key is None or len(key) != _KEY_BYTES:
                _config_error(
                    f"key {key_id!r} (entry {position}) must be {_KEY_BYTES} bytes, base64url"
                )
            keys[key_id] = key
        return cls(keys, primary=next(iter(keys)))

    @staticmethod
    def generate_key() -> str:
        """Return a fresh random 256-bit key, base64url without padding."""
        return _b64encode(os.urandom(_KEY_BYTES))

    @property
    def primary(self) -> str:
        """The key id new values are encrypted under."""
        return self.__primary

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Every key id this box can decrypt, primary first."""
        return self.__key_ids

    def encrypt(self, plaintext: str, *, aad: str) -> str:
        """Encrypt ``plaintext`` under the primary key, bound to ``aad``.

        Raises:
            SecretBoxError: ``plaintext`` cannot be encoded as UTF-8 (e.g. a lone surrogate).
        """
        data: bytes | None = None
        with contextlib.suppress(UnicodeEncodeError):
            data = plaintext.encode("utf-8")
        if data is None:
            # Raised after the suppressed error is gone, which would carry the plaintext as context.
            raise SecretBoxError("plaintext is not valid UTF-8")
        key_id = self.__primary
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self.__ciphers[key_id].encrypt(nonce, data, self._associated(key_id, aad))
        return f"{TOKEN_VERSION}.{key_id}.{_b64encode(nonce + sealed)}"

    def decrypt(self, token: str, *, aad: str) -> str:
        """Decrypt ``token``, which must have been encrypted with the same ``aad``.

        Raises:
            SecretBoxError: The token is malformed, its key id is unknown, or it fails to
                authenticate (tampered, or sealed for other associated data).
        """
        key_id, raw = self._parse(token)
        cipher = self.__ciphers.get(key_id)
        if cipher is None:
            raise SecretBoxError(f"unknown key id {key_id!r}", key_id=key_id)
        plain: str | None = None
        with contextlib.suppress(InvalidTag, UnicodeDecodeError):
            plain = cipher.decrypt(
                raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], self._associated(key_id, aad)
            ).decode("utf-8")
        if plain is None:
            # Raised after the suppressed error is gone: a UnicodeDecodeError would carry the
            # decrypted bytes as its context.
            raise SecretBoxError(
                "secret failed to authenticate: tampered, or encrypted for other associated data",
                key_id=key_id,
            )
        return plain

    def key_id_of(self, token: str) -> str:
        """Return the id of the key ``token`` was encrypted under (without decrypting it).

        Raises:
            SecretBoxError: The token is malformed.
        """
        return self._parse(token)[0]

    def needs_rotation(self, token: str) -> bool:
        """Whether ``token`` is not encrypted under the primary key.

        Raises:
            SecretBoxError: The token is malformed.
        """
        return self.key_id_of(token) != self.__primary

    def rotate(self, token: str, *, aad: str) -> str:
        """Decrypt ``token`` and re-encrypt it under the primary key.

        A token already under the primary key is authenticated and returned unchanged.

        Raises:
            SecretBoxError: As :meth:`decrypt`.
        """
        plaintext = self.decrypt(token, aad=aad)
        if not self.needs_rotation(token):
            return token
        return self.encrypt(plaintext, aad=aad)

    def __repr__(self) -> str:
        return f"SecretBox(primary={self.__primary!r}, keys={list(self.__key_ids)!r})"

    def __reduce__(self) -> NoReturn:
        raise TypeError("SecretBox holds key material and cannot be pickled")

    def __copy__(self) -> SecretBox:
        return self  # immutable

    def __deepcopy__(self, memo: Any) -> SecretBox:
        return self  # immutable; deepcopy would otherwise hit __reduce__

    @staticmethod
    def _associated(key_id: str, aad: str) -> bytes:
        # Key ids cannot contain ".", so the prefix is unambiguous; "surrogatepass" keeps the
        # encoding injective without ever raising.
        return f"{TOKEN_VERSION}.{key_id}.{aad}".encode("utf-8", "surrogatepass")

    @staticmethod
    def _parse(token: str) -> tuple[str, bytes]:
        if not isinstance(token, str):
            raise SecretBoxError("malformed secret token: not a string")
        parts = token.split(".")
        if len(parts) != 3:
            raise SecretBoxError("malformed secret token: expected 'gsb1.<key_id>.<data>'")
        version, key_id, body = parts
        if version != TOKEN_VERSION:
            raise SecretBoxError("unsupported secret token format (expected 'gsb1')")
        if not _KEY_ID.fullmatch(key_id):
            raise SecretBoxError("malformed secret token: invalid key id")
        raw = _b64decode(body)
        if raw is None:
            raise SecretBoxError("malformed secret token: data is not base64url")
        if len(raw) < _NONCE_BYTES + _TAG_BYTES:
            raise SecretBoxError("malformed secret token: data too short")
        return key_id, raw
