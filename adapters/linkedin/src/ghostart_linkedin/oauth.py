"""OAuth 2.0 authorization-code flow with LinkedIn (and OpenID Connect for the member id).

1. :meth:`LinkedInOAuth.authorization_url` sends the member to LinkedIn with a ``state`` sealed
   by the core :class:`~ghostart.secretbox.SecretBox` (AES-GCM: it can be neither read nor
   forged, and key rotation comes for free). It names the organization, the user and the app,
   carries a random nonce and expires after ``GHOSTART_LINKEDIN_STATE_TTL_SECONDS``.
2. The callback's ``state`` is checked by :meth:`LinkedInOAuth.verify_state`: present,
   authentic, for the signed-in user, not expired, and unspent (the nonce is claimed in
   :class:`~ghostart_linkedin.connections.UsedStates`, so a link works once).
3. :meth:`exchange` trades the code for tokens; :meth:`userinfo` reads ``sub``, so the member
   is ``urn:li:person:{sub}``; :meth:`refresh` mints a new access token from a refresh token.

Requests go to ``www.linkedin.com/oauth/v2`` (tokens) and ``api.linkedin.com/v2/userinfo``.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlencode
from uuid import UUID

import httpx

from ghostart.errors import ConfigurationError, InvalidInput, PermanentError, TransientError
from ghostart.ports import Clock
from ghostart.secretbox import SecretBox, SecretBoxError
from ghostart_linkedin.connections import UsedStates
from ghostart_linkedin.errors import PROVIDER, body_of, map_response, map_transport_error, scrub
from ghostart_linkedin.settings import AppCredentials, AppKind, LinkedInSettings

__all__ = [
    "InvalidGrant",
    "InvalidState",
    "LinkedInOAuth",
    "MemberInfo",
    "State",
    "StateProblem",
    "TokenSet",
]

_STATE_AAD = "ghostart_linkedin.oauth.state"

StateProblem = Literal["missing", "tampered", "other_user", "expired", "reused"]


class InvalidState(InvalidInput):
    """The callback's ``state`` was refused; ``reason`` says which check, the message does not."""

    code = "linkedin_invalid_state"

    def __init__(self, reason: StateProblem) -> None:
        super().__init__(
            "this LinkedIn sign-in link is invalid, expired or already used; connect again",
            field="state",
            reason=reason,
        )
        self.reason = reason


class InvalidGrant(PermanentError):
    """LinkedIn refused a code or refresh token (``invalid_grant``): expired, revoked or used."""

    code = "invalid_grant"


@dataclass(frozen=True)
class TokenSet:
    """Tokens from LinkedIn's token endpoint, with absolute expiries."""

    access_token: str = field(repr=False)
    access_expires_at: datetime
    refresh_token: str | None = field(default=None, repr=False)
    refresh_expires_at: datetime | None = None
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True)
class MemberInfo:
    """Who connected, from OpenID Connect's ``/v2/userinfo``."""

    sub: str
    name: str | None = None
    email: str | None = None

    @property
    def urn(self) -> str:
        """The member as the Posts API names an author."""
        return f"urn:li:person:{self.sub}"


@dataclass(frozen=True)
class State:
    """What a verified ``state`` says."""

    organization_id: UUID
    user_id: UUID
    app: AppKind
    nonce: str
    expires_at: datetime


