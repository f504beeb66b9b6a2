"""Domain events, fanned out to every plugin that implements ``ghostart_handle_event``."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import Field

from ghostart.models.base import DomainModel, new_id, utcnow

__all__ = ["DomainEvent", "EventName"]


class EventName:
    """The event names ghostart emits (plugins may emit their own, dotted the same way)."""

    CONTENT_GENERATED = "content.generated"
    CONTENT_FAILED = "content.failed"
    POST_SUBMITTED = "post.submitted"
    POST_APPROVED = "post.approved"
    POST_REJECTED = "post.rejected"
    POST_SCHEDULED = "post.scheduled"
    POST_PUBLISHED = "post.published"
    POST_FAILED = "post.failed"
    MEMBER_ADDED = "member.added"
    MEMBER_REMOVED = "member.removed"
    MEMBER_ROLE_CHANGED = "member.role_changed"
    USER_PROFILE_UPDATED = "user.profile_updated"
    USER_EMAIL_PREFERENCES_CHANGED = "user.email_preferences_changed"
    BILLING_PLAN_CHANGED = "billing.plan_changed"
    BILLING_PAYMENT_FAILED = "billing.payment_failed"
    BILLING_TRIAL_ENDING = "billing.trial_ending"
    LINKEDIN_CONNECTED = "linkedin.connection.connected"
    LINKEDIN_NEEDS_RECONNECT = "linkedin.connection.needs_reconnect"
    LINKEDIN_EXPIRING = "linkedin.connection.expiring"
    CAMPAIGN_CREATED = "campaign.created"


class DomainEvent(DomainModel):
    """Something that happened; ``payload`` holds ids and small facts, never secrets."""

    id: UUID = Field(default_factory=new_id)
    name: str = Field(pattern=r"^[a-z_]+(\.[a-z_]+)+$")
    organization_id: UUID | None = None
    payload: dict[str, Any] = Field(default_factory=dict)
    occurred_at: datetime = Field(default_factory=utcnow)
