"""billing: billing webhook events and billing states (issue 8)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

On every database:

- ``billing_webhook_events``: one row per provider event (Stripe's ``evt_...`` id is the primary
  key, so a duplicate delivery inserts nothing), the verified payload, and how processing went.
  It is the truth behind a ``billing_event`` job (the outbox).
- ``billing_states``: one row per organization, the provider's state as JSON, changed by
  compare-and-set on ``version``; ``customer_id`` is unique (invoices without metadata are
  matched by customer).

On PostgreSQL, row-level security in the style of 0006 and 0007:

- ``billing_webhook_events`` is not tenant data when written (its organization is known only
  once processed): only ``service_role`` (the webhook route's and the worker's system units of
  work) writes it; admins read their organization's processed events (an audit trail), other
  members nothing.
- ``billing_states``: members read their own organizations' row; only ``service_role`` writes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# As in 0006 (copied, not imported: a migration is a snapshot).
ME = "(select auth.uid())"
CLAIMED = "(select ghostart.claimed_organization())"


def _in(roles: str = "") -> str:
    """``organization_id`` is one of the caller's organizations (with one of ``roles``)."""
    role = f" and m.role = any ('{{{roles}}}'::text[])" if roles else ""
    return (
        "organization_id in (select m.organization_id from user_organizations m"
        f" where m.user_id = {ME}{role} and coalesce(m.organization_id = {CLAIMED}, true))"
    )


MEMBER = _in()
ADMIN = _in("admin")
TABLES = ("billing_webhook_events", "billing_states")

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _run(sql: str) -> None:
    op.execute(sa.text(sql))


def upgrade() -> None:
    op.create_table(
        "billing_webhook_events",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", _JSON, nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status in ('received', 'processed', 'ignored', 'failed')",
            name=op.f("ck_billing_webhook_events_status"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_billing_webhook_events_organization_id_organizations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_webhook_events")),
    )
    op.create_index(
        "ix_billing_webhook_events_organization_id",
        "billing_webhook_events",
        ["organization_id"],
    )
    op.create_table(
        "billing_states",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=True),
        sa.Column("state", _JSON, nullable=False),
        sa.Column("plan", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("subscription_id", sa.Text(), nullable=True),
        sa.Column("grace_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_billing_states_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_billing_states")),
        sa.UniqueConstraint("customer_id", name=op.f("uq_billing_states_customer_id")),
    )
    if _postgres():
        _secure()


def _secure() -> None:
    for table in TABLES:
        _run(f"revoke all on table {table} from public, anon, authenticated, service_role")
        _run(f"alter table {table} enable row level security")
        _run(f"grant select, insert, update, delete on table {table} to service_role")
        _run(
            f'create policy "service role" on {table} as permissive for all to service_role '
            "using (true) with check (true)"
        )
    _run("grant select on table billing_states, billing_webhook_events to authenticated")
    _run(
        'create policy "members read" on billing_states as permissive for select '
        f"to authenticated using ({MEMBER})"
    )
    _run(
        'create policy "admins read" on billing_webhook_events as permissive for select '
        f"to authenticated using ({ADMIN})"
    )


def downgrade() -> None:
    # Dropping a table drops its policies and grants with it.
    op.drop_table("billing_states")
    op.drop_index("ix_billing_webhook_events_organization_id", table_name="billing_webhook_events")
    op.drop_table("billing_webhook_events")
