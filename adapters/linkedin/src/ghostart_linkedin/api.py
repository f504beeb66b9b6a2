"""Calls to LinkedIn's REST API for one connection: headers, daily budgets, 401 and errors.

Every call to ``api.linkedin.com/rest`` carries ``Authorization: Bearer``, ``LinkedIn-Version``
(``GHOSTART_LINKEDIN_VERSION``) and ``X-Restli-Protocol-Version: 2.0.0``. Before each, one hit
is counted against the member's and the app's budget for the UTC day through the RateLimiter
port; a refused hit, or LinkedIn's own 429 (which also spends what is left of that day's
budget, so other workers stop asking), is :class:`~ghostart.errors.RateLimited` until midnight
UTC. A 401 refreshes the token once and repeats the call; a second 401 marks the connection
``needs_reconnect``.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import httpx

from ghostart.errors import AuthExpired, PermanentError, RateLimited
from ghostart.ports import Clock, Monitor, RateLimiter
from ghostart_linkedin.connections import ConnectionKey
from ghostart_linkedin.errors import (
    PROVIDER,
    NeedsReconnect,
    map_response,
    map_transport_error,
    seconds_to_utc_midnight,
)
from ghostart_linkedin.settings import LinkedInSettings
from ghostart_linkedin.tokens import Credential, Tokens

__all__ = ["ApiSession", "DailyBudget", "LinkedInAPI"]

log = logging.getLogger("ghostart.linkedin")

_DAY = 86400.0


class DailyBudget:
    """Our own count of calls per member and per app per UTC day (``None``: no local budget)."""

    def __init__(
        self, limiter: RateLimiter | None, settings: LinkedInSettings, clock: Clock
    ) -> None:
        self.limiter = limiter
        self.settings = settings
        self._clock = clock

    def _keys(self, client_id: str, member_urn: str) -> list[tuple[str, str, int]]:
        day = self._clock.now().date().isoformat()
        return [
            ("member", f"linkedin:member:{member_urn}:{day}", self.settings.member_daily_limit),
            ("application", f"linkedin:app:{client_id}:{day}", self.settings.app_daily_limit),
        ]

    async def spend(self, *, client_id: str, member_urn: str) -> None:
        """Count one call, or raise :class:`RateLimited` until midnight UTC."""
        if self.limiter is None:
            return
        for scope, key, limit in self._keys(client_id, member_urn):
            decision = await self.limiter.hit(key, limit=limit, period=_DAY)
            if not decision.allowed:
                wait = seconds_to_utc_midnight(self._clock.now())
                raise RateLimited(
                    f"linkedin: the {scope} budget for today ({limit} calls, "
                    f"GHOSTART_LINKEDIN_{'MEMBER' if scope == 'member' else 'APP'}_DAILY_LIMIT) "
                    f"is spent; it resets at midnight UTC, in {wait:.0f} s",
                    retry_after=wait,
                    provider=PROVIDER,
                    scope=scope,
                    local=True,
                )

    async def exhaust(self, scope: str, *, client_id: str, member_urn: str) -> None:
        """Spend what is left of ``scope``'s budget today (after LinkedIn said 429)."""
        if self.limiter is None:
            return
        for name, key, limit in self._keys(client_id, member_urn):
            if name != scope:
                continue
            decision = await self.limiter.hit(key, limit=limit, period=_DAY)
            if decision.allowed and decision.remaining > 0:
                await self.limiter.hit(key, limit=limit, period=_DAY, cost=decision.remaining)


class LinkedInAPI:
    """Makes :class:`ApiSession` objects: calls on behalf of one connection."""

    def __init__(
        self,
        settings: LinkedInSettings,
        *,
        tokens: Tokens,
        http: httpx.AsyncClient,
        budget: DailyBudget,
        clock: Clock,
        monitor: Monitor | None = None,
    ) -> None:
        self.settings = settings
        self.tokens = tokens
        self.http = http
        self.budget = budget
        self.clock = clock
        self.monitor = monitor

    def session(self, key: ConnectionKey) -> ApiSession:
        """Calls for ``key``'s connection; at most one token refresh per session."""
        return ApiSession(self, key)


