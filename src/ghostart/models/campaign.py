"""Advocacy campaigns: one brief from a brand creator, and every participant's own variant of it.

A variant is an ordinary :class:`~ghostart.models.Post` of its participant (``campaign_id`` set),
drafted from :meth:`CampaignBrief.request_for`: the brief plus the participant's
:class:`~ghostart.models.AuthorContext`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import Field

from ghostart.models.base import DomainModel, Text, new_id, utcnow
from ghostart.models.content import (
    AuthorContext,
    ContentRequest,
    LanguageTag,
    Link,
    PostFormat,
    PostLength,
    PostStatus,
)

__all__ = ["Campaign", "CampaignBrief", "CampaignVariant", "SkipReason", "SkippedParticipant"]


class CampaignBrief(DomainModel):
    """What a brand creator or admin sets when starting a campaign."""

    name: Text = Field(min_length=1, max_length=200)
    #: What every variant is about, in the creator's words.
    message: Text = Field(min_length=3, max_length=500)
    #: A URL every variant carries exactly as given.
    link: Link | None = None
    #: What the campaign should achieve ("sign-ups for the webinar").
    goal: Text | None = Field(default=None, max_length=300)
    call_to_action: Text | None = Field(default=None, max_length=200)
    format: PostFormat = PostFormat.ANNOUNCEMENT
    length: PostLength = PostLength.MEDIUM
    language: LanguageTag = "en"
    #: ``None``: the organization's first brand voice, resolved when the campaign starts.
    brand_voice_id: UUID | None = None

    def request_for(self, author: AuthorContext, *, campaign_id: UUID) -> ContentRequest:
        """The content request of ``author``'s variant."""
        return ContentRequest(
            topic=self.message,
            format=self.format,
            length=self.length,
            call_to_action=self.call_to_action,
            language=self.language,
            brand_voice_id=self.brand_voice_id,
            goal=self.goal,
            link=self.link,
            author=author,
            campaign_id=campaign_id,
        )


class Campaign(CampaignBrief):
    """A stored campaign; its variants are the posts that name it."""

    id: UUID = Field(default_factory=new_id)
    organization_id: UUID
    #: Who started it (``None`` once that user is deleted).
    created_by: UUID | None = None
    created_at: datetime = Field(default_factory=utcnow)


class CampaignVariant(DomainModel):
    """One participant's variant, as the campaign shows it."""

    user_id: UUID
    post_id: UUID
    variant: int
    status: PostStatus
    published_at: datetime | None = None
    external_url: str | None = None
    error: str | None = None


class SkipReason(StrEnum):
    """Why a member chosen for a campaign got no variant."""

    #: The member turned campaigns off in their profile.
    OPTED_OUT = "opted_out"


class SkippedParticipant(DomainModel):
    """A member left out of a campaign, and why."""

    user_id: UUID
    reason: SkipReason
