"""report_versions: the knowledge-base and rules versions of each patient's last evaluation; the reason of an
evaluation request (issue 17)

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_versions",
        sa.Column("patient_ref", sa.String(128), primary_key=True),
        sa.Column("knowledge_version", sa.String(32), nullable=False),
        sa.Column("rules_version", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.add_column(
        "evaluation_jobs",
        sa.Column("reason", sa.String(16), nullable=False, server_default="data"),
    )


def downgrade() -> None:
    with op.batch_alter_table("evaluation_jobs") as batch:
        batch.drop_column("reason")
    op.drop_table("report_versions")
