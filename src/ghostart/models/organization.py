"""Organizations, users and the memberships that give users a role in an organization."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, ConfigDict, EmailStr, Field, model_validator

from ghostart.models.base import DomainModel, Text, new_id, utcnow

__all__ = [
    "EmailCategory",
    "EmailPreferences",
    "Membership",
    "Organization",
    "OrganizationSettings",
    "Role",
    "TimeZoneName",
    "User",
]


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r}; use an IANA name such as 'Europe/Paris'"
        ) from None
    return value


#: An IANA time zone name (``Europe/Paris``), checked against the zone database.
TimeZoneName = Annotated[str, Field(max_length=64), AfterValidator(_known_zone)]


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
    timezone: TimeZoneName = "UTC"


class Organization(DomainModel):
    """A tenant: everything else belongs to exactly one organization."""

    id: UUID = Field(default_factory=new_id)
    name: Text = Field(min_length=1, max_length=200)
    settings: OrganizationSettings = Field(default_factory=OrganizationSettings)
    created_at: datetime = Field(default_factory=utcnow)


class EmailCategory(StrEnum):
    """What an email is about, which decides whether a user may opt out of it."""

    #: Sign-in, security, billing and membership mail: always sent, not a preference.
    TRANSACTIONAL = "transactional"
    #: A draft is ready for review; a post was approved, rejected, published or failed to publish.
    NOTIFICATIONS = "notifications"
    #: The weekly digest.
    DIGEST = "digest"


class EmailPreferences(DomainModel):
    """Which optional email categories a user receives; one field per optional category.

    Stored as JSON on the user. Loading is tolerant: keys this version does not know (written by
    a newer one) are kept and written back unchanged, so an older process saving a preference
    never resets a newer category's opt-out. ``transactional`` is never stored.
    """

    model_config = ConfigDict(frozen=True, extra="allow", str_strip_whitespace=True)

    notifications: bool = True
    digest: bool = True

    @model_validator(mode="before")
    @classmethod
    def _not_transactional(cls, data: Any) -> Any:
        if isinstance(data, dict) and EmailCategory.TRANSACTIONAL.value in data:
            data = {k: v for k, v in data.items() if k != EmailCategory.TRANSACTIONAL.value}
        return data

    def allows(self, category: EmailCategory | str) -> bool:
        """May mail of ``category`` be sent? Transactional mail always may.

        Raises:
            ValueError: ``category`` is not an :class:`EmailCategory`.
        """
        category = EmailCategory(category)
        if category is EmailCategory.TRANSACTIONAL:
            return True
        allowed: bool = getattr(self, category.value)
        return allowed


class User(DomainModel):
    """A person who can sign in; identity comes from the auth provider (``auth.users``)."""

    id: UUID = Field(default_factory=new_id)
    email: EmailStr | None = None
    name: Text | None = Field(default=None, max_length=200)
    #: IANA time zone the user reads times in (emails, schedules).
    timezone: TimeZoneName = "UTC"
    email_preferences: EmailPreferences = Field(default_factory=EmailPreferences)
    #: Their role in their own words ("Staff engineer, payments"): a campaign variant's angle.
    headline: Text | None = Field(default=None, max_length=200)
    #: A few sentences about their work, for the same purpose.
    about: Text | None = Field(default=None, max_length=1000)
    #: Takes part in advocacy campaigns (gets a variant to post); ``False`` opts out of all.
    joins_campaigns: bool = True
    created_at: datetime = Field(default_factory=utcnow)


class Membership(DomainModel):
    """A user's role in one organization (table ``user_organizations``)."""

    user_id: UUID
    organization_id: UUID
    role: Role
    created_at: datetime = Field(default_factory=utcnow)
