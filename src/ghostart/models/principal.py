"""Who is acting, and what they may be allowed to do: every service call runs for a principal."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from ghostart.models.base import DomainModel
from ghostart.models.organization import Role

__all__ = ["Permission", "Principal", "PrincipalKind"]


class Permission(StrEnum):
    """Everything a role may be allowed to do; which role holds which is in :mod:`ghostart.rbac`.

    Defined here rather than in ``rbac`` so that models (a principal's or an API key's scopes)
    can name permissions without importing the permission table.
    """

    ORG_READ = "org.read"
    ORG_MANAGE = "org.manage"
    MEMBERS_READ = "members.read"
    MEMBERS_MANAGE = "members.manage"
    BILLING_MANAGE = "billing.manage"
    API_KEYS_MANAGE = "api_keys.manage"
    BRAND_VOICE_READ = "brand_voice.read"
    BRAND_VOICE_MANAGE = "brand_voice.manage"
    POST_CREATE = "post.create"
    POST_READ_OWN = "post.read_own"
    POST_READ_ANY = "post.read_any"
    POST_EDIT_OWN = "post.edit_own"
    POST_EDIT_ANY = "post.edit_any"
    POST_SUBMIT_OWN = "post.submit_own"
    POST_SUBMIT_ANY = "post.submit_any"
    POST_REVIEW = "post.review"
    POST_PUBLISH_OWN = "post.publish_own"
    POST_PUBLISH_ANY = "post.publish_any"
    USAGE_READ = "usage.read"
    CAMPAIGN_READ = "campaign.read"
    CAMPAIGN_MANAGE = "campaign.manage"


class PrincipalKind(StrEnum):
    """A person signed in, or an API key acting for an organization."""

    USER = "user"
    API_KEY = "api_key"


class Principal(DomainModel):
    """A user (or API key) acting in one organization with one role.

    ``scopes``, when set, narrows the role: only the role's permissions that are also in
    ``scopes`` are granted (an API key's principal carries its key's scopes). ``None`` means the
    role's permissions in full.
    """

    user_id: UUID
    organization_id: UUID
    role: Role
    kind: PrincipalKind = PrincipalKind.USER
    scopes: frozenset[Permission] | None = None
