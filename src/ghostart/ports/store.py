"""Store port: a unit of work over repositories.

Every repository method that reads or writes tenant rows takes the ``organization_id`` and scopes
to it; a row of another organization is simply not found. SQL adapters add row-level security on
top, from the ``actor`` the unit of work was opened for.
"""

from __future__ import annotations

import builtins
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol, runtime_checkable
from uuid import UUID

from ghostart.models import (
    ApiKey,
    BrandVoice,
    Campaign,
    Generation,
    Job,
    Membership,
    MonthlyUsage,
    Organization,
    OrganizationSettings,
    Post,
    PostStatus,
    Principal,
    Role,
    Usage,
    User,
)
from ghostart.ports.analytics import AnalyticsRepository
from ghostart.ports.billing import BillingRepository
from ghostart.ports.email import EmailRepository
from ghostart.ports.events import DomainEventRepository
from ghostart.ports.linkedin import LinkedInConnectionRepository, OAuthStateRepository

__all__ = [
    "ApiKeyRepository",
    "BrandVoiceRepository",
    "CampaignRepository",
    "GenerationRepository",
    "JobRepository",
    "MembershipRepository",
    "OrganizationRepository",
    "PostRepository",
    "SecretRepository",
    "Store",
    "StoredSecret",
    "UnitOfWork",
    "UsageRepository",
    "UserRepository",
]


class OrganizationRepository(Protocol):
    """Organizations."""

    async def add(self, organization: Organization) -> None: ...
    async def get(self, organization_id: UUID) -> Organization | None: ...
    async def list_for_user(self, user_id: UUID) -> builtins.list[Organization]: ...

    async def lock(self, organization_id: UUID) -> None:
        """Hold the organization's row until the unit of work ends (serialises quota checks)."""
        ...

    async def update_settings(
        self, organization_id: UUID, settings: OrganizationSettings
    ) -> None: ...


class UserRepository(Protocol):
    """Users."""

    async def add(self, user: User) -> None: ...
    async def get(self, user_id: UUID) -> User | None: ...
    async def get_by_email(self, email: str) -> User | None: ...

    async def lock(self, user_id: UUID) -> None:
        """Hold the user's row until the unit of work ends (serialises profile changes)."""
        ...

    async def save_profile(self, user: User) -> bool:
        """Write ``user``'s name, timezone and email preferences; whether the user exists.

        The id, email and created_at are never changed here. The email preferences are written
        whole, keys this version does not know included, and read back equal.
        """
        ...


class MembershipRepository(Protocol):
    """Who belongs to which organization, with which role."""

    async def add(self, membership: Membership) -> None: ...
    async def get(self, organization_id: UUID, user_id: UUID) -> Membership | None: ...
    async def list(self, organization_id: UUID) -> builtins.list[Membership]: ...
    async def set_role(self, organization_id: UUID, user_id: UUID, role: Role) -> None: ...
    async def remove(self, organization_id: UUID, user_id: UUID) -> None: ...

    async def lock_admins(self, organization_id: UUID) -> int:
        """Count the admins, locking them against concurrent change until the unit of work ends."""
        ...


class BrandVoiceRepository(Protocol):
    """Brand voices."""

    async def add(self, voice: BrandVoice) -> None: ...
    async def get(self, organization_id: UUID, voice_id: UUID) -> BrandVoice | None: ...
    async def list(
        self, organization_id: UUID, *, limit: int | None = None
    ) -> builtins.list[BrandVoice]:
        """Oldest first; the first is the organization's default voice."""
        ...

    async def update(self, voice: BrandVoice, *, expected_version: int) -> bool:
        """Write ``voice`` if the stored version is still ``expected_version``."""
        ...

    async def delete(self, organization_id: UUID, voice_id: UUID) -> bool: ...


class GenerationRepository(Protocol):
    """Generations: one generator call, joined by every identical request while it runs."""

    async def add_or_join(self, generation: Generation) -> tuple[Generation, bool]:
        """Insert ``generation`` unless one with its fingerprint is pending or running.

        Returns the generation that now stands for the fingerprint and whether it is the new one.
        """
        ...

    async def get(self, generation_id: UUID) -> Generation | None: ...

    async def start(self, generation_id: UUID) -> Generation | None:
        """Mark a pending (or re-run) generation running and return it; ``None`` if it is done."""
        ...

    async def find_recent(
        self, organization_id: UUID, fingerprint: str, *, since: datetime
    ) -> Generation | None:
        """The newest successful generation of ``fingerprint`` finished after ``since``."""
        ...

    async def count_since(self, organization_id: UUID, since: datetime) -> int:
        """Generations (not failed) created since ``since``: what the quota counts."""
        ...

    async def save(self, generation: Generation) -> None:
        """Write the outcome of ``generation``; the fields fixed at creation never change.

        The outcome: status, body, ai_generated, notice, usage, error, finished_at and model.
        """
        ...


