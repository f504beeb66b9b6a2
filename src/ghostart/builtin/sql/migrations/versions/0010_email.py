"""email: the email outbox, suppressions and scheduler slots (issue 9)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04

Reserved in the chain so that the adapters' core storage can be built side by side; it changes
nothing until its tables are written here.
"""

from __future__ import annotations

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing yet."""


def downgrade() -> None:
    """Nothing yet."""
