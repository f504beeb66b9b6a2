"""Verify Supabase-Auth-compatible JWT bearer tokens (with PyJWT).

A token is trusted through one of two sources, chosen in :class:`JWTSettings`:

- a shared HS256 secret (Supabase's legacy JWT secret, or the local development secret);
- asymmetric public keys (ES256, RS256...) published at a JWKS URL, Supabase's
  ``/auth/v1/.well-known/jwks.json``, fetched with httpx and cached.

Nothing the caller controls is trusted: the algorithm is pinned by the settings (never taken from
the token), ``exp``, ``sub`` and ``aud`` (and ``iss`` when configured) are required, and only a
``role = "authenticated"`` token is a user (``anon`` and ``service_role`` tokens are not).
``user_metadata`` is editable by the user, so no claim under it grants anything.

Every rejection is one :class:`~ghostart.errors.Unauthenticated` with a generic message (only an
expired token is told so); a JWKS that can not be fetched is a
:class:`~ghostart.errors.TransientError`: our outage, not the caller's fault.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import httpx
import jwt
from jwt.types import Options
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from ghostart.errors import ConfigurationError, TransientError, Unauthenticated

__all__ = ["JWTSettings", "JWTVerifier", "TokenClaims", "mint_dev_token"]

log = logging.getLogger("ghostart.web")

#: Every algorithm PyJWT can verify, except ``none``.
_KNOWN_ALGORITHMS = frozenset(jwt.algorithms.get_default_algorithms()) - {"none"}
#: RFC 7518 asks for HMAC keys at least as long as the hash (32 bytes for HS256).
_MIN_SECRET_LENGTH = 32
#: Supabase tokens are about 1 KB; a far larger "token" is not one, so it is not parsed.
_MAX_TOKEN_LENGTH = 16_384
#: An unknown ``kid`` refetches the JWKS at most this often, so spraying kids can not hammer it.
_REFETCH_INTERVAL = 30.0
#: Verified tokens remembered, and for how long at most: a client sends the same token with
#: every request until it expires, and checking its signature again each time cost a third of
#: a cache-hit request. Expiry is still checked on every use.
_VERIFIED_SIZE = 4_096
_VERIFIED_SECONDS = 60.0
_HTTP_TIMEOUT = 5.0
#: Beyond year 9999 a timestamp can not become a ``datetime``.
_MAX_TIMESTAMP = 253_402_300_799
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

_INVALID = "invalid or expired token"
_EXPIRED = "token expired"

_Key = str | jwt.PyJWK
_KeyRing = dict[tuple[str, str], jwt.PyJWK]


class JWTSettings(BaseModel):
    """Where trusted tokens come from and what they must say.

    Set exactly one of ``secret`` (HS* algorithms) or ``jwks_url`` (RS*, PS*, ES*, EdDSA), so a
    public key can never be used as an HMAC secret.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: The HS256 shared secret (Supabase's legacy JWT secret).
    secret: SecretStr | None = None
    #: E.g. ``https://<ref>.supabase.co/auth/v1/.well-known/jwks.json``.
    jwks_url: str | None = None
    #: The pinned algorithms; a token whose header names another is refused.
    algorithms: tuple[str, ...] = ("HS256",)
    audience: str = "authenticated"
    #: Checked when set (Supabase: ``https://<ref>.supabase.co/auth/v1``).
    issuer: str | None = None
    #: Clock skew tolerated on ``exp``, ``nbf`` and ``iat``.
    leeway_seconds: float = 30.0
    jwks_cache_seconds: float = 600.0

    @field_validator("secret", mode="before")
    @classmethod
    def _secret_is_text(cls, value: object) -> object:
        # Raised here, before pydantic's own type error, which would echo the value.
        if value is not None and not isinstance(value, str | SecretStr):
            raise ConfigurationError("JWT secret (GHOSTART_JWT_SECRET) must be a string")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> JWTSettings:
        _check_source(self.secret, self.jwks_url)
        _check_algorithms(self.algorithms, symmetric=self.secret is not None)
        if not self.audience.strip():
            raise ConfigurationError("JWT audience (GHOSTART_JWT_AUDIENCE) must not be empty")
        if self.issuer is not None and not self.issuer.strip():
            raise ConfigurationError("JWT issuer (GHOSTART_JWT_ISSUER) must not be blank")
        if not 0 <= self.leeway_seconds <= 300:
            raise ConfigurationError(
                "JWT leeway_seconds (GHOSTART_JWT_LEEWAY_SECONDS) must be between 0 and 300"
            )
        if not 0 < self.jwks_cache_seconds < math.inf:
            raise ConfigurationError("JWT jwks_cache_seconds must be a positive number")
        return self


def _check_source(secret: SecretStr | None, jwks_url: str | None) -> None:
    if (secret is None) == (jwks_url is None):
        raise ConfigurationError(
            "set exactly one of the JWT secret (GHOSTART_JWT_SECRET, HS256) "
            "or the JWKS URL (GHOSTART_JWT_JWKS_URL, asymmetric keys)"
        )
    if secret is not None:
        _check_secret(secret.get_secret_value())
    if jwks_url is not None:
        _check_jwks_url(jwks_url)


def _check_secret(value: str) -> None:
    if len(value) < _MIN_SECRET_LENGTH:
        raise ConfigurationError(
            f"JWT secret (GHOSTART_JWT_SECRET) must be at least {_MIN_SECRET_LENGTH} characters"
        )
    if value != value.strip():
        # Usually a newline pasted into the environment: every token would then fail.
        raise ConfigurationError(
            "JWT secret (GHOSTART_JWT_SECRET) has leading or trailing whitespace"
        )
    if "-----BEGIN" in value:
        raise ConfigurationError(
            "JWT secret (GHOSTART_JWT_SECRET) looks like a PEM key: publish public keys "
            "at a JWKS URL (GHOSTART_JWT_JWKS_URL) instead"
        )


def _check_jwks_url(url: str) -> None:
    parts = urlsplit(url)
    local_http = parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS
    if not parts.hostname or not (parts.scheme == "https" or local_http):
        raise ConfigurationError(
            "JWKS URL (GHOSTART_JWT_JWKS_URL) must be an https:// URL (http:// only for localhost)"
        )


def _check_algorithms(algorithms: tuple[str, ...], *, symmetric: bool) -> None:
    name = "JWT algorithms (GHOSTART_JWT_ALGORITHMS)"
    if not algorithms:
        raise ConfigurationError(f"{name} must name at least one algorithm")
    for alg in algorithms:
        if alg.lower() == "none":
            raise ConfigurationError(f"{name}: 'none' would accept unsigned tokens")
        if alg not in _KNOWN_ALGORITHMS:
            raise ConfigurationError(f"{name}: unknown algorithm {alg!r}")
        if alg.startswith("HS") and not symmetric:
            raise ConfigurationError(f"{name}: {alg} needs a secret, not a JWKS URL")
        if symmetric and not alg.startswith("HS"):
            raise ConfigurationError(f"{name}: {alg} needs a JWKS URL, not a secret")


class TokenClaims(BaseModel):
    """What a verified user token says; authorise on these fields, never on ``raw``."""

    model_config = ConfigDict(frozen=True)

    user_id: UUID
    email: str | None
    role: str
    session_id: str | None = None
    expires_at: datetime
    #: Every claim, for apps that need more (``user_metadata`` included: never authorise on it).
    raw: dict[str, Any] = Field(repr=False)


class JWTVerifier:
    """Verifies bearer tokens against one :class:`JWTSettings`; one per service.

    Args:
        settings: The trusted source and the required claims.
        http: Client for the JWKS; by default one is made (5 s timeout) and closed by
            :meth:`aclose`. An injected client is left to its owner.
        clock: Seconds since the epoch; checks ``exp``/``nbf``/``iat`` and ages the JWKS cache.
    """

    def __init__(
        self,
        settings: JWTSettings,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._http = http
        self._owns_http = http is None
        self._clock = clock
        self._lock = asyncio.Lock()
        self._keys: _KeyRing | None = None
        self._fetched_at = -math.inf
        self._attempted_at = -math.inf
        self._attempts = 0
        self._last_failure = "the JWKS could not be fetched"
        # token -> (claims, exp, remembered until); only tokens that passed every check.
        self._verified: dict[str, tuple[TokenClaims, float, float]] = {}

    def __repr__(self) -> str:
        source = "jwks" if self.settings.jwks_url else "secret"
        return f"JWTVerifier(source={source!r}, algorithms={self.settings.algorithms!r})"

    async def verify(self, token: str) -> TokenClaims:
        """The claims of ``token`` if it is a valid user token.

        Raises:
            Unauthenticated: The token is malformed, forged, expired or not a user's.
            TransientError: The JWKS could not be fetched (and no keys were cached).
        """
        now = self._clock()
        remembered = self._verified.get(token) if isinstance(token, str) else None
        if remembered is not None:
            claims, exp, until = remembered
            if exp <= now - self.settings.leeway_seconds:
                del self._verified[token]
                raise Unauthenticated(_EXPIRED)
            if now < until:
                return claims
            del self._verified[token]
        header = _unverified_header(token, self.settings.algorithms)
        key = await self._key(header)
        payload = self._decode(token, key)
        now = self._clock()
        claims = _claims(payload, now=now, leeway=self.settings.leeway_seconds)
        self._remember(token, claims, payload["exp"], now)
        return claims

    def _remember(self, token: str, claims: TokenClaims, exp: float, now: float) -> None:
        # Never past the JWKS cache the key came from: a key withdrawn from the JWKS stops
        # verifying when the cache would have been refreshed anyway.
        until = now + _VERIFIED_SECONDS
        if self.settings.secret is None:
            until = min(until, self._fetched_at + self.settings.jwks_cache_seconds)
        if len(self._verified) >= _VERIFIED_SIZE:
            del self._verified[next(iter(self._verified))]  # the oldest
        self._verified[token] = (claims, float(exp), until)

    async def aclose(self) -> None:
        """Close the JWKS client if this verifier made it."""
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    async def _key(self, header: dict[str, Any]) -> _Key:
        if self.settings.secret is not None:
            return self.settings.secret.get_secret_value()
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _rejected("no kid in the header of a JWKS token")
        return await self._jwks_key(kid, header["alg"])

    def _decode(self, token: str, key: _Key) -> dict[str, Any]:
        settings = self.settings
        # Times are checked in _claims against the injected clock, not PyJWT's.
        options: Options = {
            "require": ["exp", "sub", "aud"] + (["iss"] if settings.issuer else []),
            "verify_exp": False,
            "verify_nbf": False,
            "verify_iat": False,
        }
        try:
            return jwt.decode(
                token,
                key,
                algorithms=list(settings.algorithms),
                audience=settings.audience,
                issuer=settings.issuer,
                options=options,
            )
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise _rejected(type(exc).__name__) from None

    async def _jwks_key(self, kid: str, alg: str) -> jwt.PyJWK:
        keys = self._keys
        if keys is None or self._cache_expired():
            keys = await self._refresh()
        key = keys.get((kid, alg))
        if key is None and self._clock() - self._attempted_at >= _REFETCH_INTERVAL:
            keys = await self._refresh()  # perhaps a rotation published a new key
            key = keys.get((kid, alg))
        if key is None:
            raise _rejected("no JWKS key for the token's kid and alg")
        return key

    def _cache_expired(self) -> bool:
        now = self._clock()
        # After a failed refresh the old keys serve on, retried no more often than the interval.
        retry_after = min(_REFETCH_INTERVAL, self.settings.jwks_cache_seconds)
        return (
            now - self._fetched_at >= self.settings.jwks_cache_seconds
            and now - self._attempted_at >= retry_after
        )

    async def _refresh(self) -> _KeyRing:
        """Fetch the JWKS once for all concurrent callers; on failure keep any keys we had."""
        seen = self._attempts
        async with self._lock:
            if self._attempts != seen:  # fetched while this call waited: share the outcome
                if self._keys is None:
                    raise TransientError(self._last_failure, provider="jwks")
                return self._keys
            self._attempted_at = self._clock()
            try:
                keys = await self._fetch()
            except TransientError as exc:
                self._last_failure = exc.message
                if self._keys is None:
                    raise
                log.warning("JWKS refresh failed (%s); keeping the cached keys", exc.message)
                return self._keys
            finally:
                # Counted when done: callers that arrived during this fetch then share it.
                self._attempts += 1
            self._keys, self._fetched_at = keys, self._attempted_at
            return keys

    async def _fetch(self) -> _KeyRing:
        url = self.settings.jwks_url
        assert url is not None
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=_HTTP_TIMEOUT)
        try:
            response = await self._http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise TransientError(
                f"could not fetch the JWKS ({type(exc).__name__})", provider="jwks"
            ) from exc
        if response.status_code != 200:
            raise TransientError(
                f"the JWKS URL answered HTTP {response.status_code}",
                provider="jwks",
                status=response.status_code,
            )
        try:
            document = response.json()
        except ValueError:
            raise TransientError("the JWKS is not JSON", provider="jwks", status=200) from None
        keys = _key_ring(document, self.settings.algorithms)
        if not keys:
            raise TransientError(
                f"the JWKS has no usable key for {', '.join(self.settings.algorithms)}",
                provider="jwks",
                status=200,
            )
        log.debug("fetched %d JWKS keys", len(keys))
        return keys


def _key_ring(document: object, algorithms: tuple[str, ...]) -> _KeyRing:
    """Public signing keys by ``(kid, alg)``, one per pinned algorithm the key can serve."""
    entries = document.get("keys") if isinstance(document, dict) else None
    ring: _KeyRing = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        kid = entry.get("kid")
        if not isinstance(kid, str) or not kid or entry.get("use", "sig") != "sig":
            continue
        if "d" in entry or entry.get("kty") == "oct":
            log.warning("the JWKS publishes secret key material (kid %r): key ignored", kid)
            continue
        for alg in algorithms:
            if entry.get("alg", alg) != alg:
                continue
            try:
                ring[(kid, alg)] = jwt.PyJWK(entry, algorithm=alg)
            except (jwt.PyJWTError, ValueError, TypeError, AttributeError):
                continue  # a key of another type (an RSA key tried for ES256...) or malformed
    return ring


def _unverified_header(token: object, algorithms: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(token, str) or len(token) > _MAX_TOKEN_LENGTH or token.count(".") != 2:
        raise _rejected("not a compact JWS")
    try:
        header = jwt.get_unverified_header(token)
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise _rejected(type(exc).__name__) from None
    if header.get("alg") not in algorithms:
        raise _rejected("algorithm not pinned")
    return header


def _claims(payload: dict[str, Any], *, now: float, leeway: float) -> TokenClaims:
    exp = _timestamp(payload, "exp")
    if exp is None:
        raise _rejected("no exp")
    if exp <= now - leeway:
        raise Unauthenticated(_EXPIRED)
    for name in ("nbf", "iat"):
        moment = _timestamp(payload, name)
        if moment is not None and moment > now + leeway:
            raise _rejected(f"{name} in the future")
    if payload.get("role") != "authenticated":
        raise _rejected("not a user token")
    email, session_id = payload.get("email"), payload.get("session_id")
    if not isinstance(email, str | None) or not isinstance(session_id, str | None):
        raise _rejected("email or session_id is not a string")
    return TokenClaims(
        user_id=_user_id(payload.get("sub")),
        email=email or None,
        role="authenticated",
        session_id=session_id or None,
        expires_at=datetime.fromtimestamp(exp, UTC),
        raw=payload,
    )


def _timestamp(payload: dict[str, Any], name: str) -> float | None:
    value = payload.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _rejected(f"{name} is not a number")
    if not 0 <= value <= _MAX_TIMESTAMP:
        raise _rejected(f"{name} out of range")
    return float(value)


def _user_id(sub: object) -> UUID:
    try:
        user_id = UUID(sub) if isinstance(sub, str) else None
    except ValueError:
        user_id = None
    # Only the canonical form: "{...}", "urn:uuid:" or unhyphenated spellings are not Supabase's.
    if user_id is None or str(user_id) != str(sub).lower():
        raise _rejected("sub is not a UUID")
    return user_id


def _rejected(reason: str) -> Unauthenticated:
    # The reason goes to the debug log only: the caller learns nothing about which check failed.
    log.debug("JWT rejected: %s", reason)
    return Unauthenticated(_INVALID)


def mint_dev_token(
    secret: str,
    user_id: UUID,
    *,
    email: str | None = None,
    audience: str = "authenticated",
    issuer: str | None = None,
    ttl_seconds: int = 3600,
    now: float | None = None,
) -> str:
    """An HS256 token shaped like a Supabase user token; for local development and tests only.

    Carries ``sub``, ``email`` (if given), ``role = "authenticated"``, ``aud``, ``iss`` (if
    given), ``iat`` and ``exp``.
    """
    if not secret:
        raise ConfigurationError("mint_dev_token needs the HS256 secret (GHOSTART_JWT_SECRET)")
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")
    issued_at = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "aud": audience,
        "role": "authenticated",
        "iat": issued_at,
        "exp": issued_at + ttl_seconds,
    }
    if email is not None:
        claims["email"] = email
    if issuer is not None:
        claims["iss"] = issuer
    return jwt.encode(claims, secret, algorithm="HS256")
