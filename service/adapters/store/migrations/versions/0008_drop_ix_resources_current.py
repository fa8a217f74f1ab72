"""Drop ix_resources_current (issue 17): the unique (resource_type, resource_id, version_id) index already
finds every version of a resource, of which the current one is read; the second index on the same leading
columns only cost its upkeep on every version written (one B-tree of five on the hottest table).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_resources_current", table_name="resources")


def downgrade() -> None:
    op.create_index("ix_resources_current", "resources", ["resource_type", "resource_id", "is_current"])
