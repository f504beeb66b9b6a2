"""What the HTTP API returns: explicit allow-lists of fields, never a domain model as is.

A field reaches a response only if it is named here, so a hash, a ciphertext or a token added
to a domain model later can not leak by accident (a test checks every response against these).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from ghostart.models import (
    BrandVoice,
    EmailCategory,
    EmailPreferences,
    Membership,
    Organization,
    Post,
    User,
)

__all__ = [
    "BrandVoiceOut",
    "EmailPreferencesOut",
    "MemberOut",
    "OrganizationOut",
    "Page",
    "PostOut",
    "UserOut",
]


class Out(BaseModel):
    """Base of every response body."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class UserOut(Out):
    id: UUID
    email: str | None
    name: str | None
    timezone: str = Field(description="IANA time zone, e.g. Europe/Paris")
    headline: str | None = Field(description="their role in their own words")
    about: str | None
    joins_campaigns: bool = Field(description="gets a variant of advocacy campaigns to post")

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            email=str(user.email) if user.email else None,
            name=user.name,
            timezone=user.timezone,
            headline=user.headline,
            about=user.about,
            joins_campaigns=user.joins_campaigns,
        )


class EmailPreferencesOut(Out):
    """Every email category and whether the user gets it."""

    transactional: bool = Field(
        description="sign-in, security, billing and membership mail: always sent, not changeable"
    )
    notifications: bool = Field(
        description="a draft is ready for review; a post was approved, rejected, published or "
        "failed to publish"
    )
    digest: bool = Field(description="the weekly digest")

    @classmethod
    def of(cls, preferences: EmailPreferences) -> EmailPreferencesOut:
        return cls.model_validate({c.value: preferences.allows(c) for c in EmailCategory})


class OrganizationOut(Out):
    id: UUID
    name: str
    settings: dict[str, Any]
    created_at: datetime
    role: str | None = Field(default=None, description="the caller's role here")

    @classmethod
    def of(cls, org: Organization, role: str | None = None) -> OrganizationOut:
        return cls(
            id=org.id,
            name=org.name,
            settings=org.settings.model_dump(mode="json"),
            created_at=org.created_at,
            role=role,
        )


class MemberOut(Out):
    user_id: UUID
    role: str

    @classmethod
    def of(cls, membership: Membership) -> MemberOut:
        return cls(user_id=membership.user_id, role=membership.role.value)


class BrandVoiceOut(Out):
    id: UUID
    name: str
    tone: str
    audience: str
    topics: list[str]
    example_posts: list[str]
    words_to_avoid: list[str]
    emoji: bool
    hashtags: list[str]
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, voice: BrandVoice) -> BrandVoiceOut:
        return cls.model_validate(voice.model_dump(include=set(cls.model_fields)))


class PostOut(Out):
    id: UUID
    author_id: UUID
    brand_voice_id: UUID | None
    campaign_id: UUID | None = Field(description="the campaign this post is a variant of")
    status: str
    body: str | None
    request: dict[str, Any] | None
    from_cache: bool
    ai_generated: bool | None
    notice: str | None
    review_note: str | None
    reviewed_by: UUID | None
    scheduled_at: datetime | None
    published_at: datetime | None
    external_url: str | None
    error: str | None
    revision: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, post: Post) -> PostOut:
        data = post.model_dump(mode="json", include=set(cls.model_fields))
        return cls.model_validate(data)


class Page(Out):
    """A page of a list; pass ``next_cursor`` as ``cursor`` for the next one."""

    items: list[Any]
    next_cursor: str | None = None
