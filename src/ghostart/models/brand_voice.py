"""Brand voices: how an organization sounds, versioned on every edit."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import Field, StringConstraints

from ghostart.models.base import DomainModel, Text, new_id, utcnow

__all__ = ["BrandVoice", "BrandVoiceSpec"]

ShortText = Annotated[Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
ExamplePost = Annotated[
    Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=3000)
]


class BrandVoiceSpec(DomainModel):
    """What an editor sets on a brand voice."""

    name: Text = Field(min_length=1, max_length=120)
    tone: Text = Field(default="clear, warm and confident", min_length=1, max_length=300)
    audience: Text = Field(default="professionals on LinkedIn", min_length=1, max_length=300)
    topics: list[ShortText] = Field(default_factory=list, max_length=30)
    example_posts: list[ExamplePost] = Field(default_factory=list, max_length=10)
    words_to_avoid: list[ShortText] = Field(default_factory=list, max_length=100)
    #: Emoji are allowed in drafts.
    emoji: bool = False
    #: Hashtags to end posts with (without the #).
    hashtags: list[ShortText] = Field(default_factory=list, max_length=10)


class BrandVoice(BrandVoiceSpec):
    """A stored brand voice. ``version`` changes on every edit, so caches keyed on it go stale."""

    id: UUID = Field(default_factory=new_id)
    organization_id: UUID
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    def spec(self) -> BrandVoiceSpec:
        """The editable part alone."""
        return BrandVoiceSpec.model_validate(
            self.model_dump(include=set(BrandVoiceSpec.model_fields))
        )
