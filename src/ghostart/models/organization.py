"""Organizations, users and the memberships that give users a role in an organization."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import EmailStr, Field, field_validator

from ghostart.models.base import DomainModel, new_id, utcnow

__all__ = ["Membership", "Organization", "OrganizationSettings", "Role", "User"]


class Role(StrEnum):
    """A member's role; what each may do is in :mod:`ghostart.rbac`."""

    ADMIN = "admin"
    BRAND_CREATOR = "brand_creator"
    EMPLOYEE = "employee"


class OrganizationSettings(DomainModel):
    """Per-organization switches, stored as JSON on the organization."""

    #: Employees' posts must be approved by a brand creator or admin before publishing.
    employee_posts_need_approval: bool = True
    #: IANA time zone used to display schedules.
    timezone: str = Field(default="UTC", max_length=64)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as 'Europe/Paris'"
            ) from None
        return value


class Organization(DomainModel):
    """A tenant: everything else belongs to exactly one organization."""

    id: UUID = Field(default_factory=new_id)
    name: str = Field(min_length=1, max_length=200)
    settings: OrganizationSettings = Field(default_factory=OrganizationSettings)
    created_at: datetime = Field(default_factory=utcnow)


class User(DomainModel):
    """A person who can sign in; identity comes from the auth provider (``auth.users``)."""

    id: UUID = Field(default_factory=new_id)
    email: EmailStr | None = None
    name: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow)


class Membership(DomainModel):
    """A user's role in one organization (table ``user_organizations``)."""

    user_id: UUID
    organization_id: UUID
    role: Role
    created_at: datetime = Field(default_factory=utcnow)
