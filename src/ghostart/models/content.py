"""Content requests, generations and posts with their lifecycle."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from pydantic import Field, field_validator

from ghostart.models.base import DomainModel, Text, new_id, utcnow

__all__ = [
    "LINKEDIN_MAX_CHARS",
    "ContentRequest",
    "Draft",
    "Generation",
    "GenerationStatus",
    "Post",
    "PostFormat",
    "PostLength",
    "PostStatus",
    "Usage",
    "allowed_transitions",
]

#: LinkedIn's limit for a post's commentary.
LINKEDIN_MAX_CHARS = 3000


class PostFormat(StrEnum):
    """The shape of a post."""

    INSIGHT = "insight"
    STORY = "story"
    LIST = "list"
    QUESTION = "question"
    ANNOUNCEMENT = "announcement"


class PostLength(StrEnum):
    """Target length; :attr:`chars` gives the target character count."""

    SHORT = "short"
    MEDIUM = "medium"
    LONG = "long"

    @property
    def chars(self) -> tuple[int, int]:
        """Inclusive lower and upper bound of the body length, in characters."""
        return {"short": (150, 450), "medium": (450, 1100), "long": (1100, 2200)}[self.value]


_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


class ContentRequest(DomainModel):
    """What a member asks for. Bounded so that a request can never blow up a prompt or a row."""

    topic: Text = Field(min_length=3, max_length=500)
    format: PostFormat = PostFormat.INSIGHT
    length: PostLength = PostLength.MEDIUM
    call_to_action: Text | None = Field(default=None, max_length=200)
    language: str = Field(default="en", min_length=2, max_length=20)
    #: The brand voice to write in; ``None`` means the organization's first voice.
    brand_voice_id: UUID | None = None

    @field_validator("language")
    @classmethod
    def _language_tag(cls, value: str) -> str:
        if not _LANGUAGE.match(value):
            raise ValueError("must be a language tag such as 'en' or 'pt-BR'")
        return value

    @field_validator("call_to_action")
    @classmethod
    def _empty_cta_is_none(cls, value: str | None) -> str | None:
        return value or None

    def normalised(self) -> dict[str, str | None]:
        """The fields that decide the draft, in a canonical form (for single-flight and caching)."""
        return {
            "topic": " ".join(self.topic.split()).casefold(),
            "format": self.format.value,
            "length": self.length.value,
            "call_to_action": " ".join(self.call_to_action.split()).casefold()
            if self.call_to_action
            else None,
            "language": self.language.casefold(),
        }


class Usage(DomainModel):
    """What one generation cost."""

    prompt_tokens: int = Field(default=0, ge=0)
    completion_tokens: int = Field(default=0, ge=0)
    cost_usd: Decimal = Field(default=Decimal("0"), ge=0)


class Draft(DomainModel):
    """A generator's answer."""

    body: Text = Field(min_length=1, max_length=LINKEDIN_MAX_CHARS)
    model: str = Field(min_length=1, max_length=200)
    usage: Usage = Field(default_factory=Usage)
    #: True when a language model wrote it; the offline generator says False.
    ai_generated: bool = True
    #: A note for the reader about where the draft came from.
    notice: str | None = None


class GenerationStatus(StrEnum):
    """A generation's state; at most one per fingerprint is pending or running."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Generation(DomainModel):
    """One call to the generator, shared by every post that asked the same thing at once."""

    id: UUID = Field(default_factory=new_id)
    organization_id: UUID
    fingerprint: str
    brand_voice_id: UUID
    brand_voice_version: int
    request: ContentRequest
    model: str
    status: GenerationStatus = GenerationStatus.PENDING
    body: str | None = None
    ai_generated: bool | None = None
    notice: str | None = None
    usage: Usage = Field(default_factory=Usage)
    error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


class PostStatus(StrEnum):
    """A post's lifecycle::

    requested -> generating -> draft -> in_review -> approved -> scheduled -> publishing -> published
    plus rejected (by a reviewer, or straight from generating when the provider refused the
    content; back to draft by an edit) and failed.
    """

    REQUESTED = "requested"
    GENERATING = "generating"
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    SCHEDULED = "scheduled"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    FAILED = "failed"


_S = PostStatus
_TRANSITIONS: dict[PostStatus, frozenset[PostStatus]] = {
    _S.REQUESTED: frozenset({_S.GENERATING, _S.DRAFT, _S.FAILED, _S.REJECTED}),
    _S.GENERATING: frozenset({_S.DRAFT, _S.FAILED, _S.REQUESTED, _S.REJECTED}),
    _S.DRAFT: frozenset({_S.DRAFT, _S.IN_REVIEW, _S.APPROVED}),
    _S.IN_REVIEW: frozenset({_S.APPROVED, _S.REJECTED, _S.DRAFT}),
    _S.REJECTED: frozenset({_S.DRAFT}),
    _S.APPROVED: frozenset({_S.DRAFT, _S.SCHEDULED, _S.PUBLISHING}),
    _S.SCHEDULED: frozenset({_S.APPROVED, _S.PUBLISHING, _S.DRAFT}),
    _S.PUBLISHING: frozenset({_S.PUBLISHED, _S.FAILED}),
    _S.PUBLISHED: frozenset(),
    _S.FAILED: frozenset({_S.DRAFT, _S.REQUESTED}),
}


def allowed_transitions(status: PostStatus) -> frozenset[PostStatus]:
    """The states a post in ``status`` may move to."""
    return _TRANSITIONS[status]


class Post(DomainModel):
    """A LinkedIn post owned by its author, from request to publication."""

    id: UUID = Field(default_factory=new_id)
    organization_id: UUID
    author_id: UUID
    brand_voice_id: UUID | None = None
    generation_id: UUID | None = None
    request: ContentRequest | None = None
    body: Text | None = Field(default=None, max_length=LINKEDIN_MAX_CHARS)
    status: PostStatus = PostStatus.REQUESTED
    from_cache: bool = False
    ai_generated: bool | None = None
    notice: str | None = None
    review_note: Text | None = Field(default=None, max_length=1000)
    reviewed_by: UUID | None = None
    scheduled_at: datetime | None = None
    published_at: datetime | None = None
    external_id: str | None = None
    external_url: str | None = None
    error: str | None = None
    #: Optimistic-concurrency counter: bumped on every change.
    revision: int = 1
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
