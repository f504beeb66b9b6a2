"""Who is calling: a signed-in user (a Supabase-compatible JWT) or an organization's API key.

- ``Authorization: Bearer <jwt>``: a user. :func:`current_user` signs them in (their row is
  created on first sight) and :func:`org_principal` makes them a principal of the organization
  in the path, if they are a member: otherwise 404, as for an organization that does not exist.
- ``Authorization: Bearer gha_...`` or ``X-API-Key: gha_...``: an API key, which acts in its own
  organization only, limited to its scopes. Keys with a bad checksum are refused without a
  database query; once an address has failed too often, its further failures get 429 (with
  ``Retry-After``) for a while, while valid keys from it still work.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Path, Request

from ghostart.app import Ghostart
from ghostart.errors import NotFound, TooManyRequests, Unauthenticated
from ghostart.models import Principal, User
from ghostart.web.jwt import JWTSettings, JWTVerifier, TokenClaims
from ghostart.web.settings import WebSettings, local_jwt_secret

__all__ = [
    "Authenticator",
    "CurrentUser",
    "OrgPrincipal",
    "current_user",
    "org_principal",
]


@dataclass(frozen=True, slots=True)
class Caller:
    """A verified caller: a user's token claims, or an API key's principal."""

    claims: TokenClaims | None = None
    key_principal: Principal | None = None


class Authenticator:
    """Verifies credentials for one service; kept on ``app.state.authenticator``."""

    def __init__(self, app: Ghostart, settings: WebSettings) -> None:
        self.app = app
        self.settings = settings
        secret = (
            local_jwt_secret(app.settings.home)
            if settings.uses_local_secret
            else (settings.jwt_secret.get_secret_value() if settings.jwt_secret else None)
        )
        self.verifier = JWTVerifier(
            JWTSettings(
                secret=secret,
                jwks_url=settings.jwt_jwks_url,
                algorithms=settings.algorithms,
                audience=settings.jwt_audience,
                issuer=settings.jwt_issuer,
                leeway_seconds=settings.jwt_leeway_seconds,
            )
        )
        self._blocked_until: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"Authenticator(local_secret={self.settings.uses_local_secret})"

    async def aclose(self) -> None:
        """Close the JWKS client."""
        await self.verifier.aclose()

    async def caller(self, request: Request) -> Caller:
        """The verified caller of ``request``; :class:`Unauthenticated` if there is none."""
        token = _credentials(request)
        if token is None:
            raise Unauthenticated("sign in: send Authorization: Bearer <token or API key>")
        if token.count(".") == 2:
            return Caller(claims=await self.verifier.verify(token))
        return Caller(key_principal=await self._api_key(request, token))

    async def _api_key(self, request: Request, raw: str) -> Principal:
        # A valid key always gets in: a block on failures must not lock out every client behind
        # the same address. Failures from an address that failed too often get 429, not 401.
        client = request.client.host if request.client else "unknown"
        try:
            principal, _key = await self.app.api_keys.authenticate(raw)
        except Unauthenticated:
            now = time.monotonic()
            blocked = self._blocked_until.get(client, 0.0)
            if blocked > now:
                raise TooManyRequests(
                    "too many failed API key attempts; try again later", retry_after=blocked - now
                ) from None
            decision = await self.app.context.rate_limiter.hit(
                f"api-key-failures:{client}",
                limit=self.settings.api_key_failures_per_minute,
                period=60.0,
            )
            if not decision.allowed:
                self._blocked_until[client] = now + decision.retry_after
                if len(self._blocked_until) > 10_000:  # forget the oldest blocks
                    self._blocked_until = dict(list(self._blocked_until.items())[-5_000:])
                raise TooManyRequests(
                    "too many failed API key attempts; try again later",
                    retry_after=decision.retry_after,
                ) from None
            raise
        return principal


def _credentials(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthenticated("use Authorization: Bearer <token or API key>")
        return value.strip()
    key = request.headers.get("x-api-key")
    return key.strip() if key and key.strip() else None


def _authenticator(request: Request) -> Authenticator:
    auth: Authenticator = request.app.state.authenticator
    return auth


async def current_user(request: Request) -> User:
    """The signed-in user, created on first sight (API keys act for an organization: 401)."""
    auth = _authenticator(request)
    caller = await auth.caller(request)
    if caller.claims is None:
        raise Unauthenticated("this route needs a signed-in user, not an API key")
    return await auth.app.organizations.sign_in(caller.claims.user_id, caller.claims.email)


async def org_principal(request: Request, organization_id: Annotated[UUID, Path()]) -> Principal:
    """The caller acting in the organization of the path (404 if not theirs)."""
    auth = _authenticator(request)
    caller = await auth.caller(request)
    if caller.key_principal is not None:
        if caller.key_principal.organization_id != organization_id:
            raise NotFound(f"organization {organization_id} not found")
        principal = caller.key_principal
    else:
        assert caller.claims is not None
        # A membership implies the user's row exists: no sign-in read on organization routes.
        principal = await auth.app.organizations.principal_for(
            caller.claims.user_id, organization_id
        )
    # Usage analytics count the call as this principal's (ghostart.web.observability).
    request.state.principal = principal
    return principal


CurrentUser = Annotated[User, Depends(current_user)]
OrgPrincipal = Annotated[Principal, Depends(org_principal)]
