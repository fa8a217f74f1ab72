"""history_fetches

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "history_fetches",
        sa.Column("patient_ref", sa.String(128), primary_key=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resources", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("history_fetches")
