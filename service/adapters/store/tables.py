"""The store's tables (SQLAlchemy Core). Alembic migrations in ``migrations/`` create and change them.

- ``submissions``: every accepted request body, verbatim, so nothing a sender posted is ever lost; and
  a small row (endpoint ``evaluation``: the knowledge-base and rules versions) for each batch of versions
  an evaluation stores, which are the report itself (its Bundle is not kept again, issue 17).
- ``resources``: every version of every resource, as stored (ids assigned, references resolved).
  ``is_current`` marks the latest version; older ones stay as history.
- ``resource_identifiers``: the identifiers of current resources, for conditional creates.
- ``facts``: the normalised facts per patient, one row per fact, replaced when their source resource
  gets a new version (the old rows stay, with ``is_current`` false).
- ``subscriptions``, ``subscription_events``, ``outbox``: topic-based subscriptions and the durable
  outbox of deliveries (notifications and write-back), described where they are defined below.
- ``history_fetches``: the patients whose history was fetched from the EHR's FHIR server.
- ``evaluation_jobs``: one row per patient whose stored data changed and whose report is not yet written:
  added in the ingest transaction, removed in the report's (issue 17), so a crash between the two loses
  nothing; ``generation`` counts the changes, so a report made from older data never clears a newer request.
- ``report_versions``: per patient, the knowledge-base and rules versions of its last evaluation (issue 17).
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

# Topic-based subscriptions (issue 7). The Subscription resource itself is versioned in ``resources``;
# this row is what delivery needs: the parsed channel, the live status and the event counter.
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("topic_id", String(64), nullable=False),
    Column("patient_ref", String(128), nullable=True),
    Column("endpoint", Text, nullable=False),
    Column("payload", String(16), nullable=False),
    Column("content_type", String(64), nullable=False),
    Column("headers", Text, nullable=False),
    Column("heartbeat_seconds", Integer, nullable=True),
    Column("timeout_seconds", Integer, nullable=True),
    Column("max_count", Integer, nullable=True),
    Column("fhir_version", String(8), nullable=False),
    Column("status", String(16), nullable=False),
    Column("events_since_start", Integer, nullable=False),
    Column("last_sent_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_subscriptions_topic", "topic_id", "status"),
)

# Every event of every subscription, numbered from 1, kept for ``$events`` replays.
subscription_events = Table(
    "subscription_events",
    metadata,
    Column("subscription_id", String(64), primary_key=True),
    Column("event_number", Integer, primary_key=True),
    Column("focus_ref", String(128), nullable=False),
    Column("focus_version", Integer, nullable=True),  # None for events recorded before revision 0004
    Column("context", Text, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
)

# The durable outbox: one row per delivery, written in the transaction that produced it. A worker claims
# due rows by a lease (``lease_until``), so replicas never deliver the same row at once and a crashed
# worker's rows come back after the lease. Rows are never deleted: delivered, rejected (a 4xx that a
# retry cannot fix) and failed (attempts exhausted) rows stay visible, and the last two can be replayed.
outbox = Table(
    "outbox",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("target", String(64), nullable=False),
    Column("event_number", Integer, nullable=True),
    Column("body", Text, nullable=True),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("lease_until", DateTime(timezone=True), nullable=True),
    Column("leased_by", String(64), nullable=True),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    Column("last_status", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("outcome", Text, nullable=True),
    Index("ix_outbox_due", "status", "next_attempt_at"),
    Index("ix_outbox_target", "target", "status"),
)

# Patients whose earlier history was fetched from the EHR's FHIR server (once each, issue 7).
history_fetches = Table(
    "history_fetches",
    metadata,
    Column("patient_ref", String(128), primary_key=True),
    Column("fetched_at", DateTime(timezone=True), nullable=False),
    Column("resources", Integer, nullable=False),
)

evaluation_jobs = Table(
    "evaluation_jobs",
    metadata,
    Column("patient_ref", String(128), primary_key=True),
    Column("generation", Integer, nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", String(200)),
    Column("reason", String(16), nullable=False, server_default="data"),  # or "reevaluation"
    Index("ix_evaluation_jobs_due", "due_at"),
)

# The knowledge-base and rules versions each patient was last evaluated with (issue 17), so the patients whose
# report an older version made are found with one query; written in the report's transaction.
report_versions = Table(
    "report_versions",
    metadata,
    Column("patient_ref", String(128), primary_key=True),
    Column("knowledge_version", String(32), nullable=False),
    Column("rules_version", String(32), nullable=False),
    Column("outcome", String(16), nullable=False),  # "report" or "not-assessable"
    Column("evaluated_at", DateTime(timezone=True), nullable=False),
)
