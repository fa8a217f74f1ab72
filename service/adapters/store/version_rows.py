"""The rows of a batch of new versions (``Writer.write_versions``), built once per resource, and PostgreSQL's
one statement that writes them all (issue 17).

A version's stored content is the posted resource with ``meta.versionId`` and ``meta.lastUpdated`` set; the
time's text is made once per batch, not once per resource. On PostgreSQL the whole batch (the submission
rows still owed, the earlier versions retired, their identifiers and facts retired, the new versions, their
identifiers and facts) is one statement of data-modifying CTEs over arrays (``unnest``): one round trip
instead of up to seven. Every CTE runs on the statement's one snapshot, so the retiring ones see only the
earlier rows, never the ones inserted beside them (PostgreSQL, "Data-Modifying Statements in WITH"); the
foreign key of a version to its submission is checked at the end of the statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson

from service.adapters.store.fact_codec import encode
from service.adapters.store.raw import CURRENT_BY_KEYS, CURRENT_COLUMNS
from service.app.store_records import NewVersion, StoredResource

_dumps = orjson.dumps


def with_meta(content: dict[str, Any], version: int, now: datetime, now_text: str) -> StoredResource:
    """The stored version: ``content`` with its meta's versionId and lastUpdated (``now_text``, ``now``'s
    ISO text) set, the meta kept where it was or else added last."""
    stored = dict(content)  # the same keys in the same order as ``{**content, "meta": ...}``
    stored["meta"] = {**content.get("meta", {}), "versionId": str(version), "lastUpdated": now_text}
    return StoredResource(content["resourceType"], content["id"], version, now, stored)


def resource_row(
    version: NewVersion,
    stored: StoredResource,
    is_current: bool,
    submission_id: str,
    last_updated: Any,  # as the driver stores it (raw.db_time)
) -> tuple[Any, ...]:
    return (
        stored.resource_type,
        stored.resource_id,
        stored.version_id,
        is_current,
        version.patient_ref,
        version.posted_hash,
        version.content.get("meta", {}).get("versionId"),
        _dumps(stored.content).decode(),
        last_updated,
        submission_id,
    )


def identifier_rows(key: tuple[str, str], content: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [
        (key[0], key[1], ident["system"], ident["value"])
        for ident in content.get("identifier", ())
        if isinstance(ident, dict)
        and isinstance(ident.get("system"), str)
        and isinstance(ident.get("value"), str)
    ]


def columns(rows: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """Rows as one list per column (``unnest``'s arrays), ``width`` of them however many rows."""
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


# The batch in one statement (PostgreSQL): $1-$7 the submissions, $8 the pks of the versions retired, $9-$18
# the new versions, $19-$20 the (type, id) unindexed, $21-$24 the identifiers, $25 the sources whose facts are
# retired, $26-$31 the new facts.
_BATCH = (
    "WITH submitted AS (INSERT INTO submissions"
    " (id, received_at, endpoint, bundle_type, fhir_version, content_sha256, content)"
    " SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[],"
    " $7::bytea[])),"
    " retired AS (UPDATE resources SET is_current = false WHERE pk = ANY($8::int[])),"
    " versions AS (INSERT INTO resources (resource_type, resource_id, version_id, is_current, patient_ref,"
    " content_sha256, sender_version_id, content, last_updated, submission_id)"
    " SELECT * FROM unnest($9::text[], $10::text[], $11::int[], $12::bool[], $13::text[], $14::text[],"
    " $15::text[], $16::text[], $17::timestamptz[], $18::text[]){returning}),"
    " unindexed AS (DELETE FROM resource_identifiers AS i USING unnest($19::text[], $20::text[]) AS k(t, id)"
    " WHERE i.resource_type = k.t AND i.resource_id = k.id),"
    " indexed AS (INSERT INTO resource_identifiers (resource_type, resource_id, system, value)"
    " SELECT * FROM unnest($21::text[], $22::text[], $23::text[], $24::text[])),"
    " retired_facts AS (UPDATE facts SET is_current = false"
    " WHERE source_ref = ANY($25::text[]) AND is_current){recorded}"
    " {facts}INSERT INTO facts (patient_ref, kind, source_ref, source_version_id, is_current, payload)"
    " SELECT * FROM unnest($26::text[], $27::text[], $28::text[], $29::int[], $30::bool[], $31::text[])"
    "{current}"
)
WRITE_BATCH = _BATCH.format(returning="", recorded="", facts="", current="")

# Riders of the batch's statement (issue 17), so what the transaction asks next costs no round trip of its
# own. The report versions of the evaluations the batch stores, $32-$36 (``EvaluationJobs.record_versions``).
_RECORDED = (
    ", recorded AS (INSERT INTO report_versions"
    " (patient_ref, knowledge_version, rules_version, outcome, evaluated_at)"
    " SELECT * FROM unnest($32::text[], $33::text[], $34::text[], $35::text[], $36::timestamptz[])"
    " ON CONFLICT (patient_ref) DO UPDATE SET knowledge_version = excluded.knowledge_version,"
    " rules_version = excluded.rules_version, outcome = excluded.outcome,"
    " evaluated_at = excluded.evaluated_at)"
)
# The current versions read after the batch: the statement's snapshot is taken before the batch, so the
# resources the batch does not write are read as before (the first two parameters after the riders) and the
# ones it writes come from their versions' RETURNING (the next two). Split so, neither side is a scan of the
# other: the rows of a resource the batch retires are never read, and the batch's versions, often thousands,
# are scanned only when it wrote one asked for (owed.py).
_CURRENT_TEXT = (
    " SELECT {columns}{current}"
    " UNION ALL SELECT pk, resource_type, resource_id, version_id, last_updated, content_sha256,"
    " sender_version_id FROM versions WHERE is_current AND cardinality(${{c}}::text[]) > 0"
    " AND (resource_type, resource_id) IN (SELECT * FROM unnest(${{c}}::text[], ${{d}}::text[]))"
)
_CURRENT = _CURRENT_TEXT.format(
    columns=CURRENT_COLUMNS, current=CURRENT_BY_KEYS.format(types="{a}", ids="{b}")
)
_RETURNING = (
    " RETURNING pk, resource_type, resource_id, version_id, last_updated, content_sha256,"
    " sender_version_id, is_current"
)


@lru_cache(maxsize=4)
def write_batch(recorded: bool, current: bool) -> str:
    """The batch's statement with its riders: the report versions ($32-$36), then the current versions
    read (the next four parameters), which makes the facts' insert a CTE and the read the statement's
    result."""
    a = 37 if recorded else 32
    return _BATCH.format(
        returning=_RETURNING if current else "",
        recorded=_RECORDED if recorded else "",
        facts=", new_facts AS (" if current else "",
        current=(") " + _CURRENT.format(a=a, b=a + 1, c=a + 2, d=a + 3)) if current else "",
    )


def fact_rows(
    versions: Sequence[NewVersion], stored: list[StoredResource], last_index: dict[tuple[str, str], int]
) -> list[tuple[Any, ...]]:
    return [
        (
            fact.patient,
            payload["kind"],
            s.reference,
            s.version_id,
            last_index[v.key] == n,
            orjson.dumps(payload).decode(),
        )
        for n, (v, s) in enumerate(zip(versions, stored, strict=True))
        for fact in v.facts
        if (payload := encode(fact))
    ]


# The statements of a write on SQLite (issue 17: prepared, see raw.py), in asyncpg's parameter style.
RETIRE = "UPDATE resources SET is_current = false WHERE pk = $1"
INSERT_RESOURCE = (
    "INSERT INTO resources (resource_type, resource_id, version_id, is_current, patient_ref, content_sha256,"
    " sender_version_id, content, last_updated, submission_id)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
)
UNINDEX = "DELETE FROM resource_identifiers WHERE resource_type = $1 AND resource_id = $2"
INDEX = "INSERT INTO resource_identifiers (resource_type, resource_id, system, value) VALUES ($1, $2, $3, $4)"
RETIRE_FACTS = "UPDATE facts SET is_current = false WHERE source_ref = $1 AND is_current"
INSERT_FACT = (
    "INSERT INTO facts (patient_ref, kind, source_ref, source_version_id, is_current, payload)"
    " VALUES ($1, $2, $3, $4, $5, $6)"
)
INSERT_SUBMISSION = (
    "INSERT INTO submissions (id, received_at, endpoint, bundle_type, fhir_version, content_sha256, content)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7)"
)
