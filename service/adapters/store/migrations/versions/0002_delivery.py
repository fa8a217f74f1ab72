"""subscriptions, subscription_events, outbox

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("topic_id", sa.String(64), nullable=False),
        sa.Column("patient_ref", sa.String(128), nullable=True),
        sa.Column("endpoint", sa.Text, nullable=False),
        sa.Column("payload", sa.String(16), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("headers", sa.Text, nullable=False),
        sa.Column("heartbeat_seconds", sa.Integer, nullable=True),
        sa.Column("timeout_seconds", sa.Integer, nullable=True),
        sa.Column("max_count", sa.Integer, nullable=True),
        sa.Column("fhir_version", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("events_since_start", sa.Integer, nullable=False),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_subscriptions_topic", "subscriptions", ["topic_id", "status"])
    op.create_table(
        "subscription_events",
        sa.Column("subscription_id", sa.String(64), primary_key=True),
        sa.Column("event_number", sa.Integer, primary_key=True),
        sa.Column("focus_ref", sa.String(128), nullable=False),
        sa.Column("context", sa.Text, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "outbox",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("event_number", sa.Integer, nullable=True),
        sa.Column("body", sa.Text, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("leased_by", sa.String(64), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.Integer, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("outcome", sa.Text, nullable=True),
    )
    op.create_index("ix_outbox_due", "outbox", ["status", "next_attempt_at"])
    op.create_index("ix_outbox_target", "outbox", ["target", "status"])


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("subscription_events")
    op.drop_table("subscriptions")
