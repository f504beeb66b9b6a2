"""Organizations and their members."""

from __future__ import annotations

from uuid import UUID

from ghostart.errors import Conflict, InvalidInput, NotFound
from ghostart.models import (
    DomainEvent,
    EventName,
    Membership,
    Organization,
    OrganizationSettings,
    Principal,
    PrincipalKind,
    Role,
    User,
    as_uuid,
)
from ghostart.ports import UnitOfWork
from ghostart.rbac import Permission, authorize
from ghostart.services.billing import check_seats
from ghostart.services.context import ServiceContext

__all__ = ["OrganizationService"]


def _role(value: Role | str) -> Role:
    try:
        return Role(value)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise InvalidInput(f"role must be one of {allowed}, not {value!r}", field="role") from None


class OrganizationService:
    """Creates organizations, manages members and roles; the last admin always stays."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def ensure_user(self, email: str, name: str | None = None) -> User:
        """The user with ``email``, created if new."""
        candidate = User.parse({"email": email, "name": name})
        async with self.ctx.store.unit_of_work() as uow:
            existing = await uow.users.get_by_email(str(candidate.email))
            if existing is not None:
                return existing
            await uow.users.add(candidate)
            return candidate

    async def create(
        self, creator_id: UUID, name: str, settings: OrganizationSettings | None = None
    ) -> tuple[Organization, Principal]:
        """Create an organization with ``creator_id`` as its first admin."""
        creator_id = as_uuid(creator_id, "creator_id")
        org = Organization.parse({"name": name, "settings": settings or OrganizationSettings()})
        async with self.ctx.store.unit_of_work() as uow:
            if await uow.users.get(creator_id) is None:
                raise NotFound(f"user {creator_id} not found")
            await uow.organizations.add(org)
            await uow.memberships.add(
                Membership(user_id=creator_id, organization_id=org.id, role=Role.ADMIN)
            )
        return org, Principal(user_id=creator_id, organization_id=org.id, role=Role.ADMIN)

    async def principal_for(self, user_id: UUID, organization_id: UUID) -> Principal:
        """The principal of ``user_id`` acting in ``organization_id``.

        An organization the user is not a member of is :class:`NotFound`, exactly like one
        that does not exist: outsiders learn nothing about which organizations exist.
        """
        user_id = as_uuid(user_id, "user_id")
        organization_id = as_uuid(organization_id, "organization_id")
        async with self.ctx.store.unit_of_work(readonly=True) as uow:
            membership = await uow.memberships.get(organization_id, user_id)
        if membership is None:
            raise NotFound(f"organization {organization_id} not found")
        return Principal(user_id=user_id, organization_id=organization_id, role=membership.role)

    async def sign_in(self, user_id: UUID, email: str | None, name: str | None = None) -> User:
        """The user ``user_id`` (the identity provider's id), created on first sign-in."""
        user_id = as_uuid(user_id, "user_id")
        async with self.ctx.store.unit_of_work(readonly=True) as uow:
            existing = await uow.users.get(user_id)
        if existing is not None:
            return existing
        user = User.parse({"id": user_id, "email": email, "name": name})
        async with self.ctx.store.unit_of_work() as uow:
            if await uow.users.get(user_id) is None:
                if user.email and await uow.users.get_by_email(str(user.email)):
                    raise Conflict("another account already uses this email address", field="email")
                await uow.users.add(user)
        return user

    async def organizations_of(self, user_id: UUID) -> list[tuple[Organization, Role]]:
        """The organizations ``user_id`` belongs to, with the role in each."""
        user_id = as_uuid(user_id, "user_id")
        async with self.ctx.store.unit_of_work(readonly=True) as uow:
            orgs = await uow.organizations.list_for_user(user_id)
            roles = {}
            for org in orgs:
                membership = await uow.memberships.get(org.id, user_id)
                if membership is not None:
                    roles[org.id] = membership.role
        return [(org, roles[org.id]) for org in orgs if org.id in roles]

    async def get(self, principal: Principal) -> Organization:
        """The principal's organization."""
        authorize(principal, Permission.ORG_READ)
        async with self.ctx.store.unit_of_work(principal, readonly=True) as uow:
            org = await uow.organizations.get(principal.organization_id)
        if org is None:
            raise NotFound(f"organization {principal.organization_id} not found")
        return org

    async def update_settings(
        self, principal: Principal, settings: OrganizationSettings
    ) -> Organization:
        """Replace the organization's settings."""
        authorize(principal, Permission.ORG_MANAGE)
        settings = OrganizationSettings.parse(settings)
        async with self.ctx.store.unit_of_work(principal) as uow:
            await uow.organizations.update_settings(principal.organization_id, settings)
        return await self.get(principal)

    async def members(self, principal: Principal) -> list[Membership]:
        """Everyone in the organization."""
        authorize(principal, Permission.MEMBERS_READ)
        async with self.ctx.store.unit_of_work(principal, readonly=True) as uow:
            return await uow.memberships.list(principal.organization_id)

    async def add_member(self, principal: Principal, user_id: UUID, role: Role | str) -> Membership:
        """Add a user with ``role``."""
        authorize(principal, Permission.MEMBERS_MANAGE)
        user_id = as_uuid(user_id, "user_id")
        role = _role(role)
        membership = Membership(
            user_id=user_id, organization_id=principal.organization_id, role=role
        )
        # Someone who is not a member yet is outside what the principal may read (row-level
        # security hides them), so finding them is the system's read, once authorized above.
        async with self.ctx.store.unit_of_work(readonly=True) as uow:
            if await uow.users.get(user_id) is None:
                raise NotFound(f"user {user_id} not found")
        async with self.ctx.store.unit_of_work(principal) as uow:
            if await uow.memberships.get(principal.organization_id, user_id) is not None:
                raise Conflict("already a member")
            await check_seats(self.ctx, uow, principal.organization_id)
            await uow.memberships.add(membership)
            added = await self._record(
                uow, EventName.MEMBER_ADDED, principal, user_id=str(user_id), role=role.value
            )
        await self.ctx.dispatch(added)
        return membership

    async def user_by_email(self, principal: Principal, email: str) -> User:
        """A user who has signed in with ``email``, for adding as a member (member managers)."""
        authorize(principal, Permission.MEMBERS_MANAGE)
        # A directory lookup of someone not (yet) in the organization: the system's read.
        async with self.ctx.store.unit_of_work(readonly=True) as uow:
            user = await uow.users.get_by_email(email)
        if user is None:
            raise NotFound("no user with this email has signed in yet")
        return user

    async def change_role(
        self, principal: Principal, user_id: UUID, role: Role | str
    ) -> Membership:
        """Give a member another role; the last admin can not be demoted."""
        authorize(principal, Permission.MEMBERS_MANAGE)
        user_id = as_uuid(user_id, "user_id")
        role = _role(role)
        async with self.ctx.store.unit_of_work(principal) as uow:
            current = await self._member(uow, principal.organization_id, user_id)
            if current.role is role:
                return current
            if current.role is Role.ADMIN and role is not Role.ADMIN:
                await self._keep_an_admin(uow, principal.organization_id, "demote")
            await uow.memberships.set_role(principal.organization_id, user_id, role)
            changed = await self._record(
                uow, EventName.MEMBER_ROLE_CHANGED, principal, user_id=str(user_id), role=role.value
            )
        await self.ctx.dispatch(changed)
        return current.model_copy(update={"role": role})

    async def remove_member(self, principal: Principal, user_id: UUID) -> None:
        """Remove a member (admins; or a member leaving); the last admin can not be removed."""
        user_id = as_uuid(user_id, "user_id")
        # Leaving is a person's own choice: an API key (which acts as its creator) never leaves.
        if user_id != principal.user_id or principal.kind is not PrincipalKind.USER:
            authorize(principal, Permission.MEMBERS_MANAGE)
        async with self.ctx.store.unit_of_work(principal) as uow:
            current = await self._member(uow, principal.organization_id, user_id)
            if current.role is Role.ADMIN:
                await self._keep_an_admin(uow, principal.organization_id, "remove")
            # Recorded before the removal: on PostgreSQL a member records its organization's
            # events (row-level security), and one leaving is a member until the delete.
            removed = await self._record(
                uow, EventName.MEMBER_REMOVED, principal, user_id=str(user_id)
            )
            await uow.memberships.remove(principal.organization_id, user_id)
        await self.ctx.dispatch(removed)

    @staticmethod
    async def _member(uow: UnitOfWork, organization_id: UUID, user_id: UUID) -> Membership:
        membership = await uow.memberships.get(organization_id, user_id)
        if membership is None:
            raise NotFound(f"user {user_id} is not a member")
        return membership

    @staticmethod
    async def _keep_an_admin(uow: UnitOfWork, organization_id: UUID, action: str) -> None:
        admins = await uow.memberships.lock_admins(organization_id)
        if admins <= 1:
            raise Conflict(f"can not {action} the last admin; make another member admin first")

    async def _record(
        self, uow: UnitOfWork, name: str, principal: Principal, **payload: str
    ) -> DomainEvent:
        return await self.ctx.record(
            uow, DomainEvent(name=name, organization_id=principal.organization_id, payload=payload)
        )
