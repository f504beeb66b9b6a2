"""Content requests, generations and posts with their lifecycle."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlsplit
from uuid import UUID

from pydantic import AfterValidator, Field, StringConstraints, field_validator
from pydantic.json_schema import SkipJsonSchema

from ghostart.models.base import DomainModel, Text, new_id, utcnow

__all__ = [
    "LINKEDIN_MAX_CHARS",
    "AuthorContext",
    "ContentRequest",
    "Draft",
    "Generation",
    "GenerationStatus",
    "LanguageTag",
    "Link",
    "MonthlyUsage",
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


def _language_tag(value: str) -> str:
    if not _LANGUAGE.match(value):
        raise ValueError("must be a language tag such as 'en' or 'pt-BR'")
    return value


#: A BCP 47 language tag such as ``en`` or ``pt-BR``.
LanguageTag = Annotated[
    str, StringConstraints(min_length=2, max_length=20), AfterValidator(_language_tag)
]


def _web_link(value: str) -> str:
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(c.isspace() for c in value)
    ):
        raise ValueError("must be an http:// or https:// URL without spaces")
    return value


#: A URL a post must carry exactly as given (http or https, no spaces; not normalised).
Link = Annotated[
    Text, StringConstraints(strip_whitespace=True, max_length=500), AfterValidator(_web_link)
]
PastPost = Annotated[Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=600)]


def _folded(text: str | None) -> str | None:
    return " ".join(text.split()).casefold() if text else None


class AuthorContext(DomainModel):
    """Whose post a draft is: the member's profile and recent posts give it their own angle.

    ghostart fills it in (campaigns do, from the member's profile); it is part of the request's
    fingerprint, so two members never share a generation or a cached draft.
    """

    user_id: UUID
    name: Text | None = Field(default=None, max_length=200)
    #: The member's role in their own words ("Staff engineer, payments").
    headline: Text | None = Field(default=None, max_length=200)
    about: Text | None = Field(default=None, max_length=1000)
    #: The member's latest published posts, newest first, each cut to 600 characters.
    past_posts: tuple[PastPost, ...] = Field(default=(), max_length=3)
    #: This member's number among the colleagues drafting the same request (0, 1, 2, ...).
    variant: int = Field(default=0, ge=0, le=100_000)

    def normalised(self) -> dict[str, Any]:
        """The fields that decide the draft, in a canonical form."""
        return {
            "user_id": str(self.user_id),
            "name": _folded(self.name),
            "headline": _folded(self.headline),
            "about": _folded(self.about),
            "past_posts": [_folded(post) for post in self.past_posts],
            "variant": self.variant,
        }


class ContentRequest(DomainModel):
    """What a member asks for. Bounded so that a request can never blow up a prompt or a row."""

    topic: Text = Field(min_length=3, max_length=500)
    format: PostFormat = PostFormat.INSIGHT
    length: PostLength = PostLength.MEDIUM
    call_to_action: Text | None = Field(default=None, max_length=200)
    language: LanguageTag = "en"
    #: The brand voice to write in; ``None`` means the organization's first voice.
    brand_voice_id: UUID | None = None
    #: What the post should achieve ("sign-ups for the webinar").
    goal: Text | None = Field(default=None, max_length=300)
    #: A URL the post must include exactly as given.
    link: Link | None = None
    #: Whose post it is (set by ghostart for campaign variants, never taken from a client).
    author: SkipJsonSchema[AuthorContext | None] = None
    #: The campaign this is a variant of (set by ghostart, never taken from a client).
    campaign_id: SkipJsonSchema[UUID | None] = None

    @field_validator("call_to_action", "goal", "link")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    def normalised(self) -> dict[str, Any]:
        """The fields that decide the draft, in a canonical form (for single-flight and caching).

        The optional fields appear only when set, so a request without them keeps the
        fingerprint (and the offline draft) it had before they existed.
        """
        data: dict[str, Any] = {
            "topic": _folded(self.topic),
            "format": self.format.value,
            "length": self.length.value,
            "call_to_action": _folded(self.call_to_action),
            "language": self.language.casefold(),
        }
        if self.goal:
            data["goal"] = _folded(self.goal)
        if self.link:
            data["link"] = self.link  # a URL's path is case-sensitive: kept as given
        if self.author is not None:
            data["author"] = self.author.normalised()
        if self.campaign_id is not None:
            data["campaign_id"] = str(self.campaign_id)
        return data


class Usage(DomainModel):
    """What one generation cost."""

    prompt_tokens: int = Field(default=0, ge=0)
    completion_tokens: int = Field(default=0, ge=0)
    cost_usd: Decimal = Field(default=Decimal("0"), ge=0)


class MonthlyUsage(Usage):
    """The usage ledger of one calendar month (UTC): the generations that succeeded in it."""

    #: ``YYYY-MM``.
    month: str = Field(pattern=r"^\d{4}-\d{2}$")
    generations: int = Field(default=0, ge=0)


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
    #: The campaign this post is a variant of, if any (fixed at creation).
    campaign_id: UUID | None = None
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
