"""The bulk import use case (issue 17): Bundles made from files go through the same ingest as ``POST /fhir``
(batch semantics: a bad resource fails alone), then the patients they change are evaluated.

Resumable without a journal: a batch whose every resource the store already holds with the same content
(or the same ``meta.versionId``) is skipped before the ingest, so a re-run after an interruption writes
nothing for what was stored: no version, no submission. A batch that is partly new is ingested whole, and
the ingest keeps what it already has (an identical create takes the stored id; an identical upsert writes
no version).

The reports are durable either way: the ingest records in its own transaction that each changed patient's
report is owed (``evaluation_jobs``). With ``evaluate`` each batch goes through the API's pipeline: its
data and its patients' reports in one transaction (a Bundle file over ``ONCO_MAX_ENTRIES``: ingested, then
its reports in one more); at the end the import makes those still owed for the patients it read (left by an
interrupted run, or by a failed evaluation). Without, a running service's workers make them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from service.adapters.fhir_in.bulk_batches import SourceBatch
from service.adapters.fhir_in.bundles import PlannedEntry, WriteMode, content_hash, plan_bundle
from service.app.history import HistoryFetch
from service.app.ingest import Endpoint, Ingest, IngestResult
from service.app.ingest_outcomes import EntryOutcome
from service.app.pipeline import Pipeline
from service.app.ports import Store
from service.app.reevaluation import BatchReports
from service.app.reports import ReportWriter
from service.app.store_records import EvaluationJob
from service.errors import Issue, ServiceError

_TRANSACTIONAL = ("transaction", "batch")
REPORT_BATCH = 50  # owed reports made per transaction at the end of a run


@dataclass(frozen=True, slots=True)
class Refusal:
    """A resource (or a whole file) not stored, with the issues an API client would have been told."""

    source: str  # the file, or "file:line"
    status: int
    issues: list[Issue]


@dataclass(slots=True)
class BatchResult:
    stored: int = 0  # resources written (a new resource or a new version)
    unchanged: int = 0  # resources the store already held with the same content
    refusals: list[Refusal] = field(default_factory=list)
    patients: set[str] = field(default_factory=set)  # the patients read
    reports: int = 0  # DiagnosticReports written or amended


@dataclass(frozen=True)
class BulkImport:
    store: Store
    ingest: Ingest
    report_writer: ReportWriter
    history: HistoryFetch | None = None  # ONCO_FETCH_HISTORY, as the API
    evaluate: bool = True  # False: the workers of a running service make the reports
    pipeline: Pipeline | None = None  # with evaluate: data and reports in one commit, as POST /fhir

    async def __call__(self, batch: SourceBatch) -> BatchResult:
        stored = await self._stored_references(batch)
        if stored is not None:
            return BatchResult(unchanged=len(stored), patients=set(batch.patients) | _patients(stored))
        started = datetime.now(UTC)
        in_one = self.evaluate and self.pipeline is not None and _entries(batch) <= self.pipeline.max_entries
        accept = self.pipeline.accept if in_one and self.pipeline is not None else self.ingest
        try:
            ingested = await accept(batch.bundle, batch.raw, Endpoint(batch.endpoint), batch.version)
        except ServiceError as exc:  # the whole Bundle refused (not a Bundle, a bdl-7 clash)
            refusal = Refusal(_source(batch, None), exc.status, exc.issues)
            return BatchResult(refusals=[refusal], patients=set(batch.patients))
        result = _tally(batch, ingested, started)
        if in_one:
            result.reports = len(ingested.reports)
        elif self.evaluate:
            result.reports = await self._evaluate(ingested.patients)
        return result

    async def finish(self, patients: Iterable[str]) -> int:
        """Make the reports still owed for these patients (an interrupted run's); the reports written."""
        if not self.evaluate:
            return 0
        owed, written = await self._owed(set(patients)), 0
        for start in range(0, len(owed), REPORT_BATCH):
            written += await self._report(owed[start : start + REPORT_BATCH])
        return written

    async def owed(self, patients: Iterable[str]) -> int:
        """How many of these patients' reports are still owed (failing, or left to the workers)."""
        return len(await self._owed(set(patients)))

    async def _owed(self, patients: set[str]) -> list[EvaluationJob]:
        async with self.store.reading() as reader:
            return [job for job in await reader.evaluation_jobs.all() if job.patient_ref in patients]

    async def _evaluate(self, patients: set[str]) -> int:
        async with self.store.reading() as reader:
            jobs = [await reader.evaluation_jobs.job(patient) for patient in sorted(patients)]
        return await self._report([job for job in jobs if job is not None])

    async def _report(self, jobs: list[EvaluationJob]) -> int:
        """As the evaluation worker does it: the history first if configured, then one transaction for the
        batch's reports (one commit, not one per patient)."""
        if not jobs:
            return 0
        if self.history is not None:
            await self.history({job.patient_ref for job in jobs})
        return len(await BatchReports(self.report_writer)(jobs))

    async def _stored_references(self, batch: SourceBatch) -> list[str] | None:
        """The stored reference of every entry when the store holds them all unchanged, else None. Cheap
        for new data: one query for the entries with ids, hashes only once all of them are found, and the
        first create that matches nothing ends the check."""
        bundle_type = batch.bundle.get("type")
        if not isinstance(batch.bundle.get("entry"), list) or bundle_type not in (
            *_TRANSACTIONAL,
            "collection",
            "document",
            "searchset",
            "message",
        ):
            return None
        planned, problems = plan_bundle(batch.bundle, bundle_type in _TRANSACTIONAL, hashed=False)
        if problems or not planned:
            return None
        keyed = [p for p in planned if p.mode is not WriteMode.CREATE]
        async with self.store.reading() as reader:
            current = await reader.current_versions(_key(p) for p in keyed)
            if len(current) < len(keyed) or not all(_unchanged(p, current[_key(p)]) for p in keyed):
                return None
            references = [p.reference for p in keyed]
            for entry in (p for p in planned if p.mode is WriteMode.CREATE):
                found = await _find_create(reader, entry)
                if found is None:
                    return None
                references.append(found)
        return references


def _key(entry: PlannedEntry) -> tuple[str, str]:
    return entry.resource["resourceType"], entry.resource["id"]


def _unchanged(entry: PlannedEntry, current: Any) -> bool:
    """As the ingest decides it keeps an entry: the same content, or the same ``meta.versionId``."""
    if current is None or entry.if_match is not None:
        return False
    sender_version = entry.resource.get("meta", {}).get("versionId")
    if sender_version is not None and current.sender_version_id == sender_version:
        return True
    return bool(current.posted_hash == content_hash(entry.resource))


async def _find_create(reader: Any, entry: PlannedEntry) -> str | None:
    """The stored resource a create would match (as the ingest matches it), as a reference."""
    condition, resource_type = entry.if_none_exist, entry.resource["resourceType"]
    if condition and condition.identifier:
        found = await reader.by_identifier(resource_type, *condition.identifier)
    elif condition and condition.resource_id:
        found = await reader.current(resource_type, condition.resource_id)
    else:
        found = await reader.current_by_hash(resource_type, content_hash(entry.resource))
    return found.reference if found is not None else None


def _entries(batch: SourceBatch) -> int:
    entries = batch.bundle.get("entry")
    return len(entries) if isinstance(entries, list) else 0


def _tally(batch: SourceBatch, ingested: IngestResult, started: datetime) -> BatchResult:
    result = BatchResult(patients=set(batch.patients) | ingested.patients)
    for entry in ingested.entries:
        if entry.status >= 400:
            result.refusals.append(Refusal(_source(batch, entry.index), entry.status, _issues(batch, entry)))
            continue
        # The ingest answers 200 both for a new version and for a kept one: a version written by this call
        # is dated after it started (what would help: EntryOutcome saying whether it wrote a version).
        written = entry.status == 201 or (entry.last_updated is not None and entry.last_updated >= started)
        result.stored += written
        result.unchanged += not written
        if entry.reference:
            result.patients |= _patients([entry.reference])
    return result


def _patients(references: Iterable[str]) -> set[str]:
    return {r for r in references if r.startswith("Patient/")}


def _source(batch: SourceBatch, index: int | None) -> str:
    if index is None or index < 0 or not batch.pooled:
        return batch.sources[0]
    return batch.sources[index]


def _issues(batch: SourceBatch, entry: EntryOutcome) -> list[Issue]:
    """In a Bundle made from NDJSON lines the entry index means nothing to the sender: an expression
    ``Bundle.entry[n].resource.x`` becomes ``Observation.x``, relative to the resource the line holds."""
    if not batch.pooled:
        return entry.issues
    resource = batch.bundle["entry"][entry.index].get("resource", {})
    prefix = f"Bundle.entry[{entry.index}].resource"
    kind = str(resource.get("resourceType", "Resource"))
    return [
        Issue(i.diagnostics, i.code, i.severity, i.expression.replace(prefix, kind, 1)) if i.expression else i
        for i in entry.issues
    ]
