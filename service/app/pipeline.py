"""The write path of a posted Bundle, as the README tells it (issue 17): accept → store → evaluate → report →
enqueue, in one transaction and one commit.

The ingest stores what the Bundle changes; in the same transaction each changed patient is evaluated on what
the transaction sees (the facts just normalised are used as they are, not decoded again) and the reports,
the notifications and the write-back are stored, meeting any request still pending for the patient. The
ingest then requests the evaluation of each changed patient whose report was not stored (a failing
evaluation is requested with its failure recorded), so a report stored inline costs no request written only
to be deleted again. Once the sender has its 2xx, everything the Bundle implies is committed with it, or
requested in the same commit and made by the workers. A patient first seen while ``ONCO_FETCH_HISTORY`` is
on is the exception: its history must be fetched from the EHR first, which cannot happen inside a
transaction, so its evaluation follows the commit; the request the ingest made covers a crash in between.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from service.adapters.fhir_in.versions import FhirVersion
from service.app.audit import record_in_write, write_committed
from service.app.evaluate import EvaluationRequest
from service.app.history import HistoryFetch
from service.app.ingest import EVALUATION_GRACE, Endpoint, Ingest, IngestResult
from service.app.ports import Writer
from service.app.reports import ReportWriter, backoff
from service.domain.assess import NotAssessableError
from service.domain.facts import Fact
from service.errors import PayloadTooLarge

log = structlog.get_logger("service.pipeline")


@dataclass(frozen=True)
class Pipeline:
    ingest: Ingest
    reports: ReportWriter
    history: HistoryFetch | None
    max_entries: int
    inline_patients: int | None = None  # ONCO_INLINE_REPORT_PATIENTS: past it, the workers report
    wake_workers: Callable[[], None] = lambda: None  # this process's evaluation worker, if it runs one

    async def accept(
        self,
        bundle: dict[str, Any],
        raw: bytes,
        endpoint: Endpoint,
        version: FhirVersion,
        *,
        posted_text: bytes | None = None,
    ) -> IngestResult:
        """``posted_text``: orjson's compact serialisation of the body as parsed, when the caller has it
        (the JSON guard's), which the ingest plans from instead of serialising the entries again."""
        entries = bundle.get("entry")
        if isinstance(entries, list) and len(entries) > self.max_entries:
            raise PayloadTooLarge(
                f"The Bundle has {len(entries)} entries; ONCO_MAX_ENTRIES is {self.max_entries}",
                expression="Bundle.entry",
            )
        done = _Reported()

        async def report(writer: Writer, patients: set[str], facts: dict[str, list[Fact]]) -> set[str]:
            await record_in_write(writer, patients, facts)  # the request's AuditEvent, in this transaction
            if self.inline_patients is not None and len(patients) > self.inline_patients:
                done.deferred = True  # requested due now: the workers evaluate them after the commit
                await writer.evaluation_jobs.request(patients, datetime.now(UTC), timedelta(0))
                return patients
            ready = {p for p in patients if self.history is None or await writer.history_fetched(p)}
            done.patients |= ready
            return await self._report_in(writer, ready, facts, done)

        result = await self.ingest(
            bundle, raw, endpoint, version, after_write=report, posted_text=posted_text
        )
        write_committed()
        if done.shared is not None:  # the service's Device: its own transaction, once per process
            await self.reports.ensure_shared(done.shared)
        if done.reports:
            self.reports.wake()
        if done.deferred:
            self.wake_workers()
            return result  # the workers fetch any first-seen patient's history before its evaluation
        result.reports = done.reports
        first_seen = result.patients - done.patients
        if first_seen and self.history is not None:  # the EHR's earlier data, before the first evaluation
            await self.history(first_seen)
            result.reports += await self.reports(first_seen)
        return result

    async def _report_in(
        self, writer: Writer, patients: Iterable[str], facts: dict[str, list[Fact]], done: _Reported
    ) -> set[str]:
        """Evaluate each patient, then store every report in a few statements for them all, meeting any
        request still pending for them (an earlier failure's, or a worker's); the patients settled. A
        failing evaluation does not undo the data: its patient is requested, with the failure recorded, for
        the workers."""
        now, jobs, patients = datetime.now(UTC), writer.evaluation_jobs, sorted(patients)
        stored = await self._stored_facts(writer, patients, facts)
        await writer.send_ahead()  # the database stores the ingest while the patients are evaluated
        rendered: dict[str, dict[str, Any] | None] = {}
        failed: dict[str, Exception] = {}
        for patient in patients:
            await asyncio.sleep(0)  # between patients, the loop runs: other requests, the batch's sending
            found = stored.get(patient)
            request = EvaluationRequest(patient, tuple(facts.get(patient, ())), stored=found)
            try:
                rendered[patient] = self.reports.render(await self.reports.evaluate(request, writer), now)
            except NotAssessableError:
                rendered[patient] = None
            except Exception as exc:  # recorded like the worker's failures, with the error's class only
                log.exception("evaluation_failed")
                failed[patient] = exc
        await self._failed(writer, failed, now)
        if rendered:
            pending = await jobs.generations(set(rendered))
            evaluated = [(p, pending.get(p), bundle) for p, bundle in rendered.items()]
            done.reports += await self.reports.store_evaluated(writer, evaluated, now)
            done.shared = done.shared or next((b for b in rendered.values() if b is not None), None)
        return set(rendered) | set(failed)

    @staticmethod
    async def _failed(writer: Writer, failed: dict[str, Exception], now: datetime) -> None:
        """Each failing patient's report requested again, the failure recorded on the request (due after
        a backoff), as the worker records its own failures."""
        if not failed:
            return
        jobs = writer.evaluation_jobs
        await jobs.request(set(failed), now, EVALUATION_GRACE)
        for patient, exc in failed.items():
            if (job := await jobs.job(patient)) is not None:
                await jobs.fail(patient, job.generation, type(exc).__name__, now, backoff(job))

    async def _stored_facts(
        self, writer: Writer, patients: list[str], facts: dict[str, list[Fact]]
    ) -> dict[str, tuple[Fact, ...]]:
        """The stored facts of every patient in one read (issue 17), without the rows of the sources just
        written, whose facts are here in memory (every current row of such a source is one of them). Should
        a row not decode, each patient's evaluation reads its own, so the failure stays that patient's."""
        written = {fact.source for found in facts.values() for fact in found}
        try:
            stored = await self.reports.evaluate.stored_facts_of(patients, writer, written)
        except Exception:
            log.exception("stored_facts_unreadable")
            return {}
        return {patient: tuple(found) for patient, found in stored.items()}


@dataclass(slots=True)
class _Reported:
    patients: set[str] = field(default_factory=set)  # evaluated inside the ingest's transaction
    reports: list[str] = field(default_factory=list)  # the DiagnosticReports written, new or amended
    shared: dict[str, Any] | None = None  # a rendered Bundle, for the shared resources it carries
    deferred: bool = False  # more patients than ONCO_INLINE_REPORT_PATIENTS: requested for the workers
