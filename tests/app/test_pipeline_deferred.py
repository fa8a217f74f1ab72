"""Issue 17: a posted Bundle that changes more patients than ONCO_INLINE_REPORT_PATIENTS is answered once its
data and its patients' evaluation requests (due now) are committed, and the evaluation worker makes the
reports; a Bundle within the limit, or any Bundle with the setting off, is still reported inline. On SQLite
and the real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from benchmarks.synthetic import patient_resources
from service.adapters.fhir_in.versions import FhirVersion
from service.adapters.store import SearchQuery
from service.app.evaluate import Evaluate
from service.app.ingest import Endpoint
from service.bootstrap import Container, build
from service.config import Settings

PATIENTS = [f"Patient/deferred-{n}" for n in range(3)]
WAKE_BOUND_S = 20.0  # far below the worker's 60 s poll: only the wake can meet it


@pytest.fixture
async def deferring(database_url: str) -> AsyncIterator[Container]:
    """The service wired with ONCO_INLINE_REPORT_PATIENTS=1, without the background workers running."""
    built = build(Settings(database_url=database_url, delivery_worker=False, inline_report_patients=1))
    await built.store.migrate()
    yield built
    await built.http.aclose()
    await built.store.close()


def _bundle(patients: list[str]) -> dict[str, Any]:
    entries = [{"resource": r} for p in patients for r in patient_resources(p[8:], 3)]
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


async def _post(container: Container, patients: list[str]) -> list[str]:
    bundle = _bundle(patients)
    result = await container.pipeline.accept(bundle, orjson.dumps(bundle), Endpoint.BUNDLE, FhirVersion.R4)
    return result.reports


async def _jobs(container: Container) -> list[Any]:
    async with container.store.reading() as reader:
        return await reader.evaluation_jobs.all()


async def _assessments(container: Container, patient: str) -> int:
    """The service's own reports of the patient (the Bundle carries imaging DiagnosticReports too)."""
    async with container.store.reading() as reader:
        _, found = await reader.search(SearchQuery("DiagnosticReport", patient_ref=patient))
    return sum(1 for stored in found if _is_assessment(stored.content))


def _is_assessment(report: dict[str, Any]) -> bool:
    return any(c.get("system", "").endswith("/CodeSystem/report-type") for c in report["code"]["coding"])


async def test_more_patients_than_the_limit_are_requested_due_now_and_the_worker_reports_them(
    deferring: Container,
) -> None:
    """Three patients over a limit of one: no report in the answer or the store, a request due now for each;
    one worker poll stores the three reports and leaves no request."""
    assert await _post(deferring, PATIENTS) == []
    assert [await _assessments(deferring, p) for p in PATIENTS] == [0, 0, 0]
    jobs = await _jobs(deferring)
    assert sorted(job.patient_ref for job in jobs) == PATIENTS
    assert all(job.due_at <= datetime.now(UTC) for job in jobs)
    assert await deferring.evaluations.tick() == len(PATIENTS)
    assert [await _assessments(deferring, p) for p in PATIENTS] == [1, 1, 1]
    assert await _jobs(deferring) == []


async def test_a_bundle_within_the_limit_is_still_reported_inline(deferring: Container) -> None:
    """One patient, limit one: the report is in the answer and stored, and no request is left."""
    reports = await _post(deferring, PATIENTS[:1])
    assert len(reports) == 1 and await _assessments(deferring, PATIENTS[0]) == 1
    assert await _jobs(deferring) == []


async def test_without_a_limit_every_patient_is_reported_inline(container: Container) -> None:
    """The default (no ONCO_INLINE_REPORT_PATIENTS): a three-patient Bundle is reported in its request."""
    assert container.settings.inline_report_patients is None
    assert len(await _post(container, PATIENTS)) == len(PATIENTS)
    assert [await _assessments(container, p) for p in PATIENTS] == [1, 1, 1]
    assert await _jobs(container) == []


async def test_a_deferred_post_wakes_the_idle_worker_at_once(
    deferring: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker idle for a 60 s poll evaluates a deferred post well within 20 s: the post wakes it."""
    worker = deferring.evaluations
    worker.poll_seconds = 60.0
    idle = asyncio.Event()
    tick = worker.tick

    async def noting_idle() -> int:
        done = await tick()
        if not done:
            idle.set()  # run() goes straight on to wait for the poll or a wake
        return done

    monkeypatch.setattr(worker, "tick", noting_idle)
    running = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(idle.wait(), WAKE_BOUND_S)
        assert await _post(deferring, PATIENTS) == []

        async def requests_met() -> None:
            while await _jobs(deferring):
                await asyncio.sleep(0.05)

        await asyncio.wait_for(requests_met(), WAKE_BOUND_S)
        assert [await _assessments(deferring, p) for p in PATIENTS] == [1, 1, 1]
    finally:
        worker.request_stop()
        await asyncio.wait_for(running, WAKE_BOUND_S)


async def test_a_deferred_patient_whose_evaluation_fails_stays_requested_with_one_attempt(
    deferring: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker's failure path is the same for a deferred post: the failing patient keeps its request with
    attempts=1 and the error's class; the others are reported."""
    original = Evaluate.__call__

    async def broken_for_one(self: Evaluate, request: Any, reader: Any = None) -> Any:
        if request.patient == PATIENTS[1]:
            raise RuntimeError("Patient/deferred-1 secret detail")
        return await original(self, request, reader)

    monkeypatch.setattr(Evaluate, "__call__", broken_for_one)
    assert await _post(deferring, PATIENTS) == []
    assert await deferring.evaluations.tick() == len(PATIENTS)
    (job,) = await _jobs(deferring)
    assert (job.patient_ref, job.attempts, job.last_error) == (PATIENTS[1], 1, "RuntimeError")
    assert job.due_at > datetime.now(UTC)  # due again after a backoff, not at once
    assert [await _assessments(deferring, p) for p in PATIENTS] == [1, 0, 1]
