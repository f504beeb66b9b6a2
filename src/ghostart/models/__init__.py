"""Pydantic domain models."""

from ghostart.models.base import DomainModel, as_uuid, new_id, utcnow
from ghostart.models.billing import Plan
from ghostart.models.brand_voice import BrandVoice, BrandVoiceSpec
from ghostart.models.content import (
    LINKEDIN_MAX_CHARS,
    ContentRequest,
    Draft,
    Generation,
    GenerationStatus,
    Post,
    PostFormat,
    PostLength,
    PostStatus,
    Usage,
    allowed_transitions,
)
from ghostart.models.events import DomainEvent, EventName
from ghostart.models.job import Job, JobKind, JobStatus
from ghostart.models.organization import Membership, Organization, OrganizationSettings, Role, User
from ghostart.models.principal import Principal, PrincipalKind

__all__ = [
    "LINKEDIN_MAX_CHARS",
    "BrandVoice",
    "BrandVoiceSpec",
    "ContentRequest",
    "DomainEvent",
    "DomainModel",
    "Draft",
    "EventName",
    "Generation",
    "GenerationStatus",
    "Job",
    "JobKind",
    "JobStatus",
    "Membership",
    "Organization",
    "OrganizationSettings",
    "Plan",
    "Post",
    "PostFormat",
    "PostLength",
    "PostStatus",
    "Principal",
    "PrincipalKind",
    "Role",
    "Usage",
    "User",
    "allowed_transitions",
    "as_uuid",
    "new_id",
    "utcnow",
]
