"""Issue 17: a report stored in the ingest's own transaction needs no evaluation request, so none is written
(and deleted again); a patient whose evaluation fails there is requested, with the failure recorded, for the
workers; a request left pending earlier is met by the next report. On SQLite and the real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from benchmarks.synthetic import patient_resources
from service.adapters.fhir_in.versions import FhirVersion
from service.adapters.store.evaluation_jobs import EvaluationJobs
from service.app.evaluate import Evaluate
from service.app.ingest import EVALUATION_GRACE, Endpoint
from service.bootstrap import Container

PATIENTS = [f"Patient/inline-{n}" for n in range(3)]


def _bundle() -> dict[str, Any]:
    entries = [{"resource": r} for p in PATIENTS for r in patient_resources(p[8:], 3)]
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


async def _post(container: Container) -> list[str]:
    bundle = _bundle()
    result = await container.pipeline.accept(bundle, orjson.dumps(bundle), Endpoint.BUNDLE, FhirVersion.R4)
    return result.reports


async def _jobs(container: Container) -> list[Any]:
    async with container.store.reading() as reader:
        return await reader.evaluation_jobs.all()


async def test_a_report_stored_inline_writes_no_request(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    requested: list[set[str]] = []
    original = EvaluationJobs.request

    async def recorded(self: EvaluationJobs, patients: set[str], *args: Any) -> None:
        requested.append(set(patients))
        await original(self, patients, *args)

    monkeypatch.setattr(EvaluationJobs, "request", recorded)
    assert len(await _post(container)) == len(PATIENTS)
    assert requested == [set()] and await _jobs(container) == []


async def test_a_failing_evaluation_is_requested_with_its_failure_the_others_reported(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Evaluate.__call__

    async def broken_for_one(self: Evaluate, request: Any, reader: Any = None) -> Any:
        if request.patient == PATIENTS[1]:
            raise RuntimeError("Patient/inline-1 secret detail")
        return await original(self, request, reader)

    monkeypatch.setattr(Evaluate, "__call__", broken_for_one)
    reports = await _post(container)
    assert len(reports) == len(PATIENTS) - 1
    (job,) = await _jobs(container)
    assert (job.patient_ref, job.attempts, job.last_error) == (PATIENTS[1], 1, "RuntimeError")
    assert job.due_at > datetime.now(UTC) + EVALUATION_GRACE  # the failure's backoff, not the grace
    monkeypatch.undo()
    container.evaluations.clock = lambda: datetime.now(UTC) + timedelta(minutes=2)
    assert await container.evaluations.tick() == 1
    assert await _jobs(container) == []


async def test_a_request_pending_before_is_met_by_the_inline_report(container: Container) -> None:
    async with container.store.writing({PATIENTS[0]}) as writer:
        await writer.evaluation_jobs.request({PATIENTS[0]}, datetime.now(UTC), EVALUATION_GRACE)
    assert [job.patient_ref for job in await _jobs(container)] == [PATIENTS[0]]
    assert len(await _post(container)) == len(PATIENTS)
    assert await _jobs(container) == []
