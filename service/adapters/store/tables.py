"""The store's tables (SQLAlchemy Core). Alembic migrations in ``migrations/`` create and change them.

- ``submissions``: every accepted request body, verbatim, so nothing a sender posted is ever lost.
- ``resources``: every version of every resource, as stored (ids assigned, references resolved).
  ``is_current`` marks the latest version; older ones stay as history.
- ``resource_identifiers``: the identifiers of current resources, for conditional creates.
- ``facts``: the normalised facts per patient, one row per fact, replaced when their source resource
  gets a new version (the old rows stay, with ``is_current`` false).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

submissions = Table(
    "submissions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("endpoint", String(32), nullable=False),
    Column("bundle_type", String(32), nullable=True),
    Column("fhir_version", String(8), nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("content", LargeBinary, nullable=False),
)

resources = Table(
    "resources",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("resource_type", String(64), nullable=False),
    Column("resource_id", String(64), nullable=False),
    Column("version_id", Integer, nullable=False),
    Column("is_current", Boolean, nullable=False),
    Column("patient_ref", String(128), nullable=True),
    Column("content_sha256", String(64), nullable=False),
    Column("sender_version_id", String(64), nullable=True),
    Column("content", Text, nullable=False),
    Column("last_updated", DateTime(timezone=True), nullable=False),
    Column("submission_id", String(36), ForeignKey("submissions.id"), nullable=False),
    UniqueConstraint("resource_type", "resource_id", "version_id", name="uq_resource_version"),
    Index("ix_resources_current", "resource_type", "resource_id", "is_current"),
    Index("ix_resources_patient", "resource_type", "patient_ref", "is_current"),
    Index("ix_resources_hash", "resource_type", "content_sha256"),
)

# Identifiers of current resources, for conditional create (``ifNoneExist=identifier=system|value``).
resource_identifiers = Table(
    "resource_identifiers",
    metadata,
    Column("resource_type", String(64), nullable=False),
    Column("system", String(255), nullable=False),
    Column("value", String(255), nullable=False),
    Column("resource_id", String(64), nullable=False),
    Index("ix_identifiers_lookup", "resource_type", "system", "value"),
    Index("ix_identifiers_resource", "resource_type", "resource_id"),
)

facts = Table(
    "facts",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("patient_ref", String(128), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("source_ref", String(128), nullable=False),
    Column("source_version_id", Integer, nullable=False),
    Column("is_current", Boolean, nullable=False),
    Column("payload", Text, nullable=False),
    Index("ix_facts_patient", "patient_ref", "is_current"),
    Index("ix_facts_source", "source_ref", "is_current"),
)
