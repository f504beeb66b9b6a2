"""email: the email outbox, suppressions and scheduler slots (issue 9)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04

On every database:

- ``email_outbox``: one row per email (recipient, template, category, the template's data,
  status, attempts, when it may be sent and who holds its lease, the provider's message id);
  ``idempotency_key`` is unique, so an event handled twice or a slot fired by two workers writes
  its rows once. The workers claim due rows by compare-and-set and send them.
- ``email_suppressions``: addresses that bounced for good or complained, by the SHA-256 of the
  lower-cased address (the list holds no address).
- ``scheduler_slots``: one row per fired slot (``digest:2026-12-07T08:00Z``): the scheduler inserts
  the slot in the same transaction as the slot's emails, so it fires once however many workers
  tick.

Preferences need no table: they are ``users.email_preferences`` (migration 0003).

On PostgreSQL, row-level security in the style of 0006 and 0007. The event handler, the worker,
the scheduler and the webhook route write as the system (``service_role``):

- ``email_outbox``: a user reads the emails sent to them (in no organization or in one of their
  own); nothing else is granted to ``authenticated``.
- ``email_suppressions`` and ``scheduler_slots`` hold no organization's data: the system's only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# As in 0006 (copied, not imported: a migration is a snapshot).
ME = "(select auth.uid())"
CLAIMED = "(select ghostart.claimed_organization())"
MEMBER = (
    "organization_id in (select m.organization_id from user_organizations m"
    f" where m.user_id = {ME} and coalesce(m.organization_id = {CLAIMED}, true))"
)
TABLES = ("email_outbox", "email_suppressions", "scheduler_slots")

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _run(sql: str) -> None:
    op.execute(sa.text(sql))


def upgrade() -> None:
    op.create_table(
        "email_outbox",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("data", _JSON, nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.Text(), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.Text(), nullable=True),
        sa.Column("delivery", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status in ('pending', 'sending', 'sent', 'failed', 'skipped')",
            name=op.f("ck_email_outbox_status"),
        ),
        sa.CheckConstraint(
            "category in ('transactional', 'notifications', 'digest')",
            name=op.f("ck_email_outbox_category"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_email_outbox_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_email_outbox_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_email_outbox_idempotency_key")),
    )
    op.create_index("ix_email_outbox_status_not_before", "email_outbox", ["status", "not_before"])
    op.create_index("ix_email_outbox_user_created", "email_outbox", ["user_id", "created_at"])
    op.create_index("ix_email_outbox_organization_id", "email_outbox", ["organization_id"])
    op.create_index(
        "ix_email_outbox_message_id",
        "email_outbox",
        ["message_id"],
        sqlite_where=sa.text("message_id is not null"),
        postgresql_where=sa.text("message_id is not null"),
    )
    op.create_table(
        "email_suppressions",
        sa.Column("address_hash", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("address_hash", name=op.f("pk_email_suppressions")),
    )
    op.create_table(
        "scheduler_slots",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("fired_by", sa.Text(), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_scheduler_slots")),
    )
    if _postgres():
        _secure()


def _secure() -> None:
    op.alter_column("email_outbox", "id", server_default=sa.text("gen_random_uuid()"))
    for table in TABLES:
        _run(f"revoke all on table {table} from public, anon, authenticated, service_role")
        _run(f"alter table {table} enable row level security")
        _run(f"grant select, insert, update, delete on table {table} to service_role")
        _run(
            f'create policy "service role" on {table} as permissive for all to service_role '
            "using (true) with check (true)"
        )
    _run("grant select on table email_outbox to authenticated")
    _run(
        'create policy "recipients read their own" on email_outbox as permissive for select '
        f"to authenticated using (user_id = {ME} and (organization_id is null or {MEMBER}))"
    )


def downgrade() -> None:
    # Dropping a table drops its policies and grants with it.
    op.drop_table("scheduler_slots")
    op.drop_table("email_suppressions")
    op.drop_index("ix_email_outbox_message_id", table_name="email_outbox")
    op.drop_index("ix_email_outbox_organization_id", table_name="email_outbox")
    op.drop_index("ix_email_outbox_user_created", table_name="email_outbox")
    op.drop_index("ix_email_outbox_status_not_before", table_name="email_outbox")
    op.drop_table("email_outbox")
