"""Two organizations' worth of rows in every table, and Supabase's own auth objects, for the tests.

``seed`` writes, as the system: organizations A and B, each with an admin, a brand creator and an
employee; ``both`` (an employee of A and the admin of B), ``outsider`` (in no organization); and
in each organization a brand voice, a generation, a campaign, a post by every member (the
employee's is a variant of the campaign), a job, a usage record, a secret, an API key, a billing
state and a processed billing event; and for every member a LinkedIn connection, a spent OAuth
state and an email; and a suppressed address and a fired scheduler slot (no organization's).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest
from sqlalchemy.exc import DBAPIError

from ghostart.models import (
    ApiKey,
    BrandVoice,
    Campaign,
    ContentRequest,
    EmailCategory,
    Generation,
    Job,
    JobKind,
    Membership,
    Organization,
    Permission,
    Post,
    Principal,
    Role,
    Usage,
    User,
)
from ghostart.models.events import DomainEvent, EventName
from ghostart.models.linkedin import LinkedInConnection
from ghostart.ports import Store
from ghostart.ports.analytics import AnalyticsEvent, AnalyticsKind
from ghostart.ports.billing import StoredBillingState, WebhookEventRow
from ghostart.ports.email import OutboxEmail

__all__ = ["SUPABASE_AUTH", "Tenant", "World", "refused", "seed"]

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

# What a Supabase project has before any migration of ours, as Supabase creates it: the roles
# (server-wide, so only if missing), schema auth with auth.users and the auth functions (the
# definitions of supabase/auth 20240624145325_recreate_auth_functions), and the default privileges
# that give anon, authenticated and service_role everything on new tables in public.
SUPABASE_AUTH = """
do $$
begin
  if not exists (select from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
exception when duplicate_object or unique_violation then null;
end $$;

create schema auth;
grant usage on schema auth to anon, authenticated, service_role;

create table auth.users (
  instance_id uuid,
  id uuid not null primary key,
  aud varchar(255),
  role varchar(255),
  email varchar(255),
  encrypted_password varchar(255),
  email_confirmed_at timestamptz,
  raw_app_meta_data jsonb,
  raw_user_meta_data jsonb,
  is_super_admin boolean,
  created_at timestamptz,
  updated_at timestamptz,
  is_anonymous boolean not null default false
);
alter table auth.users enable row level security;

create function auth.uid() returns uuid set search_path to '' as $func$
  select
    coalesce(
      nullif(current_setting('request.jwt.claim.sub', true), ''),
      (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
    )::uuid
$func$ language sql stable;
comment on function auth.uid() is 'Deprecated. Use auth.jwt() -> ''sub'' instead.';

create function auth.role() returns text set search_path to '' as $func$
  select
    coalesce(
      nullif(current_setting('request.jwt.claim.role', true), ''),
      (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
    )::text
$func$ language sql stable;

create function auth.email() returns text set search_path to '' as $func$
  select
    coalesce(
      nullif(current_setting('request.jwt.claim.email', true), ''),
      (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
    )::text
$func$ language sql stable;

create function auth.jwt() returns jsonb set search_path to '' as $func$
  select
    coalesce(
      nullif(current_setting('request.jwt.claim', true), ''),
      nullif(current_setting('request.jwt.claims', true), '')
    )::jsonb
$func$ language sql stable;

grant usage on schema public to anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
"""


@dataclass
class Tenant:
    """One organization and its members."""

    org: Organization
    admin: User
    creator: User
    employee: User
    members: dict[UUID, Role] = field(default_factory=dict)

    def principal(self, user: User, *, role: Role | None = None) -> Principal:
        """``user`` acting in this organization."""
        return Principal(
            user_id=user.id, organization_id=self.org.id, role=role or self.members[user.id]
        )


@dataclass
class World:
    """What :func:`seed` wrote."""

    a: Tenant
    b: Tenant
    both: User
    outsider: User


def _user(name: str) -> User:
    return User(email=f"{name}-{uuid4().hex[:8]}@example.com", name=name)


async def _tenant(store: Store, name: str, extra: dict[UUID, tuple[User, Role]]) -> Tenant:
    tenant = Tenant(
        Organization(name=name),
        _user(f"{name}-admin"),
        _user(f"{name}-creator"),
        _user(f"{name}-employee"),
    )
    people = {
        tenant.admin.id: (tenant.admin, Role.ADMIN),
        tenant.creator.id: (tenant.creator, Role.BRAND_CREATOR),
        tenant.employee.id: (tenant.employee, Role.EMPLOYEE),
    } | extra
    org = tenant.org
    voice = BrandVoice(organization_id=org.id, name=f"{name} voice")
    generation = Generation(
        organization_id=org.id,
        fingerprint=uuid4().hex,
        brand_voice_id=voice.id,
        brand_voice_version=voice.version,
        request=ContentRequest(topic="why design docs"),
        model="offline",
        created_at=T0,
    )
    campaign = Campaign(
        organization_id=org.id,
        created_by=tenant.creator.id,
        name=f"{name} launch",
        message="Our new region is live",
        brand_voice_id=voice.id,
        created_at=T0,
    )
    async with store.unit_of_work() as uow:
        await uow.organizations.add(org)
        for user, role in people.values():
            if await uow.users.get(user.id) is None:
                await uow.users.add(user)
            await uow.memberships.add(
                Membership(user_id=user.id, organization_id=org.id, role=role)
            )
            tenant.members[user.id] = role
        await uow.brand_voices.add(voice)
        await uow.generations.add_or_join(generation)
        await uow.campaigns.add(campaign)
        for i, (user, _) in enumerate(people.values()):
            await uow.posts.add(
                Post(
                    organization_id=org.id,
                    author_id=user.id,
                    brand_voice_id=voice.id,
                    generation_id=generation.id,
                    campaign_id=campaign.id if user.id == tenant.employee.id else None,
                    body=f"{name}: a post by {user.name}",
                    created_at=T0 + timedelta(minutes=i),
                )
            )
        await uow.jobs.add(
            Job(
                kind=JobKind.GENERATE,
                organization_id=org.id,
                subject_id=generation.id,
                idempotency_key=f"generate:{generation.id}",
                run_at=T0,
            )
        )
        await uow.usage.record(
            org.id,
            generation.id,
            Usage(prompt_tokens=10, completion_tokens=20, cost_usd=Decimal("0.01")),
            at=T0,
        )
        await uow.analytics.add_many(
            [
                AnalyticsEvent(
                    kind=AnalyticsKind.API_CALL,
                    organization_id=org.id,
                    user_id=user.id,
                    name="GET /v1/organizations/{organization_id}/posts",
                    status=200,
                    at=T0,
                )
                for user, _ in people.values()
            ]
        )
        await uow.events.add(
            DomainEvent(
                name=EventName.MEMBER_ADDED,
                organization_id=org.id,
                payload={"user_id": str(user.id)},
                occurred_at=T0,
            ),
            available_at=T0,
        )
        await uow.secrets.put(org.id, "pepper", uuid4(), f"ciphertext-of-{name}")
        await uow.api_keys.add(
            ApiKey(
                organization_id=org.id,
                name=f"{name} key",
                key_prefix=f"gha_live_{uuid4().hex[:12]}",
                scopes=frozenset({Permission.ORG_READ}),
                role=Role.EMPLOYEE,
                created_by=tenant.admin.id,
                created_at=T0,
            ),
            f"hash-of-{name}",
        )
        # Billing (0009): the organization's state and one processed provider event.
        await uow.billing.save_state(
            StoredBillingState(
                organization_id=org.id,
                state={"organization_id": str(org.id), "customer_id": f"cus_{org.id.hex}"},
                version=1,
                customer_id=f"cus_{org.id.hex}",
                plan="free",
                updated_at=T0,
            ),
            expected_version=None,
        )
        await uow.billing.record_webhook_event(
            WebhookEventRow(
                id=f"evt_{org.id.hex}",
                type="customer.subscription.updated",
                livemode=False,
                created=T0,
                payload={"id": f"evt_{org.id.hex}"},
                status="processed",
                organization_id=org.id,
                received_at=T0,
                processed_at=T0,
            )
        )
        # Email (0010): an email to every member.
        await uow.email.add_many(
            [
                OutboxEmail(
                    organization_id=org.id,
                    user_id=user.id,
                    recipient=str(user.email),
                    template="member_added",
                    category=EmailCategory.TRANSACTIONAL,
                    idempotency_key=f"seed:{org.id.hex}:{user.id.hex}",
                    created_at=T0,
                    not_before=T0,
                )
                for user, _ in people.values()
            ]
        )
        # LinkedIn (0008): every member's connection and a spent sign-in state.
        for user, _ in people.values():
            await uow.linkedin_connections.save(
                LinkedInConnection(
                    organization_id=org.id,
                    user_id=user.id,
                    app="member",
                    member_urn=f"urn:li:person:{user.id.hex[:10]}",
                    access_token=f"gsb1.k1.sealed-{user.id.hex}",
                    access_expires_at=T0 + timedelta(days=60),
                    connected_at=T0,
                    updated_at=T0,
                ),
                expected_version=None,
            )
            await uow.oauth_states.claim(
                f"nonce-{org.id.hex}-{user.id.hex}",
                expires_at=T0,
                organization_id=org.id,
                user_id=user.id,
            )
    return tenant


async def seed(store: Store) -> World:
    """Write organizations A and B (see the module docstring) as the system."""
    both, outsider = _user("both"), _user("outsider")
    a = await _tenant(store, "A", {both.id: (both, Role.EMPLOYEE)})
    b = await _tenant(store, "B", {both.id: (both, Role.ADMIN)})
    async with store.unit_of_work() as uow:
        await uow.users.add(outsider)
        # Email (0010): the system's own tables, of no organization.
        await uow.email.suppress("0" * 64, reason="bounced", provider="t", message_id=None, at=T0)
        await uow.email.claim_slot("digest:2026-03-02T08:00Z", owner="seed", at=T0)
    return World(a, b, both, outsider)


def refused(exc: pytest.ExceptionInfo[DBAPIError]) -> bool:
    """Refused by a privilege or a policy (SQLSTATE 42501), not by anything else."""
    return getattr(exc.value.orig, "sqlstate", None) == "42501"