class PostRepository(Protocol):
    """Posts."""

    async def add(self, post: Post) -> None: ...
    async def get(self, organization_id: UUID, post_id: UUID) -> Post | None: ...

    async def list(
        self,
        organization_id: UUID,
        *,
        author_id: UUID | None = None,
        status: PostStatus | None = None,
        limit: int = 50,
        before: tuple[datetime, UUID] | None = None,
    ) -> builtins.list[Post]:
        """Newest first (``created_at``, then ``id``, both descending), at most ``limit``.

        ``before`` is the ``(created_at, id)`` of the last post of the previous page: the page
        continues strictly after it (keyset pagination: stable while posts are added).
        """
        ...

    async def update(self, post: Post, *, expected_revision: int) -> bool:
        """Write ``post`` if its stored revision is still ``expected_revision``."""
        ...

    async def for_generation(self, generation_id: UUID) -> builtins.list[Post]: ...

    async def move_for_generation(
        self,
        generation_id: UUID,
        *,
        from_statuses: tuple[PostStatus, ...],
        changes: dict[str, object],
        now: datetime,
        return_posts: bool = True,
    ) -> builtins.list[Post]:
        """Apply ``changes`` to the generation's posts in ``from_statuses`` (bumping revisions).

        Returns the changed posts, or ``[]`` when ``return_posts`` is false (cheaper).
        """
        ...


class JobRepository(Protocol):
    """The outbox. Claims are compare-and-set, so one job runs in one place at a time."""

    async def add(self, job: Job) -> None: ...
    async def get(self, job_id: UUID) -> Job | None: ...

    async def claim(
        self, job_id: UUID, *, owner: str, now: datetime, lease_until: datetime
    ) -> Job | None:
        """Take a due queued job, or a running one whose lease expired; ``None`` if neither."""
        ...

    async def extend(self, job_id: UUID, *, owner: str, lease_until: datetime) -> bool: ...

    async def finish(
        self,
        job_id: UUID,
        *,
        owner: str,
        status: str,
        now: datetime,
        error: str | None = None,
        run_at: datetime | None = None,
    ) -> bool:
        """End ``owner``'s lease: ``done``, ``failed``, or ``queued`` again at ``run_at``."""
        ...

    async def due(
        self, *, now: datetime, enqueued_before: datetime, limit: int
    ) -> builtins.list[Job]:
        """Queued jobs due by ``now`` not enqueued since ``enqueued_before``, and expired leases."""
        ...

    async def mark_enqueued(self, job_ids: builtins.list[UUID], *, now: datetime) -> None: ...

    async def cancel_for_subject(self, subject_id: UUID, *, now: datetime) -> int:
        """Cancel queued jobs acting on ``subject_id`` (an unscheduled post)."""
        ...

    async def for_subject(self, subject_id: UUID) -> builtins.list[Job]:
        """Every job acting on ``subject_id`` (a generation, a post), oldest first."""
        ...

    async def count_by_status(self) -> dict[str, int]: ...


class UsageRepository(Protocol):
    """The usage ledger: one record per generation that succeeded, for analytics and billing."""

    async def record(
        self, organization_id: UUID, generation_id: UUID, usage: Usage, *, at: datetime
    ) -> None:
        """Record what ``generation_id`` cost, at ``at``; a second record of it is dropped."""
        ...

    async def totals(self, organization_id: UUID, *, since: datetime) -> Usage: ...

    async def monthly(
        self, organization_id: UUID, *, since: datetime, until: datetime
    ) -> builtins.list[MonthlyUsage]:
        """The records from ``since`` (inclusive) to ``until`` (exclusive), summed per month.

        Months are calendar months (UTC) of the records' times, oldest first; months without a
        record are left out.
        """
        ...


