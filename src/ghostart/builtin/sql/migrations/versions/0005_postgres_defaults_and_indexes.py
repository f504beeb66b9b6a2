"""postgres: uuid defaults, and indexes for row-level security and foreign keys

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25

PostgreSQL only; nothing happens on SQLite. 0001 already yields ``uuid``, ``jsonb`` and
``timestamptz`` columns there (``sa.Uuid``, the JSONB variant, ``DateTime(timezone=True)``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Tables whose ``id`` is a UUID: rows inserted by hand (SQL editor, Data API) get one too.
UUID_KEYED = (
    "organizations",
    "users",
    "brand_voices",
    "generations",
    "posts",
    "jobs",
    "secrets",
    "api_keys",
)

# Columns that a policy or a foreign key filters on and that no index leads with yet. Foreign
# keys matter because deleting a user or an organization looks up the rows that refer to it.
INDEXES = {
    "ix_jobs_organization_id": ("jobs", ["organization_id"]),  # policies; organization FK
    "ix_posts_author_id": ("posts", ["author_id"]),  # users FK (ON DELETE CASCADE)
    "ix_api_keys_created_by": ("api_keys", ["created_by"]),  # policies; users FK (SET NULL)
}


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if not _postgres():
        return
    for table in UUID_KEYED:
        op.alter_column(table, "id", server_default=sa.text("gen_random_uuid()"))
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns)


def downgrade() -> None:
    if not _postgres():
        return
    for name, (table, _) in INDEXES.items():
        op.drop_index(name, table_name=table)
    for table in UUID_KEYED:
        op.alter_column(table, "id", server_default=None)
