"""The schema, as SQLAlchemy Core tables. Migrations in ``migrations/`` create exactly this."""

from __future__ import annotations

import sqlalchemy as sa

from ghostart.builtin.sql.types import JSONType, UTCDateTime

__all__ = [
    "analytics_events",
    "api_keys",
    "billing_states",
    "billing_webhook_events",
    "brand_voices",
    "campaigns",
    "domain_events",
    "email_outbox",
    "email_suppressions",
    "generations",
    "jobs",
    "linkedin_connections",
    "metadata",
    "oauth_states",
    "organizations",
    "posts",
    "scheduler_slots",
    "secrets",
    "usage_records",
    "user_organizations",
    "users",
]

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

_now = sa.func.current_timestamp()


def _org_fk() -> sa.Column[object]:
    return sa.Column(
        "organization_id",
        sa.Uuid,
        sa.ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )


organizations = sa.Table(
    "organizations",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("settings", JSONType, nullable=False, server_default=sa.text("'{}'")),
    sa.Column("created_at", UTCDateTime, nullable=False, server_default=_now),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("email", sa.Text, nullable=True, unique=True),
    sa.Column("name", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False, server_default=_now),
    sa.Column("timezone", sa.Text, nullable=False, server_default=sa.text("'UTC'")),
    # Optional email categories (EmailPreferences); keys unknown to a version are kept as they are.
    sa.Column("email_preferences", JSONType, nullable=False, server_default=sa.text("'{}'")),
    # What gives a campaign variant its author's angle, and whether they take part at all.
    sa.Column("headline", sa.Text, nullable=True),
    sa.Column("about", sa.Text, nullable=True),
    sa.Column("joins_campaigns", sa.Boolean, nullable=False, server_default=sa.true()),
)

