"""Publisher port."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable
from uuid import UUID

from pydantic import Field

from ghostart.models import LINKEDIN_MAX_CHARS, DomainModel

__all__ = ["Publication", "PublishRequest", "Publisher"]


class PublishRequest(DomainModel):
    """A post to put on the network, with a key derived from the post row."""

    post_id: UUID
    organization_id: UUID
    author_id: UUID
    body: str = Field(min_length=1, max_length=LINKEDIN_MAX_CHARS)
    idempotency_key: str = Field(min_length=1, max_length=255)
    #: The publishing attempt (``post:{id}:r{revision}``, recorded with the post's move to
    #: ``publishing``) and when it started: ``find`` ignores posts made before it.
    attempt_id: str | None = Field(default=None, max_length=255)
    attempt_started_at: datetime | None = None


class Publication(DomainModel):
    """Where the post now lives."""

    external_id: str
    url: str | None = None
    published_at: datetime


@runtime_checkable
class Publisher(Protocol):
    """Publishes posts.

    Guarantees: ``publish`` either publishes once and returns where, or raises from the provider
    taxonomy. After an ambiguous failure (a timeout), ``find`` answers whether the request was in
    fact published, so that the worker never publishes twice.
    """

    async def publish(self, request: PublishRequest) -> Publication:
        """Publish the post."""
        ...

    async def find(self, request: PublishRequest) -> Publication | None:
        """The publication of an earlier attempt of ``request``, if it happened."""
        ...
