"""Pydantic domain models."""

from ghostart.models.api_key import API_KEY_PREFIX, ApiKey, api_key_lookup_prefix, generate_api_key
from ghostart.models.base import DomainModel, as_uuid, new_id, utcnow
from ghostart.models.billing import Plan
from ghostart.models.brand_voice import BrandVoice, BrandVoiceSpec
from ghostart.models.campaign import (
    Campaign,
    CampaignBrief,
    CampaignVariant,
    SkippedParticipant,
    SkipReason,
)
from ghostart.models.content import (
    LINKEDIN_MAX_CHARS,
    AuthorContext,
    ContentRequest,
    Draft,
    Generation,
    GenerationStatus,
    LanguageTag,
    Link,
    MonthlyUsage,
    Post,
    PostFormat,
    PostLength,
    PostStatus,
    Usage,
    allowed_transitions,
)
from ghostart.models.events import DomainEvent, EventName
from ghostart.models.job import Job, JobKind, JobStatus
from ghostart.models.organization import (
    EmailCategory,
    EmailPreferences,
    Membership,
    Organization,
    OrganizationSettings,
    Role,
    TimeZoneName,
    User,
)
from ghostart.models.principal import Permission, Principal, PrincipalKind

__all__ = [
    "API_KEY_PREFIX",
    "LINKEDIN_MAX_CHARS",
    "ApiKey",
    "AuthorContext",
    "BrandVoice",
    "BrandVoiceSpec",
    "Campaign",
    "CampaignBrief",
    "CampaignVariant",
    "ContentRequest",
    "DomainEvent",
    "DomainModel",
    "Draft",
    "EmailCategory",
    "EmailPreferences",
    "EventName",
    "Generation",
    "GenerationStatus",
    "Job",
    "JobKind",
    "JobStatus",
    "LanguageTag",
    "Link",
    "Membership",
    "MonthlyUsage",
    "Organization",
    "OrganizationSettings",
    "Permission",
    "Plan",
    "Post",
    "PostFormat",
    "PostLength",
    "PostStatus",
    "Principal",
    "PrincipalKind",
    "Role",
    "SkipReason",
    "SkippedParticipant",
    "TimeZoneName",
    "Usage",
    "User",
    "allowed_transitions",
    "api_key_lookup_prefix",
    "as_uuid",
    "generate_api_key",
    "new_id",
    "utcnow",
]
