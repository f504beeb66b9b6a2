"""Jobs: the transactional outbox. A job row is written with the change that caused it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import Field

from ghostart.models.base import DomainModel, new_id, utcnow
from ghostart.observability.correlation import current_request_id

__all__ = ["Job", "JobKind", "JobStatus"]


class JobKind(StrEnum):
    """What a job does; the worker has one handler per kind."""

    GENERATE = "generate"
    PUBLISH = "publish"
    EMAIL = "email"
    #: Fold a billing provider's webhook event into its organization's state (subject: a UUID
    #: derived from the event id, which the payload holds).
    BILLING_EVENT = "billing_event"
    #: Report a succeeded generation to a metered plan's meter (subject: the generation).
    REPORT_USAGE = "report_usage"


class JobStatus(StrEnum):
    """A job's state; a worker moves ``queued -> running`` by compare-and-set."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Job(DomainModel):
    """One unit of work. The queue carries only ``id``; this row is the truth."""

    id: UUID = Field(default_factory=new_id)
    kind: JobKind
    organization_id: UUID | None = None
    #: The row the job acts on (a generation, a post, an email).
    subject_id: UUID
    payload: dict[str, Any] = Field(default_factory=dict)
    status: JobStatus = JobStatus.QUEUED
    run_at: datetime = Field(default_factory=utcnow)
    lease_owner: str | None = None
    lease_until: datetime | None = None
    attempts: int = 0
    max_attempts: int = 5
    last_error: str | None = None
    #: Derived from the row; every side effect of the job carries it.
    idempotency_key: str
    enqueued_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    #: The request that caused the job, when one did (bound by the web layer): the worker's log
    #: lines carry it, so that they correlate with the API's.
    request_id: str | None = Field(default_factory=current_request_id, max_length=64)
