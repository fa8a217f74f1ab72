"""subscription_events.focus_version: the version an event announced, so ``$events`` replays it

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: events recorded before this revision did not keep it; they replay the current version.
    with op.batch_alter_table("subscription_events") as batch:
        batch.add_column(sa.Column("focus_version", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subscription_events") as batch:
        batch.drop_column("focus_version")
