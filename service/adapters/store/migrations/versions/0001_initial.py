"""submissions, resources, resource_identifiers, facts

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "submissions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("endpoint", sa.String(32), nullable=False),
        sa.Column("bundle_type", sa.String(32), nullable=True),
        sa.Column("fhir_version", sa.String(8), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "resources",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.String(64), nullable=False),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("is_current", sa.Boolean, nullable=False),
        sa.Column("patient_ref", sa.String(128), nullable=True),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("sender_version_id", sa.String(64), nullable=True),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submission_id", sa.String(36), sa.ForeignKey("submissions.id"), nullable=False),
        sa.UniqueConstraint("resource_type", "resource_id", "version_id", name="uq_resource_version"),
    )
    op.create_index("ix_resources_current", "resources", ["resource_type", "resource_id", "is_current"])
    op.create_index("ix_resources_patient", "resources", ["resource_type", "patient_ref", "is_current"])
    op.create_index("ix_resources_hash", "resources", ["resource_type", "content_sha256"])
    op.create_table(
        "resource_identifiers",
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("system", sa.String(255), nullable=False),
        sa.Column("value", sa.String(255), nullable=False),
        sa.Column("resource_id", sa.String(64), nullable=False),
    )
    op.create_index("ix_identifiers_lookup", "resource_identifiers", ["resource_type", "system", "value"])
    op.create_index("ix_identifiers_resource", "resource_identifiers", ["resource_type", "resource_id"])
    op.create_table(
        "facts",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("patient_ref", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("source_ref", sa.String(128), nullable=False),
        sa.Column("source_version_id", sa.Integer, nullable=False),
        sa.Column("is_current", sa.Boolean, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
    )
    op.create_index("ix_facts_patient", "facts", ["patient_ref", "is_current"])
    op.create_index("ix_facts_source", "facts", ["source_ref", "is_current"])


def downgrade() -> None:
    op.drop_table("facts")
    op.drop_table("resource_identifiers")
    op.drop_table("resources")
    op.drop_table("submissions")
