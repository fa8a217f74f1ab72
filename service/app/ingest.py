"""The ingest use case: a posted Bundle becomes stored resources and normalised facts per patient.

Transaction: every entry lands or none does, and any error rejects the Bundle. Batch (and collection,
document, message, which the contract treats as a batch of creates): a bad entry fails alone. The request
body is kept verbatim whenever anything of it is accepted, so nothing a sender posted is lost.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from service.adapters.fhir_in.bundles import (
    PlannedEntry,
    WriteMode,
    plan_bundle,
    rewrite_references,
)
from service.adapters.fhir_in.validation import validate_resource
from service.adapters.fhir_in.versions import FhirVersion
from service.app.ingest_outcomes import (
    EntryOutcome,
    add_warnings,
    at_entry,
    failed_by_normalisation,
    transaction_failure,
)
from service.app.ingest_rows import EntryRow, facts_by_patient, kept_outcome
from service.app.ports import Reader, Store, Writer
from service.app.preconditions import stale_entries
from service.app.store_records import StoredResource
from service.domain.facts import Fact
from service.errors import BadRequest, Issue


class Endpoint(StrEnum):
    """Which endpoint received the Bundle, and so which Bundle types it takes (FHIR-CONTRACT section 2)."""

    ROOT = "root"  # POST /fhir: transaction, batch
    BUNDLE = "bundle"  # POST /fhir/Bundle: collection, document, searchset
    MESSAGE = "message"  # POST /fhir/$process-message: message


# Issue 17: how long the request that stored a change has to evaluate it before the workers take it over.
EVALUATION_GRACE = timedelta(seconds=10)

_CREATE = WriteMode.CREATE  # read once: a member read from its class is a metaclass lookup (Python 3.11)

ACCEPTED_TYPES = {
    Endpoint.ROOT: ("transaction", "batch"),
    Endpoint.BUNDLE: ("collection", "document", "searchset"),
    Endpoint.MESSAGE: ("message",),
}


@dataclass(frozen=True, slots=True)
class NormalisedFacts:
    """What the normaliser read: the facts of each source reference, and issues whose expressions start
    with ``Bundle.entry[n]``."""

    by_source: dict[str, list[Fact]]
    issues: list[Issue]


Normaliser = Callable[[Sequence[PlannedEntry], FhirVersion], NormalisedFacts]
# Run inside the ingest's transaction: the patients whose data changed, and the facts just stored per patient.
# It answers the patients whose owed report it has settled in the transaction (stored, or requested with its
# failure recorded); the ingest requests the others' (None: it settled none).
AfterWrite = Callable[[Writer, set[str], dict[str, list[Fact]]], Awaitable[set[str] | None]]


@dataclass(slots=True)
class IngestResult:
    bundle_type: str
    submission_id: str | None
    entries: list[EntryOutcome]
    patients: set[str]
    reports: list[str] = field(default_factory=list)  # DiagnosticReports the pipeline wrote (issue 17)


@dataclass(frozen=True, slots=True)
class Ingest:
    store: Store
    normalise: Normaliser
    strict_validation: bool = False

    async def __call__(
        self,
        bundle: dict[str, Any],
        raw: bytes,
        endpoint: Endpoint,
        version: FhirVersion,
        after_write: AfterWrite | None = None,
        posted_text: bytes | None = None,
    ) -> IngestResult:
        """``after_write``: run inside the ingest's transaction, with the patients whose data changed, before
        it commits (the pipeline stores their reports there: one commit per request, and no evaluation
        request written only to be deleted again). ``posted_text``: orjson's compact serialisation of the
        body as parsed, unchanged since (the JSON guard's), planned from as ``$evaluate`` does."""
        bundle_type = _check_bundle_type(bundle, endpoint)
        transactional = bundle_type in ("transaction", "batch")
        planned, problems = plan_bundle(bundle, transactional, posted_text=posted_text)
        if bundle_type == "message":
            _check_message_header(bundle)
        matched = await self._match_existing(planned)
        rewrite_references(planned)
        outcomes = {p.index: EntryOutcome(p.index, 400, issues=[p.issue]) for p in problems}
        outcomes |= self._validate(planned, version)
        normalised = self.normalise([p for p in planned if p.index not in outcomes], version)
        outcomes |= failed_by_normalisation(normalised.issues)
        if bundle_type == "transaction" and outcomes:
            raise transaction_failure(outcomes)
        to_write = [p for p in planned if p.index not in outcomes]
        result = await self._write(
            bundle_type, raw, endpoint, version, to_write, normalised, matched, after_write
        )
        add_warnings(result.entries, normalised.issues)
        result.entries = sorted([*result.entries, *outcomes.values()], key=lambda e: e.index)
        return result

    async def _match_existing(self, planned: list[PlannedEntry]) -> dict[int, StoredResource]:
        """A create that matches a stored resource (``ifNoneExist``, or identical content) takes its id. No
        read is opened for a Bundle without creates (a transaction of PUTs): nothing to match."""
        matched: dict[int, StoredResource] = {}
        creates = [entry for entry in planned if entry.mode is _CREATE]
        if not creates:
            return matched
        async with self.store.reading() as reader:
            for entry in creates:
                found = await _find_match(reader, entry)
                if found is not None:
                    entry.resource["id"], entry.existing = found.resource_id, True
                    matched[entry.index] = found
        return matched

    def _validate(self, planned: list[PlannedEntry], version: FhirVersion) -> dict[int, EntryOutcome]:
        if not self.strict_validation:
            return {}
        failed = {}
        for entry in planned:
            issues = [at_entry(entry.index, i) for i in validate_resource(entry.resource, version)]
            if issues:
                failed[entry.index] = EntryOutcome(entry.index, 400, issues=issues)
        return failed

    async def _write(
        self,
        bundle_type: str,
        raw: bytes,
        endpoint: Endpoint,
        version: FhirVersion,
        planned: list[PlannedEntry],
        normalised: NormalisedFacts,
        matched: dict[int, StoredResource],
        after_write: AfterWrite | None,
    ) -> IngestResult:
        rows = [EntryRow(p) for p in planned]  # each entry's key, reference and patient, read once
        patients = {row.patient for row in rows if row.patient}
        patients |= {fact.patient for facts in normalised.by_source.values() for fact in facts}
        submission_id, now = str(uuid.uuid4()), datetime.now(UTC)
        async with self.store.writing(patients) as writer:
            await writer.add_submission(submission_id, now, endpoint.value, bundle_type, version.value, raw)
            current = await writer.current_versions(row.key for row in rows if not row.entry.existing)
            stale = stale_entries(planned, current, transaction=bundle_type == "transaction")  # 412
            if stale:
                rows = [row for row in rows if row.entry.index not in stale]
            kept = [kept_outcome(row, matched, current) for row in rows]
            to_store = [row for row, k in zip(rows, kept, strict=True) if k is None]
            facts = facts_by_patient(to_store, normalised.by_source)
            versions = [row.new_version() for row in to_store]
            stored = await writer.write_versions(versions, submission_id, now, current)
            changed = {row.patient for row in to_store if row.patient}
            settled = None
            if after_write is not None:
                settled = await after_write(writer, changed, facts)
            # Issue 17: the reports these changes imply are owed from this commit on, crash or not: each is
            # stored in this same transaction (by ``after_write``) or requested here, for the workers.
            await writer.evaluation_jobs.request(changed - (settled or set()), now, EVALUATION_GRACE)
        created = [  # 201 for a create, 200 for a new version of a stored resource
            EntryOutcome.of(r.entry.index, 200 if r.key in current else 201, s, r.reference)
            for r, s in zip(to_store, stored, strict=True)
        ]
        entries = [k for k in kept if k is not None] + created
        entries += [EntryOutcome(index, 412, issues=[issue]) for index, issue in stale.items()]
        return IngestResult(bundle_type, submission_id, entries, changed)


async def _find_match(reader: Reader, entry: PlannedEntry) -> StoredResource | None:
    condition, resource_type = entry.if_none_exist, entry.resource["resourceType"]
    if condition and condition.identifier:
        return await reader.by_identifier(resource_type, *condition.identifier)
    if condition and condition.resource_id:
        return await reader.current(resource_type, condition.resource_id)
    return await reader.current_by_hash(resource_type, entry.posted_hash)


def _check_bundle_type(bundle: dict[str, Any], endpoint: Endpoint) -> str:
    if bundle.get("resourceType") != "Bundle":
        raise BadRequest(f"Expected a Bundle, got {bundle.get('resourceType')}", expression="resourceType")
    bundle_type = bundle.get("type")
    if bundle_type not in ACCEPTED_TYPES[endpoint]:
        accepted = ", ".join(ACCEPTED_TYPES[endpoint])
        raise BadRequest(
            f"Bundle.type '{bundle_type}' is not accepted here; use {accepted}", expression="Bundle.type"
        )
    return str(bundle_type)


def _check_message_header(bundle: dict[str, Any]) -> None:
    first = (bundle.get("entry") or [{}])[0]
    if not isinstance(first, dict) or (first.get("resource") or {}).get("resourceType") != "MessageHeader":
        raise BadRequest(
            "A message Bundle must start with a MessageHeader", expression="Bundle.entry[0].resource"
        )
