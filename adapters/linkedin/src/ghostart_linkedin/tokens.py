"""Members' tokens: stored encrypted, refreshed ahead of expiry, and a dead one reported once.

- :meth:`Tokens.connect` finishes the OAuth callback: checks the ``state``, exchanges the code,
  reads the member id and stores the connection, its tokens sealed by the core
  :class:`~ghostart.secretbox.SecretBox` under associated data naming the row and field (a
  ciphertext copied into another row does not decrypt).
- :meth:`Tokens.access_token` hands out a working access token, refreshing it first when it
  expires within ``GHOSTART_LINKEDIN_REFRESH_AHEAD_SECONDS`` and a refresh token allows.
- A refresh never replaces a stored refresh token with an empty one (LinkedIn grants refresh
  tokens to approved partners only, and not renewed by refreshing).
- ``invalid_grant``, a second 401, or an expired token without a refresh token mark the
  connection ``needs_reconnect`` with a compare-and-set: exactly one caller wins and emits
  ``linkedin.connection.needs_reconnect``, however many workers hit it at once.
- :meth:`Tokens.remind_expiring` emits ``linkedin.connection.expiring`` once per access token
  that has no refresh token and expires within ``GHOSTART_LINKEDIN_REMINDER_AHEAD_SECONDS``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from ghostart.errors import ConfigurationError, InvalidInput, TransientError
from ghostart.models import DomainEvent
from ghostart.ports import Clock, Monitor
from ghostart.secretbox import SETTING_NAME, SecretBox, SecretBoxError
from ghostart_linkedin.connections import Connection, ConnectionKey, ConnectionStore
from ghostart_linkedin.errors import PROVIDER, NeedsReconnect, NotConnected
from ghostart_linkedin.oauth import InvalidGrant, LinkedInOAuth, MemberInfo, TokenSet
from ghostart_linkedin.settings import LinkedInSettings

__all__ = ["Credential", "EventSink", "LinkedInEvent", "Tokens"]

log = logging.getLogger("ghostart.linkedin")

#: Where events go: the app's ``emit`` (handed to the plugin on ``BuildContext.emit``).
EventSink = Callable[[DomainEvent], Awaitable[None]]


class LinkedInEvent:
    """The events this adapter emits (payloads hold ids and facts, never tokens)."""

    CONNECTED = "linkedin.connection.connected"
    NEEDS_RECONNECT = "linkedin.connection.needs_reconnect"
    EXPIRING = "linkedin.connection.expiring"


@dataclass(frozen=True)
class Credential:
    """A working access token and the connection it came from."""

    token: str = field(repr=False)
    connection: Connection


async def _log_event(event: DomainEvent) -> None:
    log.warning("linkedin event %s (no event sink wired): %s", event.name, event.payload)


class Tokens:
    """Connections and their tokens, over a :class:`ConnectionStore`."""

    def __init__(
        self,
        settings: LinkedInSettings,
        *,
        store: ConnectionStore,
        box: SecretBox,
        oauth: LinkedInOAuth,
        clock: Clock,
        emit: EventSink | None = None,
        monitor: Monitor | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.oauth = oauth
        #: The app's ``emit`` inside an app; without one, events are logged.
        self.emit: EventSink = emit or _log_event
        self._box = box
        self._clock = clock
        self._monitor = monitor

    # -- connecting ---------------------------------------------------------------------------

    async def connect(
        self,
        *,
        organization_id: UUID,
        user_id: UUID,
        state: str | None,
        code: str | None,
        error: str | None = None,
    ) -> Connection:
        """Finish the OAuth callback for the signed-in user and store the connection.

        Raises:
            InvalidState: The ``state`` is missing, forged, expired, reused or someone else's.
            InvalidInput: The member declined (``error``), or no code came back.
        """
        org, user = organization_id, user_id
        state_ = await self.oauth.verify_state(state, organization_id=org, user_id=user)
        if error:
            raise InvalidInput(
                f"LinkedIn did not grant access ({error[:100]}); connect again to publish",
                field="error",
            )
        if not code:
            raise InvalidInput("LinkedIn sent no authorization code", field="code")
        tokens = await self.oauth.exchange(state_.app, code)
        member = await self.oauth.userinfo(tokens.access_token)
        return await self.store_tokens(ConnectionKey(org, user, state_.app), tokens, member)

    async def store_tokens(
        self, key: ConnectionKey, tokens: TokenSet, member: MemberInfo
    ) -> Connection:
        """Store (or replace) ``key``'s connection, keeping a refresh token LinkedIn left out."""
        now = self._clock.now()
        existing = await self.store.get(key)
        refresh = self._seal(key, "refresh_token", tokens.refresh_token)
        refresh_expires = tokens.refresh_expires_at
        if (
            refresh is None
            and existing is not None
            and existing.member_urn == member.urn
            and existing.refresh_token is not None
            and not _expired(existing.refresh_expires_at, now)
        ):
            refresh, refresh_expires = existing.refresh_token, existing.refresh_expires_at
        connection = Connection(
            organization_id=key.organization_id,
            user_id=key.user_id,
            app=key.app,
            member_urn=member.urn,
            member_name=member.name,
            access_token=self._seal(key, "access_token", tokens.access_token) or "",
            access_expires_at=tokens.access_expires_at,
            refresh_token=refresh,
            refresh_expires_at=refresh_expires,
            scopes=tokens.scopes,
            connected_at=now,
            updated_at=now,
        )
        event = self._event(LinkedInEvent.CONNECTED, connection, reason=None)
        await self.store.save(connection, expected_version=None, event=event)
        stored = await self.store.get(key) or connection
        await self._announce(event)
        return stored

    async def disconnect(self, key: ConnectionKey) -> bool:
        """Forget ``key``'s connection (LinkedIn keeps the grant until the member revokes it)."""
        return await self.store.delete(key)

    # -- using --------------------------------------------------------------------------------

    async def access_token(self, key: ConnectionKey) -> Credential:
        """A working access token for ``key``, refreshed first if it expires soon.

        Raises:
            NotConnected: The member never connected this app.
            NeedsReconnect: The connection is dead; the member must connect again.
        """
        connection = await self._get(key)
        now = self._clock.now()
        left = (connection.access_expires_at - now).total_seconds()
        if left <= self.settings.refresh_ahead_seconds and self._can_refresh(connection, now):
            try:
                return await self._refresh(connection)
            except TransientError:
                if left <= 0:
                    raise
                log.warning("refresh ahead of expiry failed for %s; using the current token", key)
        if left <= 0:
            await self.mark_needs_reconnect(key, "expired")
            raise NeedsReconnect(
                "linkedin: the member's access token has expired; they must connect again",
                provider=PROVIDER,
            )
        return Credential(self._open(connection, "access_token"), connection)

    async def after_unauthorized(self, key: ConnectionKey, used: Credential) -> Credential:
        """A new token after LinkedIn refused ``used`` (401); at most one refresh per call.

        Raises:
            NeedsReconnect: No refresh token, or LinkedIn refused it.
        """
        connection = await self._get(key)
        if connection.version != used.connection.version:
            fresh = self._open(connection, "access_token")
            if fresh != used.token:  # another worker refreshed meanwhile
                return Credential(fresh, connection)
        if not self._can_refresh(connection, self._clock.now()):
            await self.mark_needs_reconnect(key, "revoked")
            raise NeedsReconnect(
                "linkedin: the access token was refused and there is no refresh token; the "
                "member must connect again",
                provider=PROVIDER,
            )
        return await self._refresh(connection)

    async def mark_needs_reconnect(self, key: ConnectionKey, reason: str) -> bool:
        """Flag ``key``'s connection; whether this call flagged it (and emitted the event)."""
        for _ in range(5):
            connection = await self.store.get(key)
            if connection is None or connection.needs_reconnect:
                return False
            flagged = connection.model_copy(
                update={
                    "needs_reconnect": True,
                    "reconnect_reason": reason,
                    "updated_at": self._clock.now(),
                }
            )
            event = self._event(LinkedInEvent.NEEDS_RECONNECT, flagged, reason=reason)
            if await self.store.save(flagged, expected_version=connection.version, event=event):
                log.warning("linkedin connection %s needs reconnecting (%s)", key, reason)
                await self._announce(event)
                return True
        return False

    async def remind_expiring(self) -> int:
        """Emit one reminder per soon-expiring token without a refresh token; how many."""
        now = self._clock.now()
        horizon = now + timedelta(seconds=self.settings.reminder_ahead_seconds)
        sent = 0
        for connection in await self.store.expiring(horizon):
            if self._can_refresh(connection, now) or connection.reminded_for == (
                connection.access_expires_at
            ):
                continue
            if connection.access_expires_at <= now:
                await self.mark_needs_reconnect(connection.key, "expired")
                continue
            reminded = connection.model_copy(
                update={"reminded_for": connection.access_expires_at, "updated_at": now}
            )
            event = self._event(LinkedInEvent.EXPIRING, reminded, reason=None)
            if await self.store.save(reminded, expected_version=connection.version, event=event):
                await self._announce(event)
                sent += 1
        return sent

    async def rotate_all(self, *, batch_size: int = 100) -> dict[str, int]:
        """Re-seal every stored token not under the primary key of ``GHOSTART_SECRET_KEYS``.

        Safe to stop and run again (rows already under the primary key are left alone); a row
        changed meanwhile (a refresh, which seals under the primary key anyway) is a conflict.
        Once ``failed`` is 0, keys other than the primary can be removed.

        Returns:
            ``scanned``, ``rotated``, ``up_to_date``, ``conflicts`` and ``failed`` (rows a
            configured key does not open).
        """
        report = dict.fromkeys(("scanned", "rotated", "up_to_date", "conflicts", "failed"), 0)
        after: ConnectionKey | None = None
        while batch := await self.store.batch(after=after, limit=batch_size):
            after = batch[-1].key
            for connection in batch:
                report["scanned"] += 1
                update: dict[str, object] = {}
                try:
                    for name in ("access_token", "refresh_token"):
                        sealed = getattr(connection, name)
                        if sealed and self._box.needs_rotation(sealed):
                            update[name] = self._box.rotate(sealed, aad=connection.key.aad(name))
                except SecretBoxError:
                    report["failed"] += 1
                    log.error("a stored LinkedIn token of %s does not decrypt", connection.key)
                    continue
                if not update:
                    report["up_to_date"] += 1
                elif await self.store.save(
                    connection.model_copy(update=update), expected_version=connection.version
                ):
                    report["rotated"] += 1
                else:
                    report["conflicts"] += 1
        return report

    # -- internals ----------------------------------------------------------------------------

    async def _get(self, key: ConnectionKey) -> Connection:
        connection = await self.store.get(key)
        if connection is None:
            raise NotConnected(
                f"linkedin: this member has not connected LinkedIn ({key.app} app)",
                provider=PROVIDER,
            )
        if connection.needs_reconnect:
            raise NeedsReconnect(
                f"linkedin: the member must connect LinkedIn again ({connection.reconnect_reason})",
                provider=PROVIDER,
            )
        return connection

    def _can_refresh(self, connection: Connection, now: datetime) -> bool:
        return connection.refresh_token is not None and not _expired(
            connection.refresh_expires_at, now
        )

    async def _refresh(self, connection: Connection) -> Credential:
        key = connection.key
        refresh_token = self._open(connection, "refresh_token")
        try:
            tokens = await self.oauth.refresh(key.app, refresh_token)
        except InvalidGrant as exc:
            await self.mark_needs_reconnect(key, "invalid_grant")
            raise NeedsReconnect(
                "linkedin: the refresh token was refused (invalid_grant); the member must "
                "connect again",
                provider=PROVIDER,
            ) from exc
        if self._monitor is not None:
            self._monitor.incr("ghostart.linkedin.token_refreshed", app=key.app)
        update: dict[str, object] = {
            "access_token": self._seal(key, "access_token", tokens.access_token),
            "access_expires_at": tokens.access_expires_at,
            "scopes": tokens.scopes or connection.scopes,
            "reminded_for": None,
            "updated_at": self._clock.now(),
        }
        if tokens.refresh_token:  # never replace a stored refresh token with an empty one
            update["refresh_token"] = self._seal(key, "refresh_token", tokens.refresh_token)
            update["refresh_expires_at"] = tokens.refresh_expires_at
        refreshed = connection.model_copy(update=update)
        if not await self.store.save(refreshed, expected_version=connection.version):
            # Another worker saved first. Its token is as good as ours, and ours still works.
            current = await self.store.get(key)
            if current is not None and not current.needs_reconnect:
                return Credential(self._open(current, "access_token"), current)
        return Credential(tokens.access_token, await self.store.get(key) or refreshed)

    def _seal(self, key: ConnectionKey, name: str, value: str | None) -> str | None:
        return self._box.encrypt(value, aad=key.aad(name)) if value else None

    def _open(self, connection: Connection, name: str) -> str:
        sealed = getattr(connection, name)
        try:
            return self._box.decrypt(sealed, aad=connection.key.aad(name))
        except SecretBoxError as exc:
            raise ConfigurationError(
                f"a stored LinkedIn {name.replace('_', ' ')} can not be decrypted ({exc}); was a "
                f"key removed from {SETTING_NAME}? Keep old keys until every value is rotated",
                setting=SETTING_NAME,
            ) from None

    @staticmethod
    def _event(name: str, connection: Connection, *, reason: str | None) -> DomainEvent:
        payload: dict[str, object] = {
            "user_id": str(connection.user_id),
            "app": connection.app,
            "member_urn": connection.member_urn,
            "access_expires_at": connection.access_expires_at.isoformat(),
        }
        if reason is not None:
            payload["reason"] = reason
        return DomainEvent(name=name, organization_id=connection.organization_id, payload=payload)

    async def _announce(self, event: DomainEvent) -> None:
        """Hand a saved change's event on (kept with the save in an app: a crash loses none)."""
        try:
            await self.emit(event)
        except Exception as exc:  # an event never undoes the change that caused it
            log.exception("emitting %s failed", event.name)
            if self._monitor is not None:
                self._monitor.capture_exception(exc, event=event.name)


def _expired(when: datetime | None, now: datetime) -> bool:
    return when is not None and when <= now
