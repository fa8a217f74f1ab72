"""evaluation_jobs: a durable request to evaluate a patient, written in the ingest transaction (issue 17)

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evaluation_jobs",
        sa.Column("patient_ref", sa.String(128), primary_key=True),
        sa.Column("generation", sa.Integer, nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.String(200)),
    )
    op.create_index("ix_evaluation_jobs_due", "evaluation_jobs", ["due_at"])


def downgrade() -> None:
    op.drop_index("ix_evaluation_jobs_due", "evaluation_jobs")
    op.drop_table("evaluation_jobs")