class CampaignRepository(Protocol):
    """Campaigns. Their variants are posts naming them (``Post.campaign_id``)."""

    async def add(self, campaign: Campaign) -> None: ...
    async def get(self, organization_id: UUID, campaign_id: UUID) -> Campaign | None: ...

    async def count_since(self, organization_id: UUID, since: datetime) -> int:
        """Campaigns started at or after ``since`` (what the plan's ``campaigns`` limits)."""
        ...

    async def list(
        self,
        organization_id: UUID,
        *,
        limit: int = 50,
        before: tuple[datetime, UUID] | None = None,
    ) -> builtins.list[Campaign]:
        """Newest first (``created_at``, then ``id``), keyset-paginated like posts."""
        ...

    async def variants(
        self, organization_id: UUID, campaign_id: UUID, *, author_id: UUID | None = None
    ) -> builtins.list[Post]:
        """The campaign's posts (of ``author_id`` only, if given), oldest first."""
        ...

    async def progress(
        self,
        organization_id: UUID,
        campaign_ids: builtins.list[UUID],
        *,
        author_id: UUID | None = None,
    ) -> dict[UUID, dict[PostStatus, int]]:
        """How many of each campaign's posts are in each status.

        Only ``author_id``'s posts count, if given; campaigns without posts are left out.
        """
        ...


class StoredSecret(Protocol):
    """A row of the ``secrets`` table."""

    id: UUID
    organization_id: UUID
    name: str
    ciphertext: str


class SecretRepository(Protocol):
    """Encrypted values kept at rest (see :mod:`ghostart.secretbox`); plaintext never stored."""

    async def put(self, organization_id: UUID, name: str, secret_id: UUID, ciphertext: str) -> UUID:
        """Insert or replace; returns the id of the row that holds the value."""
        ...

    async def get(self, organization_id: UUID, name: str) -> tuple[UUID, str] | None: ...

    async def batch(self, *, after: UUID | None, limit: int) -> builtins.list[tuple[UUID, str]]:
        """Rows (id, ciphertext) ordered by id, after ``after``: for key rotation."""
        ...

    async def replace(self, secret_id: UUID, old: str, new: str) -> bool:
        """Swap ciphertext ``old`` for ``new`` if unchanged meanwhile."""
        ...


class ApiKeyRepository(Protocol):
    """API keys and their hashes. The hash is written once, and read only by :meth:`find`."""

    async def add(self, key: ApiKey, key_hash: str) -> None:
        """Insert ``key`` with the keyed hash of its secret; a taken ``key_prefix`` is a Conflict."""
        ...

    async def get(self, organization_id: UUID, key_id: UUID) -> ApiKey | None: ...

    async def list(self, organization_id: UUID) -> builtins.list[ApiKey]:
        """Every key of the organization, revoked ones included, oldest first."""
        ...

    async def find(self, key_prefix: str) -> tuple[ApiKey, str] | None:
        """The key with ``key_prefix`` and its stored hash, in whichever organization it is.

        The one read not scoped to an organization: authentication starts from the key alone,
        and must check the hash before trusting the row.
        """
        ...

    async def revoke(self, organization_id: UUID, key_id: UUID, *, at: datetime) -> ApiKey | None:
        """Mark the key revoked at ``at`` unless it already is; the key as stored, or ``None``."""
        ...

    async def touch(
        self, organization_id: UUID, key_id: UUID, *, at: datetime, unless_since: datetime
    ) -> bool:
        """Set ``last_used_at`` to ``at`` unless it is already ``unless_since`` or later.

        Compare-and-set, so that many processes seeing a stale time write it once. Revoked keys
        are left alone. Returns whether the row was written.
        """
        ...


@runtime_checkable
class UnitOfWork(Protocol):
    """One transaction over every repository. Committed on clean exit, rolled back on error."""

    organizations: OrganizationRepository
    users: UserRepository
    memberships: MembershipRepository
    brand_voices: BrandVoiceRepository
    generations: GenerationRepository
    posts: PostRepository
    jobs: JobRepository
    usage: UsageRepository
    secrets: SecretRepository
    api_keys: ApiKeyRepository
    campaigns: CampaignRepository
    billing: BillingRepository
    linkedin_connections: LinkedInConnectionRepository
    oauth_states: OAuthStateRepository
    email: EmailRepository
    analytics: AnalyticsRepository
    events: DomainEventRepository


@runtime_checkable
class Store(Protocol):
    """The source of truth.

    Guarantees: a unit of work is atomic and isolated (what it wrote is all there or not at all);
    ``claim`` and the ``expected_*`` updates are compare-and-set; ``migrate`` is idempotent.
    """

    def unit_of_work(
        self, actor: Principal | None = None, *, readonly: bool = False
    ) -> AbstractAsyncContextManager[UnitOfWork]:
        """Open a transaction acting for ``actor`` (``None``: the system itself, e.g. the worker).

        ``readonly=True`` promises that the unit of work only reads, so the adapter may skip
        write locks.
        """
        ...

    async def migrate(self) -> None:
        """Bring the schema to the newest version."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
