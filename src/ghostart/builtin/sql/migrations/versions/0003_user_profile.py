"""user profile: time zone and email preferences

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Plain ALTER TABLE, never batch mode: on SQLite a batch would copy and drop ``users``, and with
# foreign keys on, dropping it cascades to every membership, post and API key of its users.


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("timezone", sa.Text(), server_default=sa.text("'UTC'"), nullable=False),
    )
    op.add_column(
        "users",
        sa.Column(
            "email_preferences",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
    )


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place (no copy of the table, see above).
    op.drop_column("users", "email_preferences")
    op.drop_column("users", "timezone")
