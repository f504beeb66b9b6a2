"""An organization's API keys: created (the key shown once), listed, revoked, authenticated.

Only a keyed hash is stored: HMAC-SHA256 of the whole key under a pepper, a random 256-bit value
per organization kept in the ``secrets`` table sealed by the app's :class:`SecretBox`. So:

- a stolen database alone does not let anyone test guesses (the pepper is encrypted);
- rotating the secret-box keys leaves every API key working: :meth:`SecretService.rotate_all`
  re-encrypts the pepper like any other secret, and the pepper itself never changes, so neither
  do the hashes (a pepper derived from the key material would change with every rotation);
- a box that can not open the pepper (a lost or removed key) is a loud :class:`SecretBoxError`,
  never a quiet "invalid key" for every caller.

A key acts for the user who created it, in the weakest role holding its scopes, and never beyond
what that user may still do: each use checks that they are still a member, and drops the scopes
their current role lacks.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import logging
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from ghostart.errors import InvalidInput, NotFound, Unauthenticated
from ghostart.models import (
    ApiKey,
    DomainEvent,
    Permission,
    Principal,
    PrincipalKind,
    api_key_lookup_prefix,
    as_uuid,
    generate_api_key,
)
from ghostart.ports.store import UnitOfWork
from ghostart.rbac import PERMISSIONS, authorize, granted, least_role
from ghostart.secretbox import SecretBox
from ghostart.services.billing import check_api_access
from ghostart.services.context import ServiceContext
from ghostart.services.secrets import secret_aad

__all__ = ["PEPPER_SECRET_NAME", "ApiKeyService"]

logger = logging.getLogger(__name__)

#: The name of the organization's pepper in the ``secrets`` table.
PEPPER_SECRET_NAME = "ghostart:api-key-pepper"
#: One message for every refusal: a caller learns nothing about which check failed.
_REFUSED = "invalid or revoked API key"
_CACHE_MAX = 4096


def _digest(pepper: bytes, raw_key: str) -> str:
    return hmac.new(pepper, raw_key.encode("ascii"), hashlib.sha256).hexdigest()


def _scopes(scopes: Iterable[Permission | str]) -> frozenset[Permission]:
    if isinstance(scopes, str | bytes) or not isinstance(scopes, Iterable):
        raise InvalidInput("scopes must be a list of permissions", field="scopes")
    wanted: set[Permission] = set()
    for scope in scopes:
        try:
            wanted.add(Permission(scope))
        except ValueError:
            known = ", ".join(p.value for p in Permission)
            raise InvalidInput(
                f"unknown scope {scope!r}; scopes are among: {known}", field="scopes"
            ) from None
    if not wanted:
        raise InvalidInput("an API key needs at least one scope", field="scopes")
    return frozenset(wanted)


class ApiKeyService:
    """Issues and checks an organization's API keys (managing them needs ``api_keys.manage``).

    Args:
        ctx: The shared services context (store, clock, events).
        box: Seals each organization's pepper; the same box as :class:`SecretService`'s.
        touch_interval: ``last_used_at`` is written at most once per this interval per key.
    """

    def __init__(
        self,
        ctx: ServiceContext,
        box: SecretBox,
        *,
        touch_interval: timedelta = timedelta(minutes=1),
    ) -> None:
        self.ctx = ctx
        self._box = box
        self._touch_interval = touch_interval
        # Peppers never change (only their ciphertext does, on rotation): safe to keep.
        self._peppers: dict[UUID, bytes] = {}
        # When this process last wrote (or began writing) each key's last_used_at.
        self._touched: dict[UUID, datetime] = {}

    def __repr__(self) -> str:
        return f"ApiKeyService(touch_interval={self._touch_interval!r})"

    async def create(
        self, principal: Principal, name: str, scopes: Iterable[Permission | str]
    ) -> tuple[ApiKey, str]:
        """Create a key; returns it and its plaintext, which is shown this once and never again.

        Raises:
            PermissionDenied: The principal may not manage API keys.
            InvalidInput: ``name`` is empty or too long, a scope is unknown, there is none, or
                one is beyond the principal's own permissions.
        """
        authorize(principal, Permission.API_KEYS_MANAGE)
        wanted = _scopes(scopes)
        await check_api_access(self.ctx, principal.organization_id)
        beyond = wanted - granted(principal)
        if beyond:
            names = ", ".join(sorted(p.value for p in beyond))
            raise InvalidInput(
                f"a key can not do more than its creator; you do not hold: {names}",
                field="scopes",
            )
        raw = generate_api_key()
        key_prefix = api_key_lookup_prefix(raw)
        assert key_prefix is not None  # a key we just made is well formed
        key = ApiKey.parse(
            {
                "organization_id": principal.organization_id,
                "name": name,
                "key_prefix": key_prefix,
                "scopes": wanted,
                "role": least_role(wanted),
                "created_by": principal.user_id,
                "created_at": self.ctx.clock.now(),
            }
        )
        async with self.ctx.store.unit_of_work(principal) as uow:
            pepper = await self._pepper(uow, principal.organization_id, create=True)
            assert pepper is not None
            await uow.api_keys.add(key, _digest(pepper, raw))
            created = await self._record(
                uow, "api_key.created", principal, key, scopes=sorted(p.value for p in key.scopes)
            )
        logger.info(
            "API key %s (%s) created in organization %s",
            key.key_prefix,
            key.id,
            key.organization_id,
        )
        await self.ctx.dispatch(created)
        return key, raw

    async def list(self, principal: Principal) -> builtins.list[ApiKey]:
        """The organization's keys, revoked ones included, oldest first."""
        authorize(principal, Permission.API_KEYS_MANAGE)
        async with self.ctx.store.unit_of_work(principal, readonly=True) as uow:
            return await uow.api_keys.list(principal.organization_id)

    async def revoke(self, principal: Principal, key_id: UUID | str) -> ApiKey:
        """Revoke a key: it stops working at once. Revoking it again changes nothing.

        Raises:
            NotFound: No such key in the principal's organization.
        """
        authorize(principal, Permission.API_KEYS_MANAGE)
        key_id = as_uuid(key_id, "key_id")
        org_id = principal.organization_id
        async with self.ctx.store.unit_of_work(principal) as uow:
            key = await uow.api_keys.get(org_id, key_id)
            if key is None:
                raise NotFound(f"API key {key_id} not found")
            if key.revoked:
                return key
            revoked = await uow.api_keys.revoke(org_id, key_id, at=self.ctx.clock.now())
            if revoked is None:  # the organization went away meanwhile
                raise NotFound(f"API key {key_id} not found")
            event = await self._record(uow, "api_key.revoked", principal, revoked)
        logger.info("API key %s (%s) revoked", revoked.key_prefix, revoked.id)
        await self.ctx.dispatch(event)
        return revoked

    async def authenticate(self, raw_key: str) -> tuple[Principal, ApiKey]:
        """The principal ``raw_key`` acts as, and the key.

        A malformed key or one with a bad checksum is refused before any database query.

        Raises:
            Unauthenticated: The key is malformed, unknown, forged, revoked, or its creator is no
                longer a member of its organization (one message for all of these).
            SecretBoxError: The organization's pepper does not decrypt: the secret-box key it is
                sealed under is missing from the configuration.
        """
        key_prefix = api_key_lookup_prefix(raw_key)
        if key_prefix is None:
            raise Unauthenticated(_REFUSED)
        async with self.ctx.store.unit_of_work(readonly=True) as uow:
            found = await uow.api_keys.find(key_prefix)
            if found is None:
                raise Unauthenticated(_REFUSED)
            key, stored_hash = found
            pepper = await self._pepper(uow, key.organization_id, create=False)
            member = (
                await uow.memberships.get(key.organization_id, key.created_by)
                if key.created_by is not None
                else None
            )
        if pepper is None:
            logger.error("API key %s: its organization has no pepper", key.key_prefix)
            raise Unauthenticated(_REFUSED)
        if not hmac.compare_digest(_digest(pepper, raw_key), stored_hash):
            logger.warning("API key %s presented with a wrong secret", key.key_prefix)
            raise Unauthenticated(_REFUSED)
        if key.revoked:
            logger.info("revoked API key %s presented", key.key_prefix)
            raise Unauthenticated(_REFUSED)
        if member is None or key.created_by is None:
            logger.info("API key %s: its creator is no longer a member", key.key_prefix)
            raise Unauthenticated(_REFUSED)
        await check_api_access(self.ctx, key.organization_id)  # the plan may have changed
        # Never more than the creator may do now: scopes their current role lacks are dropped.
        scopes = key.scopes & PERMISSIONS[member.role]
        principal = Principal(
            user_id=key.created_by,
            organization_id=key.organization_id,
            role=least_role(scopes),
            kind=PrincipalKind.API_KEY,
            scopes=scopes,
        )
        return principal, await self._touch(principal, key)

    async def _touch(self, principal: Principal, key: ApiKey) -> ApiKey:
        """Record the use, at most once per interval per key; a failure here fails no request."""
        now = self.ctx.clock.now()
        since = now - self._touch_interval
        seen = [t for t in (key.last_used_at, self._touched.get(key.id)) if t is not None]
        if seen and max(seen) >= since:
            return key
        if len(self._touched) >= _CACHE_MAX:
            self._touched.clear()
        # Marked before the write, so that a burst of requests makes one write, not one each.
        self._touched[key.id] = now
        try:
            async with self.ctx.store.unit_of_work(principal) as uow:
                written = await uow.api_keys.touch(
                    key.organization_id, key.id, at=now, unless_since=since
                )
        except Exception:
            logger.warning("could not record the use of API key %s", key.key_prefix, exc_info=True)
            return key
        return key.model_copy(update={"last_used_at": now}) if written else key

    async def _pepper(
        self, uow: UnitOfWork, organization_id: UUID, *, create: bool
    ) -> bytes | None:
        """The organization's pepper; made (in ``uow``) if ``create`` and there is none yet."""
        pepper = self._peppers.get(organization_id)
        if pepper is not None:
            return pepper
        row = await uow.secrets.get(organization_id, PEPPER_SECRET_NAME)
        if row is None:
            if not create:
                return None
            secret_id, value = uuid4(), secrets.token_urlsafe(32)
            sealed = self._box.encrypt(value, aad=secret_aad(secret_id))
            stored_id = await uow.secrets.put(
                organization_id, PEPPER_SECRET_NAME, secret_id, sealed
            )
            if stored_id == secret_id:
                # Not cached: it exists only once ``uow`` commits (the next read caches it).
                return value.encode()
            # Another transaction made one first (and committed it): use that one.
            row = await uow.secrets.get(organization_id, PEPPER_SECRET_NAME)
            if row is None:
                raise NotFound(f"organization {organization_id} not found")
        pepper = self._box.decrypt(row[1], aad=secret_aad(row[0])).encode()
        if len(self._peppers) >= _CACHE_MAX:
            self._peppers.clear()
        self._peppers[organization_id] = pepper
        return pepper

    async def _record(
        self, uow: UnitOfWork, name: str, principal: Principal, key: ApiKey, **facts: object
    ) -> DomainEvent:
        return await self.ctx.record(
            uow,
            DomainEvent(
                name=name,
                organization_id=key.organization_id,
                payload={
                    "key_id": str(key.id),
                    "key_prefix": key.key_prefix,
                    "name": key.name,
                    "by": str(principal.user_id),
                    **facts,
                },
            ),
        )
