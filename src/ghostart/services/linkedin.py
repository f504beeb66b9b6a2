"""Connecting a member's LinkedIn account: the sign-in link, the callback, status, disconnect.

The OAuth flow itself is the publisher's (ghostart-linkedin's :class:`LinkedInPublisher`
implements :class:`AccountLinker`); the core checks who is asking first and reads or deletes a
member's own connection as that member, so on PostgreSQL row-level security holds as well
(migration 0008). Tokens never leave the adapter: :class:`LinkedInStatus` has none.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable
from uuid import UUID

from ghostart.errors import InvalidInput, NotFound, PermissionDenied
from ghostart.models import DomainModel, Permission, Principal, PrincipalKind
from ghostart.models.linkedin import LinkedInApp, LinkedInConnection
from ghostart.rbac import authorize
from ghostart.services.context import ServiceContext
from ghostart.services.organizations import OrganizationService

__all__ = ["AccountLinker", "LinkedInNotConfigured", "LinkedInService", "LinkedInStatus"]


@runtime_checkable
class AccountLinker(Protocol):
    """What a publisher offers for connecting accounts (ghostart-linkedin's publisher has it)."""

    def apps(self) -> tuple[str, ...]:
        """The configured apps (``member``, and ``organization`` for company pages)."""
        ...

    def authorization_url(self, *, organization_id: UUID, user_id: UUID, app: LinkedInApp) -> str:
        """Where to send the user; its ``state`` is sealed, expiring, single-use, theirs."""
        ...

    def state_organization(self, state: str | None) -> UUID:
        """The organization a ``state`` was issued for; ``InvalidInput`` if it is not ours."""
        ...

    async def complete(
        self,
        *,
        organization_id: UUID,
        user_id: UUID,
        state: str | None,
        code: str | None,
        error: str | None = None,
    ) -> None:
        """Check the ``state`` (theirs, fresh, unspent), exchange the code, store the tokens."""
        ...


class LinkedInNotConfigured(NotFound):
    """The service publishes elsewhere (``GHOSTART_PUBLISHER`` is not ``linkedin``)."""

    code = "linkedin_not_configured"


class LinkedInStatus(DomainModel):
    """A connection as its member sees it: never a token."""

    app: LinkedInApp
    member_urn: str
    member_name: str | None
    scopes: tuple[str, ...]
    access_expires_at: datetime
    refresh_expires_at: datetime | None
    needs_reconnect: bool
    reconnect_reason: str | None
    connected_at: datetime

    @classmethod
    def of(cls, connection: LinkedInConnection) -> LinkedInStatus:
        """The public part of ``connection``."""
        return cls.model_validate(connection.model_dump(include=set(cls.model_fields)))


class LinkedInService:
    """Members connect, check and disconnect their own LinkedIn accounts."""

    def __init__(self, ctx: ServiceContext, organizations: OrganizationService) -> None:
        self.ctx = ctx
        self.organizations = organizations

    def _linker(self) -> AccountLinker:
        publisher = self.ctx.publisher
        if not isinstance(publisher, AccountLinker):
            raise LinkedInNotConfigured(
                "LinkedIn is not set up on this service (GHOSTART_PUBLISHER=linkedin, with "
                "ghostart-linkedin installed)"
            )
        return publisher

    def configured(self) -> bool:
        """Whether this service publishes to LinkedIn (members can connect an account)."""
        return isinstance(self.ctx.publisher, AccountLinker)

    @staticmethod
    def _check(principal: Principal) -> None:
        if principal.kind is not PrincipalKind.USER:
            raise PermissionDenied("a LinkedIn account is connected by its member, signed in")
        authorize(principal, Permission.POST_PUBLISH_OWN, owner_id=principal.user_id)

    def connect_url(self, principal: Principal, app: LinkedInApp = "member") -> str:
        """LinkedIn's authorization URL for ``principal`` (the ``state`` is bound to them)."""
        self._check(principal)
        linker = self._linker()
        if app not in linker.apps():
            raise InvalidInput(
                f"the LinkedIn {app} app is not configured on this service", field="app"
            )
        return linker.authorization_url(
            organization_id=principal.organization_id, user_id=principal.user_id, app=app
        )

    async def callback(
        self, user_id: UUID, *, state: str | None, code: str | None, error: str | None = None
    ) -> tuple[Principal, list[LinkedInStatus]]:
        """Finish the sign-in for ``user_id`` (signed in); their connections afterwards.

        The ``state`` names the organization; the user must be a member of it (else
        :class:`NotFound`), and the adapter then checks that it is theirs, fresh and unspent.
        """
        linker = self._linker()
        organization_id = linker.state_organization(state)
        principal = await self.organizations.principal_for(user_id, organization_id)
        self._check(principal)
        await linker.complete(
            organization_id=organization_id, user_id=user_id, state=state, code=code, error=error
        )
        return principal, await self.status(principal)

    async def status(self, principal: Principal) -> list[LinkedInStatus]:
        """``principal``'s own connections in their organization (``member`` first)."""
        self._check(principal)
        async with self.ctx.store.unit_of_work(principal, readonly=True) as uow:
            rows = await uow.linkedin_connections.list_for_user(
                principal.organization_id, principal.user_id
            )
        return [LinkedInStatus.of(row) for row in rows]

    async def disconnect(self, principal: Principal, app: LinkedInApp = "member") -> bool:
        """Forget ``principal``'s connection (LinkedIn keeps the grant until they revoke it)."""
        self._check(principal)
        async with self.ctx.store.unit_of_work(principal) as uow:
            return await uow.linkedin_connections.delete(
                principal.organization_id, principal.user_id, app
            )