class ApiSession:
    """Calls on behalf of one connection (one publish, one find, one delete)."""

    def __init__(self, api: LinkedInAPI, key: ConnectionKey) -> None:
        self.api = api
        self.key = key
        self._credential: Credential | None = None
        self._refreshed = False

    async def credential(self) -> Credential:
        """The connection's working token (fetched, and maybe refreshed, on first use)."""
        if self._credential is None:
            self._credential = await self.api.tokens.access_token(self.key)
        return self._credential

    async def author(self) -> str:
        """The member's URN (``urn:li:person:...``)."""
        return (await self.credential()).connection.member_urn

    async def request(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        json: Any = None,
        query: str = "",
        may_have_landed: bool = False,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Call ``{api_base_url}{path}?{query}``; a non-2xx answer is raised, mapped."""
        settings = self.api.settings
        url = f"{settings.api_base_url}{path}" + (f"?{query}" if query else "")
        while True:
            credential = await self.credential()
            client_id = self.api.tokens.oauth.app(self.key.app).client_id
            member = credential.connection.member_urn
            await self.api.budget.spend(client_id=client_id, member_urn=member)
            try:
                response = await self.api.http.request(
                    method,
                    url,
                    json=json,
                    timeout=settings.timeout,
                    headers={
                        "Authorization": f"Bearer {credential.token}",
                        "LinkedIn-Version": settings.version,
                        "X-Restli-Protocol-Version": "2.0.0",
                        **(headers or {}),
                    },
                )
            except httpx.TransportError as exc:
                raise map_transport_error(
                    exc, operation=operation, may_have_landed=may_have_landed
                ) from None
            if response.is_success:
                return response
            error = map_response(
                response, operation=operation, now=self.api.clock.now(), secrets=(credential.token,)
            )
            if self.api.monitor is not None:
                self.api.monitor.incr(
                    "ghostart.linkedin.errors", status=str(response.status_code), error=error.code
                )
            if isinstance(error, AuthExpired):
                if self._refreshed:
                    await self.api.tokens.mark_needs_reconnect(self.key, "revoked")
                    raise NeedsReconnect(
                        f"linkedin: the token was refused again after a refresh ({error}); the "
                        "member must connect again",
                        provider=PROVIDER,
                        status=401,
                        raw=error.raw,
                    ) from error
                self._refreshed = True
                self._credential = await self.api.tokens.after_unauthorized(self.key, credential)
                continue
            if isinstance(error, RateLimited):
                await self.api.budget.exhaust(
                    str(error.details.get("scope")), client_id=client_id, member_urn=member
                )
            raise error

    async def upload(self, upload_url: str, data: bytes, content_type: str) -> None:
        """PUT ``data`` to an ``uploadUrl`` LinkedIn handed out (only ever a LinkedIn host)."""
        host = urlsplit(upload_url).hostname or ""
        allowed = urlsplit(self.api.settings.api_base_url).hostname or ""
        if not (host == "linkedin.com" or host.endswith(".linkedin.com") or host == allowed):
            # The PUT carries the member's bearer token: never send it anywhere else.
            raise PermanentError(
                f"linkedin: refusing to upload to {host or 'an unnamed host'} (not LinkedIn)",
                provider=PROVIDER,
            )
        credential = await self.credential()
        try:
            response = await self.api.http.put(
                upload_url,
                content=data,
                timeout=self.api.settings.timeout,
                headers={
                    "Authorization": f"Bearer {credential.token}",
                    "Content-Type": content_type,
                },
            )
        except httpx.TransportError as exc:
            raise map_transport_error(
                exc, operation="upload the image", may_have_landed=False
            ) from None
        if not response.is_success:
            raise map_response(
                response,
                operation="upload the image",
                now=self.api.clock.now(),
                secrets=(credential.token,),
            )
