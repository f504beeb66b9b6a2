"""Who is acting: every service call runs for a principal."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from ghostart.models.base import DomainModel
from ghostart.models.organization import Role

__all__ = ["Principal", "PrincipalKind"]


class PrincipalKind(StrEnum):
    """A person signed in, or an API key acting for an organization."""

    USER = "user"
    API_KEY = "api_key"


class Principal(DomainModel):
    """A user (or API key) acting in one organization with one role."""

    user_id: UUID
    organization_id: UUID
    role: Role
    kind: PrincipalKind = PrincipalKind.USER