user_organizations = sa.Table(
    "user_organizations",
    metadata,
    sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "organization_id",
        sa.Uuid,
        sa.ForeignKey("organizations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False, server_default=_now),
    sa.CheckConstraint("role in ('admin', 'brand_creator', 'employee')", name="role"),
    sa.Index("ix_user_organizations_organization_id", "organization_id"),
)

brand_voices = sa.Table(
    "brand_voices",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    _org_fk(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("spec", JSONType, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

generations = sa.Table(
    "generations",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    _org_fk(),
    sa.Column("fingerprint", sa.Text, nullable=False),
    sa.Column("brand_voice_id", sa.Uuid, nullable=False),
    sa.Column("brand_voice_version", sa.Integer, nullable=False),
    sa.Column("request", JSONType, nullable=False),
    sa.Column("model", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=True),
    sa.Column("ai_generated", sa.Boolean, nullable=True),
    sa.Column("notice", sa.Text, nullable=True),
    sa.Column("usage", JSONType, nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    sa.CheckConstraint("status in ('pending', 'running', 'succeeded', 'failed')", name="status"),
    # Single flight across processes: one live generation per fingerprint and organization.
    sa.Index(
        "uq_generations_inflight",
        "organization_id",
        "fingerprint",
        unique=True,
        sqlite_where=sa.text("status in ('pending', 'running')"),
        postgresql_where=sa.text("status in ('pending', 'running')"),
    ),
    sa.Index(
        "ix_generations_org_fingerprint_finished", "organization_id", "fingerprint", "finished_at"
    ),
    sa.Index("ix_generations_org_created", "organization_id", "created_at"),
)

posts = sa.Table(
    "posts",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    _org_fk(),
    sa.Column("author_id", sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("brand_voice_id", sa.Uuid, nullable=True),
    sa.Column("generation_id", sa.Uuid, sa.ForeignKey("generations.id"), nullable=True, index=True),
    # No foreign key (as brand_voice_id): adding one on SQLite would rebuild the posts table.
    sa.Column("campaign_id", sa.Uuid, nullable=True),
    sa.Column("request", JSONType, nullable=True),
    sa.Column("body", sa.Text, nullable=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("from_cache", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("ai_generated", sa.Boolean, nullable=True),
    sa.Column("notice", sa.Text, nullable=True),
    sa.Column("review_note", sa.Text, nullable=True),
    sa.Column("reviewed_by", sa.Uuid, nullable=True),
    sa.Column("scheduled_at", UTCDateTime, nullable=True),
    sa.Column("published_at", UTCDateTime, nullable=True),
    sa.Column("external_id", sa.Text, nullable=True),
    sa.Column("external_url", sa.Text, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.CheckConstraint("length(body) <= 3000", name="body_length"),
    # Newest-first pages (keyset on created_at, id), whole organization, by author, by status.
    sa.Index("ix_posts_org_created", "organization_id", "created_at", "id"),
    sa.Index("ix_posts_org_author_created", "organization_id", "author_id", "created_at", "id"),
    sa.Index("ix_posts_org_status_created", "organization_id", "status", "created_at", "id"),
    # A campaign's variants (partial: most posts belong to no campaign).
    sa.Index(
        "ix_posts_campaign",
        "campaign_id",
        sqlite_where=sa.text("campaign_id is not null"),
        postgresql_where=sa.text("campaign_id is not null"),
    ),
)

campaigns = sa.Table(
    "campaigns",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column(
        "organization_id",
        sa.Uuid,
        sa.ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("created_by", sa.Uuid, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("link", sa.Text, nullable=True),
    sa.Column("goal", sa.Text, nullable=True),
    sa.Column("call_to_action", sa.Text, nullable=True),
    sa.Column("format", sa.Text, nullable=False),
    sa.Column("length", sa.Text, nullable=False),
    sa.Column("language", sa.Text, nullable=False),
    sa.Column("brand_voice_id", sa.Uuid, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # Newest-first pages per organization (keyset on created_at, id); serves the RLS filter too.
    sa.Index("ix_campaigns_org_created", "organization_id", "created_at", "id"),
    sa.Index("ix_campaigns_created_by", "created_by"),
)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column(
        "organization_id",
        sa.Uuid,
        sa.ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=True,
    ),
    sa.Column("subject_id", sa.Uuid, nullable=False, index=True),
    sa.Column("payload", JSONType, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("run_at", UTCDateTime, nullable=False),
    sa.Column("lease_owner", sa.Text, nullable=True),
    sa.Column("lease_until", UTCDateTime, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("idempotency_key", sa.Text, nullable=False, unique=True),
    sa.Column("enqueued_at", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    #: The request that caused the job (logs correlate API and worker by it; issue 10).
    sa.Column("request_id", sa.Text, nullable=True),
    sa.CheckConstraint(
        "status in ('queued', 'running', 'done', 'failed', 'cancelled')", name="status"
    ),
    sa.Index("ix_jobs_status_run_at", "status", "run_at"),
)

usage_records = sa.Table(
    "usage_records",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    _org_fk(),
    sa.Column("generation_id", sa.Uuid, nullable=False, unique=True),
    sa.Column("prompt_tokens", sa.Integer, nullable=False),
    sa.Column("completion_tokens", sa.Integer, nullable=False),
    # Ten decimals: a generation's cost (tokens x a price per million) is kept whole, so that a
    # month's sum is exactly the sum of its generations' costs.
    sa.Column("cost_usd", sa.Numeric(20, 10), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_usage_records_org_created", "organization_id", "created_at"),
)

#: Usage analytics (issue 10): counted actions, never content (see ``ghostart.ports.analytics``).
analytics_events = sa.Table(
    "analytics_events",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    _org_fk(),
    sa.Column("user_id", sa.Uuid, nullable=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("status", sa.Integer, nullable=True),
    sa.Column("subject_id", sa.Uuid, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.CheckConstraint("kind in ('api_call', 'page_view', 'generation', 'publish')", name="kind"),
    sa.Index("ix_analytics_events_org_created", "organization_id", "created_at"),
)

secrets = sa.Table(
    "secrets",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    _org_fk(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("ciphertext", sa.Text, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("organization_id", "name", name="uq_secrets_org_name"),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    _org_fk(),
    sa.Column("name", sa.Text, nullable=False),
    # Public: "gha_live_" and the lookup id. Unique, so its index serves authentication.
    sa.Column("key_prefix", sa.Text, nullable=False, unique=True),
    # HMAC-SHA256 of the whole key (hex); the key itself is never stored.
    sa.Column("key_hash", sa.Text, nullable=False),
    sa.Column("scopes", JSONType, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("created_by", sa.Uuid, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_used_at", UTCDateTime, nullable=True),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
    sa.CheckConstraint("role in ('admin', 'brand_creator', 'employee')", name="role"),
)

# Billing (issue 8): Stripe's events as received (the dedup record and the outbox's truth) and
# each organization's billing state (compare-and-set on ``version``).
billing_webhook_events = sa.Table(
    "billing_webhook_events",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),  # the provider's event id (evt_...)
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("livemode", sa.Boolean, nullable=False),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Column("payload", JSONType, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column(
        "organization_id",
        sa.Uuid,
        sa.ForeignKey("organizations.id", ondelete="SET NULL"),
        nullable=True,
    ),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("processed_at", UTCDateTime, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.CheckConstraint("status in ('received', 'processed', 'ignored', 'failed')", name="status"),
    sa.Index("ix_billing_webhook_events_organization_id", "organization_id"),
)

billing_states = sa.Table(
    "billing_states",
    metadata,
    sa.Column(
        "organization_id",
        sa.Uuid,
        sa.ForeignKey("organizations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("customer_id", sa.Text, nullable=True, unique=True),
    sa.Column("state", JSONType, nullable=False),
    # The entitlement at the last change, for listings; never the source of truth.
    sa.Column("plan", sa.Text, nullable=True),
    sa.Column("status", sa.Text, nullable=True),
    sa.Column("subscription_id", sa.Text, nullable=True),
    sa.Column("grace_until", UTCDateTime, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)


# LinkedIn (issue 7): one row per member's connection, tokens as SecretBox ciphertext (sealed
# and opened by ghostart-linkedin only), and the OAuth ``state`` nonces already spent.
linkedin_connections = sa.Table(
    "linkedin_connections",
    metadata,
    sa.Column(
        "organization_id",
        sa.Uuid,
        sa.ForeignKey("organizations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("app", sa.Text, primary_key=True),
    sa.Column("member_urn", sa.Text, nullable=False),
    sa.Column("member_name", sa.Text, nullable=True),
    sa.Column("access_token", sa.Text, nullable=False),
    sa.Column("access_expires_at", UTCDateTime, nullable=False),
    sa.Column("refresh_token", sa.Text, nullable=True),
    sa.Column("refresh_expires_at", UTCDateTime, nullable=True),
    sa.Column("scopes", sa.Text, nullable=False, server_default=sa.text("''")),
    sa.Column("needs_reconnect", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("reconnect_reason", sa.Text, nullable=True),
    # The access expiry the "expiring soon" reminder was sent for: one reminder per token.
    sa.Column("reminded_for", UTCDateTime, nullable=True),
    sa.Column("connected_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.CheckConstraint("app in ('member', 'organization')", name="app"),
    sa.Index("ix_linkedin_connections_user_id", "user_id"),
    # The reminder's scan: working connections by expiry.
    sa.Index(
        "ix_linkedin_connections_expiring",
        "access_expires_at",
        sqlite_where=sa.text("not needs_reconnect"),
        postgresql_where=sa.text("not needs_reconnect"),
    ),
)

oauth_states = sa.Table(
    "oauth_states",
    metadata,
    sa.Column("nonce", sa.Text, primary_key=True),
    # Whose sign-in link it was (the state is bound to them).
    _org_fk(),
    sa.Column(
        "user_id",
        sa.Uuid,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Index("ix_oauth_states_expires_at", "expires_at"),
)

# Email (issue 9): the email outbox (one row per email, claimed and sent by the workers), suppressed
# addresses (SHA-256 only: the list holds no address) and the scheduler's fired slots.
domain_events = sa.Table(
    # The event outbox: an event is written in the transaction of the change it reports, and
    # handed to the plugins after commit; a row still undispatched at ``available_at`` (its
    # process died, or a handler failed) is dispatched again by a worker.
    "domain_events",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column(
        "organization_id",
        sa.Uuid,
        sa.ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=True,
    ),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("payload", JSONType, nullable=False),
    sa.Column("occurred_at", UTCDateTime, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("available_at", UTCDateTime, nullable=False),
    sa.Column("dispatched_at", UTCDateTime, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Index(
        "ix_domain_events_pending",
        "available_at",
        sqlite_where=sa.text("dispatched_at is null"),
        postgresql_where=sa.text("dispatched_at is null"),
    ),
    sa.Index("ix_domain_events_organization_id", "organization_id"),
    sa.Index("ix_domain_events_dispatched_at", "dispatched_at"),
)

email_outbox = sa.Table(
    "email_outbox",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column(
        "organization_id",
        sa.Uuid,
        sa.ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=True,
    ),
    sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("recipient", sa.Text, nullable=False),
    sa.Column("template", sa.Text, nullable=False),
    sa.Column("category", sa.Text, nullable=False),
    sa.Column("data", JSONType, nullable=False),
    sa.Column("idempotency_key", sa.Text, nullable=False, unique=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    # When the row may be sent (a retry's backoff), and who is sending it until when.
    sa.Column("not_before", UTCDateTime, nullable=False),
    sa.Column("lease_owner", sa.Text, nullable=True),
    sa.Column("lease_until", UTCDateTime, nullable=True),
    sa.Column("message_id", sa.Text, nullable=True),
    sa.Column("delivery", sa.Text, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime, nullable=True),
    sa.CheckConstraint(
        "status in ('pending', 'sending', 'sent', 'failed', 'skipped')", name="status"
    ),
    sa.CheckConstraint("category in ('transactional', 'notifications', 'digest')", name="category"),
    sa.Index("ix_email_outbox_status_not_before", "status", "not_before"),
    sa.Index("ix_email_outbox_user_created", "user_id", "created_at"),
    sa.Index("ix_email_outbox_organization_id", "organization_id"),
    sa.Index(
        "ix_email_outbox_message_id",
        "message_id",
        sqlite_where=sa.text("message_id is not null"),
        postgresql_where=sa.text("message_id is not null"),
    ),
)

email_suppressions = sa.Table(
    "email_suppressions",
    metadata,
    sa.Column("address_hash", sa.Text, primary_key=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("provider", sa.Text, nullable=False),
    sa.Column("message_id", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

scheduler_slots = sa.Table(
    "scheduler_slots",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("fired_by", sa.Text, nullable=False),
    sa.Column("fired_at", UTCDateTime, nullable=False),
)
