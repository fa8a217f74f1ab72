"""Re-evaluation when the knowledge changes (issue 17), and the batches the evaluation worker makes.

Each evaluation records the knowledge-base and rules versions it was made with (``report_versions``, in the
report's transaction). A patient whose recorded versions differ from the loaded knowledge's (or who has none:
stored before versions were recorded) is *stale*; :func:`request_stale` owes each of them a report again, in
batches, and the workers of every replica evaluate them (:class:`BatchReports`).

A batch's stored facts are read in one query, then it is evaluated one patient after another outside any
transaction (facts → assessment → FHIR, and each resource's comparable text, all CPU), then stored in one
transaction: one commit for the batch instead of one per patient. A report is stored only for a patient
whose request is still the generation claimed (a change stored meanwhile has its own request, which sees
it), and only the resources whose result changed are written: the knowledge-base version they print is left
out of that comparison (``report_fingerprint``), so a version bump that changes no result writes no version
and notifies no one, and the unchanged report keeps naming the version that produced it.
Should the batch's transaction fail, each patient is stored alone, so one bad patient never holds back the
others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

from service.app.evaluate import EvaluationRequest
from service.app.ports import Store
from service.app.report_versions import Printed, Versions
from service.app.reports import ReportWriter, backoff
from service.app.store_records import EvaluationJob
from service.domain.assess import NotAssessableError
from service.domain.facts import Fact

log = structlog.get_logger("service.evaluations")

REQUEST_BATCH = 1000  # patients requested per transaction
# A lock name no patient reference can have: two replicas starting together request the stale patients one
# after the other (PostgreSQL advisory lock; SQLite's write lock serialises them anyway).
_REQUEST_LOCK = "evaluation_jobs:reevaluation"


async def stale_patients(store: Store, versions: Versions) -> list[str]:
    async with store.reading() as reader:
        return await reader.evaluation_jobs.stale_patients(versions.knowledge, versions.rules)


async def request_stale(
    store: Store, versions: Versions, now: datetime, progress: Callable[[int], None] = lambda n: None
) -> int:
    """Owe a report to every stale patient that is not owed one already; how many were requested."""
    return await request_patients(store, await stale_patients(store, versions), now, progress)


async def request_patients(
    store: Store, patients: list[str], now: datetime, progress: Callable[[int], None] = lambda n: None
) -> int:
    """A re-evaluation request, due now, for each patient that has none, ``REQUEST_BATCH`` per transaction;
    ``progress`` is told how many patients each batch covered."""
    added = 0
    for start in range(0, len(patients), REQUEST_BATCH):
        chunk = patients[start : start + REQUEST_BATCH]
        async with store.writing({_REQUEST_LOCK}) as writer:
            added += await writer.evaluation_jobs.request_reevaluation(chunk, now)
        progress(len(chunk))
    return added


@dataclass(frozen=True, slots=True)
class _Evaluated:
    job: EvaluationJob
    bundle: dict[str, Any] | None  # None: not assessable, or failed
    error: Exception | None = None
    prints: dict[int, Printed] = field(default_factory=dict)  # the bundle's resources' ``printed``


@dataclass(frozen=True)
class BatchReports:
    reports: ReportWriter

    async def __call__(self, jobs: list[EvaluationJob]) -> list[str]:
        """Evaluate the claimed requests and store what they produce; the DiagnosticReports written."""
        stored = await self._stored_facts(jobs)
        evaluated = [await self._evaluate(job, stored.get(job.patient_ref)) for job in jobs]
        for e in evaluated:
            if e.bundle is not None:
                await self.reports.ensure_shared(e.bundle)  # once per process: a set lookup after that
                break
        try:
            written = await self._store(evaluated)
        except Exception:
            log.exception("evaluation_batch_failed", count=len(jobs))
            written = []
            for e in evaluated:  # alone, so one patient's failure cannot hold back the others
                try:
                    written += await self._store([e])
                except Exception as exc:
                    log.exception("evaluation_store_failed")
                    await self._store([_Evaluated(e.job, None, exc)])
        if written:
            self.reports.wake()
        return written

    async def _stored_facts(self, jobs: list[EvaluationJob]) -> dict[str, tuple[Fact, ...]]:
        """The batch's stored facts in one read (issue 17), not one per patient. Should a row not decode,
        each patient's evaluation reads its own, so the failure stays that patient's."""
        try:
            stored = await self.reports.evaluate.stored_facts_of([job.patient_ref for job in jobs])
        except Exception:
            log.exception("stored_facts_unreadable")
            return {}
        return {patient: tuple(found) for patient, found in stored.items()}

    async def _evaluate(self, job: EvaluationJob, stored: tuple[Fact, ...] | None) -> _Evaluated:
        try:
            assessment = await self.reports.evaluate(EvaluationRequest(job.patient_ref, stored=stored))
        except NotAssessableError:
            return _Evaluated(job, None)
        except Exception as exc:  # recorded with its class only and retried after a backoff
            log.exception("evaluation_failed")
            return _Evaluated(job, None, exc)
        bundle = self.reports.render(assessment, datetime.now(UTC))
        return _Evaluated(job, bundle, prints=self.reports.printed_of(bundle))  # outside the transaction

    async def _store(self, evaluated: list[_Evaluated]) -> list[str]:
        patients = {e.job.patient_ref for e in evaluated}
        now = datetime.now(UTC)
        async with self.reports.store.writing(patients) as writer:
            jobs = writer.evaluation_jobs
            pending = await jobs.generations(patients)
            current = [e for e in evaluated if pending.get(e.job.patient_ref) == e.job.generation]
            for e in current:
                if e.error is not None:
                    error = type(e.error).__name__
                    await jobs.fail(e.job.patient_ref, e.job.generation, error, now, backoff(e.job))
            met = [(e.job.patient_ref, e.job.generation, e.bundle) for e in current if e.error is None]
            prints = {key: p for e in current for key, p in e.prints.items()}
            return await self.reports.store_evaluated(writer, met, now, prints)
