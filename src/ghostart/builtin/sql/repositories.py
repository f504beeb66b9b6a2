"""Repositories over SQLAlchemy Core. Every tenant query filters on ``organization_id``."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as postgresql_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.exc import IntegrityError

from ghostart.builtin.sql import tables as t
from ghostart.builtin.sql.analytics import SQLAnalytics
from ghostart.builtin.sql.billing import SQLBilling
from ghostart.builtin.sql.campaigns import SQLCampaigns
from ghostart.builtin.sql.connection import SQLConnection
from ghostart.builtin.sql.email import SQLEmail
from ghostart.builtin.sql.events import SQLDomainEvents
from ghostart.builtin.sql.linkedin import SQLLinkedInConnections, SQLOAuthStates
from ghostart.builtin.sql.prepared import hot
from ghostart.builtin.sql.types import UTCDateTime
from ghostart.builtin.sql.usage import usage_by_month
from ghostart.errors import Conflict, NotFound
from ghostart.models import (
    ApiKey,
    BrandVoice,
    BrandVoiceSpec,
    Generation,
    GenerationStatus,
    Job,
    JobStatus,
    Membership,
    MonthlyUsage,
    Organization,
    OrganizationSettings,
    Post,
    PostStatus,
    Role,
    Usage,
    User,
)

__all__ = ["SQLUnitOfWork"]

_LIVE = (GenerationStatus.PENDING.value, GenerationStatus.RUNNING.value)
_b = sa.bindparam


class _Q:
    """Hot statements, built once: building and cache-keying a statement costs more than running it.

    All of them are marked :func:`hot`, so the embedded store runs them on the driver.

    Bind parameters in WHERE clauses are prefixed ``b_``; other parameters become SET columns.
    """

    org_get = sa.select(t.organizations).where(t.organizations.c.id == _b("b_id"))
    user_get = sa.select(t.users).where(t.users.c.id == _b("b_id"))
    membership_get = sa.select(t.user_organizations).where(
        t.user_organizations.c.organization_id == _b("b_org"),
        t.user_organizations.c.user_id == _b("b_user"),
    )
    voice_get = sa.select(t.brand_voices).where(
        t.brand_voices.c.organization_id == _b("b_org"), t.brand_voices.c.id == _b("b_id")
    )
    voice_list = (
        sa.select(t.brand_voices)
        .where(t.brand_voices.c.organization_id == _b("b_org"))
        .order_by(t.brand_voices.c.created_at, t.brand_voices.c.id)
    )
    voice_first = voice_list.limit(1)  # the default voice
    gen_get = sa.select(t.generations).where(t.generations.c.id == _b("b_id"))
    gen_live = sa.select(t.generations).where(
        t.generations.c.organization_id == _b("b_org"),
        t.generations.c.fingerprint == _b("b_fp"),
        t.generations.c.status.in_(_LIVE),
    )
    gen_recent = (
        sa.select(t.generations)
        .where(
            t.generations.c.organization_id == _b("b_org"),
            t.generations.c.fingerprint == _b("b_fp"),
            t.generations.c.status == GenerationStatus.SUCCEEDED.value,
            t.generations.c.finished_at >= _b("b_since", type_=t.generations.c.finished_at.type),
        )
        .order_by(t.generations.c.finished_at.desc())
        .limit(1)
    )
    gen_save = t.generations.update().where(t.generations.c.id == _b("b_id"))
    gen_start = (
        t.generations.update()
        .where(t.generations.c.id == _b("b_id"), t.generations.c.status.in_(_LIVE))
        .values(status=GenerationStatus.RUNNING.value)
        .returning(*t.generations.c)
    )
    post_get = sa.select(t.posts).where(
        t.posts.c.organization_id == _b("b_org"), t.posts.c.id == _b("b_id")
    )
    post_update = t.posts.update().where(
        t.posts.c.organization_id == _b("b_org"),
        t.posts.c.id == _b("b_id"),
        t.posts.c.revision == _b("b_expected"),
    )
    post_move = (
        t.posts.update()
        .where(
            t.posts.c.generation_id == _b("b_gen"),
            t.posts.c.status.in_(_b("b_from", expanding=True)),
        )
        .values(revision=t.posts.c.revision + 1)
    )
    post_move_returning = post_move.returning(*t.posts.c)
    job_get = sa.select(t.jobs).where(t.jobs.c.id == _b("b_id"))
    # A job is claimable when it is queued and due, or running on an expired lease.
    job_claimable = sa.or_(
        sa.and_(
            t.jobs.c.status == JobStatus.QUEUED.value,
            t.jobs.c.run_at <= _b("b_now", type_=t.jobs.c.run_at.type),
        ),
        sa.and_(
            t.jobs.c.status == JobStatus.RUNNING.value,
            t.jobs.c.lease_until < _b("b_now", type_=t.jobs.c.run_at.type),
        ),
    )
    job_claim = (
        t.jobs.update()
        .where(t.jobs.c.id == _b("b_id"), job_claimable)
        .values(status=JobStatus.RUNNING.value, attempts=t.jobs.c.attempts + 1)
        .returning(*t.jobs.c)
    )
    # PostgreSQL: lock the row first and skip it if another worker's claim holds it. The plain
    # compare-and-set is just as exclusive there, but the second claimer would wait for the first
    # one's transaction (which runs the handler's begin) only to find the job taken.
    job_claim_skip_locked = (
        t.jobs.update()
        .where(
            t.jobs.c.id
            == sa.select(t.jobs.c.id)
            .where(t.jobs.c.id == _b("b_id"), job_claimable)
            .with_for_update(skip_locked=True)
            .scalar_subquery(),
            job_claimable,
        )
        .values(status=JobStatus.RUNNING.value, attempts=t.jobs.c.attempts + 1)
        .returning(*t.jobs.c)
    )
    job_finish = t.jobs.update().where(
        t.jobs.c.id == _b("b_id"),
        t.jobs.c.lease_owner == _b("b_owner"),
        t.jobs.c.status == JobStatus.RUNNING.value,
    )
    # Authentication runs these two on every request made with an API key.
    api_key_find = sa.select(t.api_keys).where(t.api_keys.c.key_prefix == _b("b_prefix"))
    api_key_touch = t.api_keys.update().where(
        t.api_keys.c.organization_id == _b("b_org"),
        t.api_keys.c.id == _b("b_id"),
        t.api_keys.c.revoked_at.is_(None),
        sa.or_(
            t.api_keys.c.last_used_at.is_(None),
            t.api_keys.c.last_used_at < _b("b_since", type_=t.api_keys.c.last_used_at.type),
        ),
    )
    inserts = {table.name: table.insert() for table in t.metadata.sorted_tables}
    # INSERT ... ON CONFLICT DO NOTHING, per dialect: no savepoint, no exception on a duplicate.
    # ``preserve_rowcount``: SQLAlchemy only promises an INSERT's rowcount when asked (psycopg
    # reports -1 otherwise), and 0 or 1 here says whether the generation was new.
    # The partial index's predicate is written out, not bound: once PostgreSQL plans a prepared
    # statement generically (from its sixth run), it can not match ``status IN ($1, $2)`` to the
    # index and every insert fails ("no unique or exclusion constraint matching").
    gen_insert_new = {
        name: module.insert(t.generations)
        .on_conflict_do_nothing(
            index_elements=["organization_id", "fingerprint"],
            index_where=sa.text(f"status IN ({', '.join(repr(status) for status in _LIVE)})"),
        )
        .execution_options(preserve_rowcount=True)
        for name, module in (("sqlite", sqlite_dialect), ("postgresql", postgresql_dialect))
    }
    usage_insert_new = {
        name: module.insert(t.usage_records).on_conflict_do_nothing(
            index_elements=["generation_id"]
        )
        for name, module in (("sqlite", sqlite_dialect), ("postgresql", postgresql_dialect))
    }


for _value in list(vars(_Q).values()):  # every prebuilt statement is worth preparing
    for _statement in _value.values() if isinstance(_value, dict) else (_value,):
        if isinstance(_statement, sa.sql.ClauseElement):
            hot(_statement)


class _Repo:
    def __init__(self, conn: SQLConnection) -> None:
        self._conn = conn

    async def _insert(self, table: sa.Table, values: Mapping[str, Any], what: str) -> None:
        # No savepoint: a failed insert fails its unit of work, which is rolled back whole.
        try:
            await self._conn.execute(_Q.inserts[table.name], values)
        except IntegrityError as exc:
            raise Conflict(f"{what} already exists or refers to a missing row") from exc


class SQLOrganizations(_Repo):
    """Organizations."""

    async def add(self, organization: Organization) -> None:
        await self._insert(
            t.organizations,
            organization.model_dump(mode="json")
            | {
                "id": organization.id,
                "created_at": organization.created_at,
            },
            "organization",
        )

    async def get(self, organization_id: UUID) -> Organization | None:
        row = (await self._conn.execute(_Q.org_get, {"b_id": organization_id})).mappings().first()
        return Organization.model_validate(dict(row)) if row else None

    async def list_for_user(self, user_id: UUID) -> builtins.list[Organization]:
        query = (
            sa.select(t.organizations)
            .join(
                t.user_organizations, t.user_organizations.c.organization_id == t.organizations.c.id
            )
            .where(t.user_organizations.c.user_id == user_id)
            .order_by(t.organizations.c.created_at)
        )
        rows = (await self._conn.execute(query)).mappings().all()
        return [Organization.model_validate(dict(r)) for r in rows]

    async def lock(self, organization_id: UUID) -> None:
        if self._conn.dialect.name == "sqlite":  # SQLite writers are serialised already
            return
        query = sa.select(t.organizations.c.id).where(t.organizations.c.id == organization_id)
        await self._conn.execute(query.with_for_update())

    async def update_settings(self, organization_id: UUID, settings: OrganizationSettings) -> None:
        await self._conn.execute(
            t.organizations.update()
            .where(t.organizations.c.id == organization_id)
            .values(settings=settings.model_dump(mode="json"))
        )


class SQLUsers(_Repo):
    """Users; the email preferences live in one JSON column."""

    @staticmethod
    def _profile(user: User) -> dict[str, Any]:
        return {
            "name": user.name,
            "timezone": user.timezone,
            # Keys this version does not know are part of the dump: they are written back as read.
            "email_preferences": user.email_preferences.model_dump(mode="json"),
            "headline": user.headline,
            "about": user.about,
            "joins_campaigns": user.joins_campaigns,
        }

    async def add(self, user: User) -> None:
        values = {"id": user.id, "email": user.email, "created_at": user.created_at}
        await self._insert(t.users, values | self._profile(user), "user")

    async def get(self, user_id: UUID) -> User | None:
        row = (await self._conn.execute(_Q.user_get, {"b_id": user_id})).mappings().first()
        return User.model_validate(dict(row)) if row else None

    async def get_by_email(self, email: str) -> User | None:
        query = sa.select(t.users).where(sa.func.lower(t.users.c.email) == email.lower())
        row = (await self._conn.execute(query)).mappings().first()
        return User.model_validate(dict(row)) if row else None

    async def lock(self, user_id: UUID) -> None:
        if self._conn.dialect.name == "sqlite":  # SQLite writers are serialised already
            return
        query = sa.select(t.users.c.id).where(t.users.c.id == user_id)
        await self._conn.execute(query.with_for_update())

    async def save_profile(self, user: User) -> bool:
        result = await self._conn.execute(
            t.users.update().where(t.users.c.id == user.id).values(**self._profile(user))
        )
        return bool(result.rowcount == 1)


class SQLMemberships(_Repo):
    """Memberships (``user_organizations``)."""

    _t = t.user_organizations

    async def add(self, membership: Membership) -> None:
        await self._insert(self._t, membership.model_dump(), "membership")

    async def get(self, organization_id: UUID, user_id: UUID) -> Membership | None:
        params = {"b_org": organization_id, "b_user": user_id}
        row = (await self._conn.execute(_Q.membership_get, params)).mappings().first()
        return Membership.model_validate(dict(row)) if row else None

    async def list(self, organization_id: UUID) -> builtins.list[Membership]:
        query = (
            sa.select(self._t)
            .where(self._t.c.organization_id == organization_id)
            .order_by(self._t.c.created_at)
        )
        return [
            Membership.model_validate(dict(r)) for r in (await self._conn.execute(query)).mappings()
        ]

    async def set_role(self, organization_id: UUID, user_id: UUID, role: Role) -> None:
        await self._conn.execute(
            self._t.update()
            .where(self._t.c.organization_id == organization_id, self._t.c.user_id == user_id)
            .values(role=role.value)
        )

    async def remove(self, organization_id: UUID, user_id: UUID) -> None:
        await self._conn.execute(
            self._t.delete().where(
                self._t.c.organization_id == organization_id, self._t.c.user_id == user_id
            )
        )

    async def lock_admins(self, organization_id: UUID) -> int:
        query = sa.select(self._t.c.user_id).where(
            self._t.c.organization_id == organization_id, self._t.c.role == Role.ADMIN.value
        )
        if self._conn.dialect.name != "sqlite":  # SQLite writers are serialised already
            query = query.with_for_update()
        return len((await self._conn.execute(query)).all())


class SQLBrandVoices(_Repo):
    """Brand voices; the editable fields live in one JSON column."""

    _t = t.brand_voices

    @staticmethod
    def _values(voice: BrandVoice) -> dict[str, Any]:
        return {
            "id": voice.id,
            "organization_id": voice.organization_id,
            "name": voice.name,
            "spec": voice.spec().model_dump(mode="json"),
            "version": voice.version,
            "created_at": voice.created_at,
            "updated_at": voice.updated_at,
        }

    @staticmethod
    def _model(row: Mapping[Any, Any]) -> BrandVoice:
        spec = BrandVoiceSpec.model_validate(row["spec"])
        return BrandVoice(
            **spec.model_dump(),
            id=row["id"],
            organization_id=row["organization_id"],
            version=row["version"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    async def add(self, voice: BrandVoice) -> None:
        await self._insert(self._t, self._values(voice), "brand voice")

    async def get(self, organization_id: UUID, voice_id: UUID) -> BrandVoice | None:
        params = {"b_org": organization_id, "b_id": voice_id}
        row = (await self._conn.execute(_Q.voice_get, params)).mappings().first()
        return self._model(row) if row else None

    async def list(
        self, organization_id: UUID, *, limit: int | None = None
    ) -> builtins.list[BrandVoice]:
        query = _Q.voice_list
        if limit is not None:
            query = _Q.voice_first if limit == 1 else query.limit(limit)
        result = await self._conn.execute(query, {"b_org": organization_id})
        return [self._model(r) for r in result.mappings()]

    async def update(self, voice: BrandVoice, *, expected_version: int) -> bool:
        values = self._values(voice)
        del values["id"], values["organization_id"], values["created_at"]
        result = await self._conn.execute(
            self._t.update()
            .where(
                self._t.c.organization_id == voice.organization_id,
                self._t.c.id == voice.id,
                self._t.c.version == expected_version,
            )
            .values(**values)
        )
        return bool(result.rowcount == 1)

    async def delete(self, organization_id: UUID, voice_id: UUID) -> bool:
        result = await self._conn.execute(
            self._t.delete().where(
                self._t.c.organization_id == organization_id, self._t.c.id == voice_id
            )
        )
        return bool(result.rowcount == 1)


class SQLGenerations(_Repo):
    """Generations, with single flight enforced by a partial unique index."""

    _t = t.generations

    @staticmethod
    def _values(g: Generation) -> dict[str, Any]:
        values = g.model_dump(mode="json", exclude={"id", "organization_id", "brand_voice_id"})
        return values | {
            "id": g.id,
            "organization_id": g.organization_id,
            "brand_voice_id": g.brand_voice_id,
            "created_at": g.created_at,
            "finished_at": g.finished_at,
        }

    @staticmethod
    def _model(row: Mapping[Any, Any]) -> Generation:
        return Generation.model_validate(dict(row))

    async def _live(self, organization_id: UUID, fingerprint: str) -> Generation | None:
        params = {"b_org": organization_id, "b_fp": fingerprint}
        row = (await self._conn.execute(_Q.gen_live, params)).mappings().first()
        return self._model(row) if row else None

    async def add_or_join(self, generation: Generation) -> tuple[Generation, bool]:
        insert_new = _Q.gen_insert_new.get(self._conn.dialect.name)
        if insert_new is not None:
            result = await self._conn.execute(insert_new, self._values(generation))
            if result.rowcount == 1:
                return generation, True
            live = await self._live(generation.organization_id, generation.fingerprint)
            if live is None:  # finished between the two statements: start a new one
                return await self.add_or_join(generation)
            return live, False
        live = await self._live(generation.organization_id, generation.fingerprint)
        if live is not None:
            return live, False
        try:
            async with self._conn.begin_nested():
                await self._conn.execute(_Q.inserts["generations"], self._values(generation))
        except IntegrityError:
            # Another transaction inserted the same fingerprint first; join it.
            live = await self._live(generation.organization_id, generation.fingerprint)
            if live is None:
                raise
            return live, False
        return generation, True

    async def get(self, generation_id: UUID) -> Generation | None:
        row = (await self._conn.execute(_Q.gen_get, {"b_id": generation_id})).mappings().first()
        return self._model(row) if row else None

    async def start(self, generation_id: UUID) -> Generation | None:
        row = (await self._conn.execute(_Q.gen_start, {"b_id": generation_id})).mappings().first()
        return self._model(row) if row else None

    async def find_recent(
        self, organization_id: UUID, fingerprint: str, *, since: datetime
    ) -> Generation | None:
        params = {"b_org": organization_id, "b_fp": fingerprint, "b_since": since}
        row = (await self._conn.execute(_Q.gen_recent, params)).mappings().first()
        return self._model(row) if row else None

    async def count_since(self, organization_id: UUID, since: datetime) -> int:
        query = sa.select(sa.func.count()).where(
            self._t.c.organization_id == organization_id,
            self._t.c.created_at >= since,
            self._t.c.status != GenerationStatus.FAILED.value,
        )
        return int((await self._conn.execute(query)).scalar_one())

    #: What a generation's outcome changes; the rest (and its indexes) is fixed at creation.
    _OUTCOME = (
        "status",
        "body",
        "ai_generated",
        "notice",
        "usage",
        "error",
        "finished_at",
        "model",
    )

    async def save(self, generation: Generation) -> None:
        values = self._values(generation)
        outcome = {name: values[name] for name in self._OUTCOME}
        await self._conn.execute(_Q.gen_save, outcome | {"b_id": generation.id})


class SQLPosts(_Repo):
    """Posts, updated by compare-and-set on ``revision``."""

    _t = t.posts

    @staticmethod
    def _values(p: Post) -> dict[str, Any]:
        values = p.model_dump(
            mode="json",
            exclude={
                "id",
                "organization_id",
                "author_id",
                "brand_voice_id",
                "generation_id",
                "campaign_id",
                "reviewed_by",
                "scheduled_at",
                "published_at",
                "created_at",
                "updated_at",
            },
        )
        return values | {
            "id": p.id,
            "organization_id": p.organization_id,
            "author_id": p.author_id,
            "brand_voice_id": p.brand_voice_id,
            "generation_id": p.generation_id,
            "campaign_id": p.campaign_id,
            "reviewed_by": p.reviewed_by,
            "scheduled_at": p.scheduled_at,
            "published_at": p.published_at,
            "created_at": p.created_at,
            "updated_at": p.updated_at,
        }

    @staticmethod
    def _model(row: Mapping[Any, Any]) -> Post:
        return Post.model_validate(dict(row))

    async def add(self, post: Post) -> None:
        await self._insert(self._t, self._values(post), "post")

    async def get(self, organization_id: UUID, post_id: UUID) -> Post | None:
        params = {"b_org": organization_id, "b_id": post_id}
        row = (await self._conn.execute(_Q.post_get, params)).mappings().first()
        return self._model(row) if row else None

    async def list(
        self,
        organization_id: UUID,
        *,
        author_id: UUID | None = None,
        status: PostStatus | None = None,
        limit: int = 50,
        before: tuple[datetime, UUID] | None = None,
    ) -> builtins.list[Post]:
        c = self._t.c
        query = sa.select(self._t).where(c.organization_id == organization_id)
        if author_id is not None:
            query = query.where(c.author_id == author_id)
        if status is not None:
            query = query.where(c.status == status.value)
        if before is not None:
            at, post_id = before
            query = query.where(
                sa.tuple_(c.created_at, c.id)
                < sa.tuple_(
                    sa.bindparam("b_before_at", at, type_=UTCDateTime),
                    sa.bindparam("b_before_id", post_id, type_=sa.Uuid),
                )
            )
        query = query.order_by(c.created_at.desc(), c.id.desc()).limit(limit)
        return [self._model(r) for r in (await self._conn.execute(query)).mappings()]

    async def update(self, post: Post, *, expected_revision: int) -> bool:
        values = self._values(post)
        # Fixed at creation (and, on PostgreSQL, not granted for UPDATE).
        for key in ("id", "organization_id", "author_id", "campaign_id", "created_at"):
            del values[key]
        params = {"b_org": post.organization_id, "b_id": post.id, "b_expected": expected_revision}
        result = await self._conn.execute(_Q.post_update, values | params)
        return bool(result.rowcount == 1)

    async def move_for_generation(
        self,
        generation_id: UUID,
        *,
        from_statuses: tuple[PostStatus, ...],
        changes: dict[str, object],
        now: datetime,
        return_posts: bool = True,
    ) -> builtins.list[Post]:
        params = {
            **changes,
            "updated_at": now,
            "b_gen": generation_id,
            "b_from": [status.value for status in from_statuses],
        }
        if not return_posts:
            await self._conn.execute(_Q.post_move, params)
            return []
        result = await self._conn.execute(_Q.post_move_returning, params)
        return [self._model(r) for r in result.mappings()]

    async def for_generation(self, generation_id: UUID) -> builtins.list[Post]:
        query = (
            sa.select(self._t)
            .where(self._t.c.generation_id == generation_id)
            .order_by(self._t.c.created_at)
        )
        return [self._model(r) for r in (await self._conn.execute(query)).mappings()]


class SQLJobs(_Repo):
    """The outbox, claimed by compare-and-set."""

    _t = t.jobs

    @staticmethod
    def _values(job: Job) -> dict[str, Any]:
        values = job.model_dump(exclude={"kind", "status"})
        return values | {"kind": job.kind.value, "status": job.status.value}

    @staticmethod
    def _model(row: Mapping[Any, Any]) -> Job:
        return Job.model_validate(dict(row))

    async def add(self, job: Job) -> None:
        await self._insert(self._t, self._values(job), "job")

    async def get(self, job_id: UUID) -> Job | None:
        row = (await self._conn.execute(_Q.job_get, {"b_id": job_id})).mappings().first()
        return self._model(row) if row else None

    async def claim(
        self, job_id: UUID, *, owner: str, now: datetime, lease_until: datetime
    ) -> Job | None:
        params = {
            "b_id": job_id,
            "b_now": now,
            "lease_owner": owner,
            "lease_until": lease_until,
            "updated_at": now,
        }
        statement = (
            _Q.job_claim_skip_locked if self._conn.dialect.name == "postgresql" else _Q.job_claim
        )
        row = (await self._conn.execute(statement, params)).mappings().first()
        return self._model(row) if row else None

    async def extend(self, job_id: UUID, *, owner: str, lease_until: datetime) -> bool:
        c = self._t.c
        result = await self._conn.execute(
            self._t.update()
            .where(c.id == job_id, c.lease_owner == owner, c.status == JobStatus.RUNNING.value)
            .values(lease_until=lease_until)
        )
        return bool(result.rowcount == 1)

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
        values: dict[str, Any] = {
            "status": JobStatus(status).value,
            "lease_owner": None,
            "lease_until": None,
            "updated_at": now,
            "last_error": error,
        }
        if run_at is not None:
            values["run_at"] = run_at
            values["enqueued_at"] = None
        params = values | {"b_id": job_id, "b_owner": owner}
        result = await self._conn.execute(_Q.job_finish, params)
        return bool(result.rowcount == 1)

    async def due(
        self, *, now: datetime, enqueued_before: datetime, limit: int
    ) -> builtins.list[Job]:
        c = self._t.c
        query = (
            sa.select(self._t)
            .where(
                sa.or_(
                    sa.and_(
                        c.status == JobStatus.QUEUED.value,
                        c.run_at <= now,
                        sa.or_(c.enqueued_at.is_(None), c.enqueued_at < enqueued_before),
                    ),
                    sa.and_(c.status == JobStatus.RUNNING.value, c.lease_until < now),
                )
            )
            .order_by(c.run_at)
            .limit(limit)
        )
        return [self._model(r) for r in (await self._conn.execute(query)).mappings()]

    async def mark_enqueued(self, job_ids: builtins.list[UUID], *, now: datetime) -> None:
        if job_ids:
            await self._conn.execute(
                self._t.update().where(self._t.c.id.in_(job_ids)).values(enqueued_at=now)
            )

    async def cancel_for_subject(self, subject_id: UUID, *, now: datetime) -> int:
        c = self._t.c
        result = await self._conn.execute(
            self._t.update()
            .where(c.subject_id == subject_id, c.status == JobStatus.QUEUED.value)
            .values(status=JobStatus.CANCELLED.value, updated_at=now)
        )
        return int(result.rowcount)

    async def for_subject(self, subject_id: UUID) -> builtins.list[Job]:
        query = (
            sa.select(self._t)
            .where(self._t.c.subject_id == subject_id)
            .order_by(self._t.c.created_at)
        )
        return [self._model(r) for r in (await self._conn.execute(query)).mappings()]

    async def count_by_status(self) -> dict[str, int]:
        query = sa.select(self._t.c.status, sa.func.count()).group_by(self._t.c.status)
        return {status: int(n) for status, n in (await self._conn.execute(query)).all()}


class SQLUsage(_Repo):
    """Usage records, one per generation."""

    _t = t.usage_records

    async def record(
        self, organization_id: UUID, generation_id: UUID, usage: Usage, *, at: datetime
    ) -> None:
        values = {
            "organization_id": organization_id,
            "generation_id": generation_id,
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "cost_usd": usage.cost_usd,
            "created_at": at,
        }
        # A second record of the same generation (an earlier attempt's) is dropped.
        insert_new = _Q.usage_insert_new.get(self._conn.dialect.name)
        if insert_new is not None:
            await self._conn.execute(insert_new, values)
            return
        try:
            async with self._conn.begin_nested():
                await self._conn.execute(_Q.inserts["usage_records"], values)
        except IntegrityError:
            pass

    async def totals(self, organization_id: UUID, *, since: datetime) -> Usage:
        c = self._t.c
        query = sa.select(
            sa.func.coalesce(sa.func.sum(c.prompt_tokens), 0),
            sa.func.coalesce(sa.func.sum(c.completion_tokens), 0),
            sa.func.coalesce(sa.func.sum(c.cost_usd), 0),
        ).where(c.organization_id == organization_id, c.created_at >= since)
        prompt, completion, cost = (await self._conn.execute(query)).one()
        return Usage(
            prompt_tokens=int(prompt),
            completion_tokens=int(completion),
            cost_usd=Decimal(str(cost)),
        )

    async def monthly(
        self, organization_id: UUID, *, since: datetime, until: datetime
    ) -> builtins.list[MonthlyUsage]:
        return await usage_by_month(self._conn, organization_id, since=since, until=until)


class SQLSecrets(_Repo):
    """Ciphertexts of values kept at rest."""

    _t = t.secrets

    async def put(self, organization_id: UUID, name: str, secret_id: UUID, ciphertext: str) -> UUID:
        c = self._t.c
        now = sa.func.current_timestamp()
        result = await self._conn.execute(
            self._t.update()
            .where(c.id == secret_id, c.organization_id == organization_id)
            .values(ciphertext=ciphertext, name=name, updated_at=now)
        )
        if result.rowcount == 1:
            return secret_id
        try:
            async with self._conn.begin_nested():
                await self._conn.execute(
                    self._t.insert().values(
                        id=secret_id,
                        organization_id=organization_id,
                        name=name,
                        ciphertext=ciphertext,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            existing = await self.get(organization_id, name)
            if existing is None:
                raise NotFound(f"organization {organization_id} not found") from None
            return existing[0]  # written concurrently under another id: the caller re-binds
        return secret_id

    async def get(self, organization_id: UUID, name: str) -> tuple[UUID, str] | None:
        c = self._t.c
        row = (
            await self._conn.execute(
                sa.select(c.id, c.ciphertext).where(
                    c.organization_id == organization_id, c.name == name
                )
            )
        ).first()
        return (row[0], row[1]) if row else None

    async def batch(self, *, after: UUID | None, limit: int) -> builtins.list[tuple[UUID, str]]:
        c = self._t.c
        query = sa.select(c.id, c.ciphertext).order_by(c.id).limit(limit)
        if after is not None:
            query = query.where(c.id > after)
        return [(r[0], r[1]) for r in (await self._conn.execute(query)).all()]

    async def replace(self, secret_id: UUID, old: str, new: str) -> bool:
        c = self._t.c
        result = await self._conn.execute(
            self._t.update()
            .where(c.id == secret_id, c.ciphertext == old)
            .values(ciphertext=new, updated_at=sa.func.current_timestamp())
        )
        return bool(result.rowcount == 1)


class SQLApiKeys(_Repo):
    """API keys; the hash column is read by :meth:`find` alone and never enters the model."""

    _t = t.api_keys

    @staticmethod
    def _model(row: Mapping[Any, Any]) -> ApiKey:
        values = {name: value for name, value in row.items() if name != "key_hash"}
        return ApiKey.model_validate(values)

    async def add(self, key: ApiKey, key_hash: str) -> None:
        values = {
            "id": key.id,
            "organization_id": key.organization_id,
            "name": key.name,
            "key_prefix": key.key_prefix,
            "key_hash": key_hash,
            "scopes": sorted(scope.value for scope in key.scopes),
            "role": key.role.value,
            "created_by": key.created_by,
            "created_at": key.created_at,
            "last_used_at": key.last_used_at,
            "revoked_at": key.revoked_at,
        }
        await self._insert(self._t, values, "API key")

    async def get(self, organization_id: UUID, key_id: UUID) -> ApiKey | None:
        query = sa.select(self._t).where(
            self._t.c.organization_id == organization_id, self._t.c.id == key_id
        )
        row = (await self._conn.execute(query)).mappings().first()
        return self._model(row) if row else None

    async def list(self, organization_id: UUID) -> builtins.list[ApiKey]:
        query = (
            sa.select(self._t)
            .where(self._t.c.organization_id == organization_id)
            .order_by(self._t.c.created_at, self._t.c.id)
        )
        return [self._model(r) for r in (await self._conn.execute(query)).mappings()]

    async def find(self, key_prefix: str) -> tuple[ApiKey, str] | None:
        row = (
            (await self._conn.execute(_Q.api_key_find, {"b_prefix": key_prefix})).mappings().first()
        )
        return (self._model(row), str(row["key_hash"])) if row else None

    async def revoke(self, organization_id: UUID, key_id: UUID, *, at: datetime) -> ApiKey | None:
        c = self._t.c
        await self._conn.execute(
            self._t.update()
            .where(c.organization_id == organization_id, c.id == key_id, c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        return await self.get(organization_id, key_id)

    async def touch(
        self, organization_id: UUID, key_id: UUID, *, at: datetime, unless_since: datetime
    ) -> bool:
        params = {
            "last_used_at": at,
            "b_org": organization_id,
            "b_id": key_id,
            "b_since": unless_since,
        }
        result = await self._conn.execute(_Q.api_key_touch, params)
        return bool(result.rowcount == 1)


class SQLUnitOfWork:
    """All repositories on one connection, inside one transaction."""

    def __init__(self, conn: SQLConnection) -> None:
        self.connection = conn
        self.organizations = SQLOrganizations(conn)
        self.users = SQLUsers(conn)
        self.memberships = SQLMemberships(conn)
        self.brand_voices = SQLBrandVoices(conn)
        self.generations = SQLGenerations(conn)
        self.posts = SQLPosts(conn)
        self.jobs = SQLJobs(conn)
        self.usage = SQLUsage(conn)
        self.secrets = SQLSecrets(conn)
        self.api_keys = SQLApiKeys(conn)
        self.campaigns = SQLCampaigns(conn)
        self.email = SQLEmail(conn)
        self.linkedin_connections = SQLLinkedInConnections(conn)
        self.oauth_states = SQLOAuthStates(conn)
        self.billing = SQLBilling(conn)
        self.analytics = SQLAnalytics(conn)
        self.events = SQLDomainEvents(conn)
