"""After ingestion, each affected patient is evaluated again and the report, its Observations, the
CarePlan and the Provenance are stored (issue 6). A corrected time point amends its report: same
identifier and id, ``status = amended``, a new version; an unchanged result stores nothing new.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import structlog
from sqlalchemy.exc import IntegrityError

from service.app.evaluate import Evaluate, EvaluationRequest
from service.app.ports import Store, Writer
from service.app.report_versions import (
    NOT_ASSESSABLE,
    REPORT,
    Printed,
    Versions,
    printed,
    unchanged,
    with_version_text,
)
from service.app.store_records import CurrentVersion, EvaluationJob, NewVersion, StoredResource
from service.app.subscriptions import Subscriptions, enqueue_write_back
from service.domain.assess import NotAssessableError
from service.domain.assessment import Assessment

log = structlog.get_logger("service.reports")

# Issue 17: a failing evaluation is tried again after 30 s, doubling up to an hour, and never dropped.
EVALUATION_RETRY_FIRST = timedelta(seconds=30)
EVALUATION_RETRY_MAX = timedelta(hours=1)

# Resources every report carries that belong to no patient: the service's own Device.
_SHARED = frozenset({"Device"})

# A patient's evaluation to store: (patient, the generation of the request it meets or None, its rendered
# Bundle or None when not assessable).
Evaluated = tuple[str, int | None, dict[str, Any] | None]
Render = Callable[[Assessment, datetime], dict[str, Any]]
Known = dict[tuple[str, str], CurrentVersion]


@dataclass(slots=True)
class Changes:
    """What one patient's new report changes: the resources to store as new versions, and of those the
    ones stored before (amended)."""

    patient: str
    bundle: dict[str, Any]
    resources: list[dict[str, Any]]
    amended: set[tuple[str, str]] = field(default_factory=set)
    prints: dict[int, Printed] = field(default_factory=dict)  # every resource's, by id(): made once


@dataclass(frozen=True)
class ReportWriter:
    store: Store
    evaluate: Evaluate
    render: Render
    fhir_version: str = "4.0"
    # Issue 7: the notifications and the write-back are queued in the report's own transaction.
    subscriptions: Subscriptions | None = None
    write_back: bool = False
    wake: Callable[[], None] = field(default=lambda: None)
    shared_written: set[tuple[str, str]] = field(default_factory=set)  # this process wrote or saw them

    @property
    def versions(self) -> Versions:
        """The knowledge-base and rules versions this writer's evaluations are made with (issue 17)."""
        knowledge = self.evaluate.knowledge
        return Versions(knowledge.version, knowledge.rules_version)

    async def __call__(self, patients: Iterable[str]) -> list[str]:
        """Re-evaluate each patient; the references of the DiagnosticReports written (new or amended).
        Issue 17: each patient's evaluation request is met in the report's own transaction, or recorded
        as failed (due again after a backoff), so no report a stored change implies is ever lost."""
        written = []
        for patient in sorted(patients):
            written += await self.evaluate_patient(patient)
        if written:
            self.wake()
        return written

    async def evaluate_patient(self, patient: str) -> list[str]:
        async with self.store.reading() as reader:
            job = await reader.evaluation_jobs.job(patient)
        generation = job.generation if job else None
        bundle = None
        try:
            bundle = self.render(await self.evaluate(EvaluationRequest(patient)), _now())
        except NotAssessableError:
            log.info("not_assessable", reason="no follow-up imaging or no baseline")
        except Exception as exc:  # the data is stored: a failed evaluation must not undo the post
            log.exception("evaluation_failed")
            await self._failed(patient, job, exc)
            return []
        if bundle is not None:
            await self.ensure_shared(bundle)
        async with self.store.writing({patient}) as writer:
            return await self.store_evaluated(writer, [(patient, generation, bundle)], _now())

    async def _failed(self, patient: str, job: EvaluationJob | None, exc: Exception) -> None:
        """Recorded durably with the error's class only (a message may hold patient data), retried later."""
        if job is None:
            return
        async with self.store.writing({patient}) as writer:
            await writer.evaluation_jobs.fail(
                patient, job.generation, type(exc).__name__, datetime.now(UTC), backoff(job)
            )

    async def store_evaluated(
        self,
        writer: Writer,
        evaluated: Sequence[Evaluated],
        now: datetime,
        prints: Mapping[int, Printed] | None = None,
    ) -> list[str]:
        """A batch of evaluations stored in the caller's transaction, in a few statements for them all: one
        current-versions read, the requests met and the versions recorded, the changed resources of every
        patient written as one batch of versions, then each patient's notifications and write-back queued
        in the batch's order. The DiagnosticReports written. ``prints``: the resources' ``printed`` by
        ``id()``, when the caller made them before its transaction (the worker: less time holding SQLite's
        one write lock). (The versions are recorded before the batch is
        written, so on PostgreSQL they go in with it, in one round trip: issue 17, owed.py.)"""
        keys = [_key(r) for _, _, bundle in evaluated if bundle for r in patient_resources(bundle)]
        known = await writer.current_versions(keys)
        changes = [
            found
            for patient, _, bundle in evaluated
            if bundle is not None and (found := self.changes(patient, bundle, known, prints)) is not None
        ]
        jobs, versions = writer.evaluation_jobs, self.versions
        await jobs.complete_all([(p, generation) for p, generation, _ in evaluated if generation is not None])
        outcomes = [versions.evaluated(p, REPORT if bundle else NOT_ASSESSABLE) for p, _, bundle in evaluated]
        await jobs.record_versions(outcomes, now)
        return await self._write(writer, changes, known, now)

    def printed_of(self, bundle: dict[str, Any]) -> dict[int, Printed]:
        """What each resource of a rendered Bundle prints, by ``id()`` (for :meth:`store_evaluated`)."""
        return {id(r): printed(r, self.versions.knowledge) for r in patient_resources(bundle)}

    def changes(
        self, patient: str, bundle: dict[str, Any], known: Known, made: Mapping[int, Printed] | None = None
    ) -> Changes | None:
        """The resources whose result changed (the knowledge-base version they print is left out of the
        comparison, ``report_versions``); None when none did: an unchanged report keeps its version and
        notifies no one. ``known``: what ``current_versions`` answered for (at least) these resources."""
        knowledge = self.versions.knowledge
        resources = patient_resources(bundle)
        made = made or {}
        prints = {id(r): made.get(id(r)) or printed(r, knowledge) for r in resources}
        changed = [
            r for r in resources if not unchanged(_current_hash(known, r), r, knowledge, prints[id(r)])
        ]
        if not changed:
            return None
        return Changes(patient, bundle, changed, prints=prints)

    async def _write(self, writer: Writer, changes: list[Changes], known: Known, now: datetime) -> list[str]:
        """Every patient's changed resources as one batch of versions, under one small submission row that
        names what produced them (the resources are the versions: the rendered Bundle is not kept again);
        then, patient by patient, the events numbered and the outbox rows queued."""
        if not changes:
            return []
        knowledge = self.versions.knowledge
        reports = [(patient_resources(c.bundle), c.resources) for c in changes]
        prints = {key: p for c in changes for key, p in c.prints.items()}
        stored_anew = await with_version_text(writer, reports, knowledge, prints)
        for c, resources in zip(changes, stored_anew, strict=True):
            c.resources = resources
            # Issue 15: every changed resource sent before is replaced on the EHR (a conditional update),
            # not only the report, so an amended report never points at an Observation with its first values.
            c.amended = {_key(r) for r in resources if _key(r) in known}
            for resource in resources:
                if resource["resourceType"] == "DiagnosticReport" and _key(resource) in c.amended:
                    resource["status"] = "amended"  # FHIR-CONTRACT section 4: a corrected time point
        submission_id = await self._producer(writer, now)
        versions = [
            NewVersion(r, c.prints[id(r)].fingerprint, c.patient, []) for c in changes for r in c.resources
        ]
        stored = await writer.write_versions(versions, submission_id, now, known)
        written, start = [], 0
        for c in changes:
            mine, start = stored[start : start + len(c.resources)], start + len(c.resources)
            await self._enqueue(writer, c, mine, now)
            written += [s.reference for s in mine if s.resource_type == "DiagnosticReport"]
        return written

    async def _enqueue(
        self, writer: Writer, change: Changes, stored: list[StoredResource], now: datetime
    ) -> None:
        if self.subscriptions is not None:
            await self.subscriptions.enqueue_events(writer.enqueue, change.patient, stored, now)
        if self.write_back:
            await enqueue_write_back(writer.enqueue, change.bundle, change.amended, now)

    async def _producer(self, writer: Writer, now: datetime) -> str:
        """The submission row the versions of an evaluation point at (endpoint ``evaluation``): what
        produced them, the knowledge-base and rules versions, not a copy of what they hold."""
        submission_id, versions = str(uuid.uuid4()), self.versions
        content = orjson.dumps({"knowledgeVersion": versions.knowledge, "rulesVersion": versions.rules})
        await writer.add_submission(submission_id, now, "evaluation", None, self.fhir_version, content)
        return submission_id

    async def ensure_shared(self, bundle: dict[str, Any]) -> None:
        """The service's Device is the same in every patient's report: written once, in its own transaction
        and under no patient's lock, so two first reports of two patients never race to create it (a
        concurrent creation by another replica is refused by the unique version and taken as done)."""
        shared = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] in _SHARED]
        now = datetime.now(UTC)
        if not shared or {_key(r) for r in shared} <= self.shared_written:
            return
        try:
            async with self.store.writing(set()) as writer:
                current = await writer.current_versions(_key(r) for r in shared)
                knowledge = self.versions.knowledge
                prints = {id(r): printed(r, knowledge) for r in shared}
                new = [
                    r for r in shared if not unchanged(_current_hash(current, r), r, knowledge, prints[id(r)])
                ]
                if new:
                    submission_id = await self._producer(writer, now)
                    versions = [NewVersion(r, prints[id(r)].fingerprint, None, []) for r in new]
                    await writer.write_versions(versions, submission_id, now, current)
        except IntegrityError:
            log.info("shared_resource_written_concurrently")
        self.shared_written.update(_key(r) for r in shared)


def backoff(job: EvaluationJob) -> timedelta:
    """Issue 17: 30 s after the first failure, doubling up to an hour."""
    delay: timedelta = min(EVALUATION_RETRY_FIRST * 2 ** int(job.attempts), EVALUATION_RETRY_MAX)
    return delay


def patient_resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """The rendered resources that belong to the patient (not the shared Device)."""
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] not in _SHARED]


def _now() -> datetime:
    return datetime.now(UTC)


def _key(resource: dict[str, Any]) -> tuple[str, str]:
    return resource["resourceType"], resource["id"]


def _current_hash(current: dict[tuple[str, str], Any], resource: dict[str, Any]) -> str | None:
    found = current.get(_key(resource))
    return found.posted_hash if found else None