class LinkedInOAuth:
    """The authorization-code flow for the configured apps (member, and optionally organization).

    Args:
        settings: The adapter's settings (URLs, state lifetime).
        apps: The client credentials per app (``settings.apps()``).
        box: The core secret box; seals the ``state``.
        used_states: Where spent ``state`` nonces are remembered.
        http: The HTTP client (injected, so tests see every request).
        clock: The time.
    """

    def __init__(
        self,
        settings: LinkedInSettings,
        apps: dict[AppKind, AppCredentials],
        *,
        box: SecretBox,
        used_states: UsedStates,
        http: httpx.AsyncClient,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.apps = apps
        self._box = box
        self._used = used_states
        self._http = http
        self._clock = clock

    def app(self, kind: AppKind) -> AppCredentials:
        """The credentials of ``kind``, or a :class:`ConfigurationError` naming the settings."""
        if kind not in self.apps:
            return self.settings.app(kind)  # raises, naming what is missing
        return self.apps[kind]

    # -- step 1 -------------------------------------------------------------------------------

    def authorization_url(
        self, *, organization_id: UUID, user_id: UUID, app: AppKind = "member"
    ) -> str:
        """Where to send the member to grant access; the ``state`` is bound to this user."""
        credentials = self.app(app)
        expires = self._clock.now() + timedelta(seconds=self.settings.state_ttl_seconds)
        payload = {
            "o": str(organization_id),
            "u": str(user_id),
            "a": app,
            "n": secrets.token_urlsafe(18),
            "x": int(expires.timestamp()),
        }
        state = self._box.encrypt(json.dumps(payload, separators=(",", ":")), aad=_STATE_AAD)
        query = urlencode(
            {
                "response_type": "code",
                "client_id": credentials.client_id,
                "redirect_uri": credentials.redirect_uri,
                "state": state,
                "scope": " ".join(credentials.scopes),
            }
        )
        return f"{self.settings.oauth_base_url}/authorization?{query}"

    # -- step 2 -------------------------------------------------------------------------------

    def peek_state(self, state: str | None) -> State:
        """What ``state`` says, without checking whose it is, its age or spending it.

        The callback learns from it which organization to check the caller's membership in;
        :meth:`verify_state` then makes every check.

        Raises:
            InvalidState: Missing, or not sealed by us.
        """
        if not state:
            raise InvalidState("missing")
        try:
            data = json.loads(self._box.decrypt(state, aad=_STATE_AAD))
            if data["a"] not in ("member", "organization"):
                raise ValueError(data["a"])
            return State(
                organization_id=UUID(data["o"]),
                user_id=UUID(data["u"]),
                app=data["a"],
                nonce=str(data["n"]),
                expires_at=datetime.fromtimestamp(int(data["x"]), tz=UTC),
            )
        except (SecretBoxError, ValueError, KeyError, TypeError):
            raise InvalidState("tampered") from None

    async def purge_states(self) -> int:
        """Forget spent nonces whose state has expired, if the storage can (how many)."""
        purge = getattr(self._used, "purge", None)
        if purge is None:
            return 0
        return int(await purge(before=self._clock.now()))

    async def verify_state(
        self, state: str | None, *, organization_id: UUID, user_id: UUID
    ) -> State:
        """Check the callback's ``state`` and spend it.

        Raises:
            InvalidState: Missing, tampered (or sealed by an unknown key), for another user,
                expired, or used before.
        """
        parsed = self.peek_state(state)
        if (parsed.organization_id, parsed.user_id) != (organization_id, user_id):
            raise InvalidState("other_user")
        if parsed.expires_at <= self._clock.now():
            raise InvalidState("expired")
        spent = await self._used.claim(
            parsed.nonce,
            expires_at=parsed.expires_at,
            organization_id=parsed.organization_id,
            user_id=parsed.user_id,
        )
        if not spent:
            raise InvalidState("reused")
        return parsed

    # -- step 3 -------------------------------------------------------------------------------

    async def exchange(self, app: AppKind, code: str) -> TokenSet:
        """Trade an authorization code for tokens."""
        credentials = self.app(app)
        return await self._token_request(
            credentials,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": credentials.redirect_uri,
            },
            operation="exchange the authorization code",
            secret=code,
        )

    async def refresh(self, app: AppKind, refresh_token: str) -> TokenSet:
        """A new access token from a refresh token (whose own expiry LinkedIn does not extend).

        Raises:
            InvalidGrant: LinkedIn refused the refresh token; the member must connect again.
        """
        return await self._token_request(
            self.app(app),
            {"grant_type": "refresh_token", "refresh_token": refresh_token},
            operation="refresh the access token",
            secret=refresh_token,
        )

    async def userinfo(self, access_token: str) -> MemberInfo:
        """The member behind ``access_token`` (needs the ``openid`` and ``profile`` scopes)."""
        operation = "read the member's profile (userinfo)"
        try:
            response = await self._http.get(
                f"{self.settings.api_base_url}/v2/userinfo",
                headers={"Authorization": f"Bearer {access_token}"},
                timeout=self.settings.timeout,
            )
        except httpx.TransportError as exc:
            raise map_transport_error(exc, operation=operation, may_have_landed=False) from None
        if response.status_code != 200:
            raise map_response(
                response, operation=operation, now=self._clock.now(), secrets=(access_token,)
            )
        body = body_of(response)
        sub = body.get("sub")
        if not isinstance(sub, str) or not sub:
            raise PermanentError("linkedin: userinfo has no 'sub'", provider=PROVIDER, raw=body)
        return MemberInfo(sub=sub, name=body.get("name"), email=body.get("email"))

    async def _token_request(
        self, credentials: AppCredentials, form: dict[str, str], *, operation: str, secret: str
    ) -> TokenSet:
        data = form | {
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret.get_secret_value(),
        }
        hidden = (secret, credentials.client_secret.get_secret_value())
        try:
            response = await self._http.post(
                f"{self.settings.oauth_base_url}/accessToken",
                data=data,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                timeout=self.settings.timeout,
            )
        except httpx.TransportError as exc:
            # A token request that may have landed costs nothing: the code or refresh token
            # is simply tried again (a used code then answers invalid_grant).
            raise map_transport_error(exc, operation=operation, may_have_landed=False) from None
        now = self._clock.now()
        if response.status_code == 200:
            return _token_set(body_of(response), now)
        body = scrub(body_of(response), *hidden)
        error = str(body.get("error") or "")
        description = " ".join(str(body.get("error_description") or "").split())[:300]
        details: dict[str, Any] = {"provider": PROVIDER, "status": response.status_code}
        if error == "invalid_grant":
            raise InvalidGrant(f"linkedin: {operation}: {description}", raw=body, **details)
        if error in ("invalid_client", "unauthorized_client") or response.status_code == 401:
            raise ConfigurationError(
                f"linkedin refused the {credentials.kind} app's credentials ({error}): check "
                f"{credentials.prefix}CLIENT_ID and {credentials.prefix}CLIENT_SECRET",
                setting=f"{credentials.prefix}CLIENT_SECRET",
                **details,
            )
        if error == "invalid_request" and "redirect uri" in description.lower():
            # LinkedIn says the same for an expired code and for a redirect URL that differs.
            raise PermanentError(
                f"linkedin: {operation}: {description}. If it keeps happening, check that "
                f"{credentials.prefix}REDIRECT_URI is exactly one of the app's redirect URLs",
                **details,
            )
        if error:
            raise PermanentError(f"linkedin: {operation}: {error}: {description}", **details)
        raise map_response(response, operation=operation, now=now, secrets=hidden)


def _token_set(body: dict[str, Any], now: datetime) -> TokenSet:
    access = body.get("access_token")
    if not isinstance(access, str) or not access:
        raise TransientError("linkedin: the token response has no access_token", provider=PROVIDER)
    refresh = body.get("refresh_token") or None
    refresh_in = body.get("refresh_token_expires_in")
    scope = str(body.get("scope") or "")
    return TokenSet(
        access_token=access,
        access_expires_at=now + timedelta(seconds=int(body.get("expires_in") or 0)),
        refresh_token=refresh if isinstance(refresh, str) else None,
        refresh_expires_at=(
            now + timedelta(seconds=int(refresh_in)) if refresh and refresh_in else None
        ),
        scopes=tuple(s for s in scope.replace(",", " ").split() if s),
    )
