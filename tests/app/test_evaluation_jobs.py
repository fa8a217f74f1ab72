"""Issue 17: once a Bundle is stored, the report it implies is owed durably. A crash between the ingest
commit and the report (here: the report writer is simply never called), or a failing evaluation, leaves an
evaluation request that the worker of any replica completes; a request only disappears with its report.
On SQLite and the real PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from service.adapters.fhir_in.versions import FhirVersion
from service.adapters.store import SearchQuery
from service.app.ingest import EVALUATION_GRACE, Endpoint
from service.bootstrap import Container
from tests.conftest import REPO

CASE = REPO / "tests" / "golden" / "t45-flaura2-one-line" / "input.json"
PATIENT = "Patient/g-t45"


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


async def _ingest(container: Container, bundle: dict[str, Any] | None = None) -> None:
    bundle = bundle or orjson.loads(CASE.read_bytes())
    await container.ingest(bundle, orjson.dumps(bundle), Endpoint.BUNDLE, FhirVersion.R4)


async def _reports(container: Container) -> int:
    async with container.store.reading() as reader:
        total, _ = await reader.search(SearchQuery("DiagnosticReport", patient_ref=PATIENT))
    return total


async def _jobs(container: Container) -> list[Any]:
    async with container.store.reading() as reader:
        return await reader.evaluation_jobs.all()


def _later(container: Container, after: timedelta) -> Clock:
    clock = Clock(datetime.now(UTC) + after)
    container.evaluations.clock = clock
    return clock


async def test_a_crash_after_the_ingest_commit_leaves_the_report_owed_and_the_worker_makes_it(
    container: Container,
) -> None:
    """Stored but never evaluated (the process died): a request is pending; past the grace period the
    worker evaluates it, stores the report, and the request is gone; a second poll does nothing."""
    await _ingest(container)
    (job,) = await _jobs(container)
    assert (job.patient_ref, job.generation, job.attempts) == (PATIENT, 1, 0)
    assert await _reports(container) == 0
    _later(container, timedelta(seconds=1))
    assert await container.evaluations.tick() == 0  # still the request's own to evaluate
    _later(container, EVALUATION_GRACE + timedelta(seconds=1))
    assert await container.evaluations.tick() == 1
    assert await _reports(container) == 1
    assert await _jobs(container) == []
    assert await container.evaluations.tick() == 0


async def test_the_request_that_stored_the_data_meets_its_own_evaluation_request(
    container: Container,
) -> None:
    """The usual path: the report is written inline and removes the request in the same transaction."""
    await _ingest(container)
    await container.report_writer([PATIENT])
    assert await _reports(container) == 1
    assert await _jobs(container) == []


async def test_a_failing_evaluation_is_kept_and_retried_after_a_fix(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The error's class is recorded (never its message), the request is due again after a backoff, and
    once the evaluation works the worker stores the report."""

    async def broken(self: Any, request: Any) -> Any:
        raise RuntimeError("Patient/g-t45 secret detail")

    await _ingest(container)
    monkeypatch.setattr(type(container.evaluate), "__call__", broken)
    assert await container.report_writer([PATIENT]) == []
    (job,) = await _jobs(container)
    assert (job.attempts, job.last_error) == (1, "RuntimeError")
    monkeypatch.undo()
    assert await container.evaluations.tick() == 0  # not due before its backoff
    _later(container, timedelta(minutes=2))
    assert await container.evaluations.tick() == 1
    assert await _reports(container) == 1 and await _jobs(container) == []


async def test_a_report_of_older_data_never_clears_a_newer_request(container: Container) -> None:
    """A change stored while an evaluation ran (a newer generation) keeps its request."""
    await _ingest(container)
    (first,) = await _jobs(container)
    async with container.store.writing({PATIENT}) as writer:
        await writer.evaluation_jobs.request({PATIENT}, datetime.now(UTC), EVALUATION_GRACE)
        await writer.evaluation_jobs.complete(PATIENT, first.generation)
    (job,) = await _jobs(container)
    assert job.generation == first.generation + 1


async def test_only_one_worker_claims_a_due_request(container: Container) -> None:
    """Two replicas polling the same due request one after the other: the first claim takes it for the
    lease, the second finds nothing due."""
    await _ingest(container)
    later = datetime.now(UTC) + EVALUATION_GRACE + timedelta(seconds=1)
    claims = []
    for _ in range(2):
        async with container.store.writing(set()) as writer:
            claims.append(await writer.evaluation_jobs.claim_due(later, timedelta(minutes=2), 10))
    assert [[j.patient_ref for j in c] for c in claims] == [[PATIENT], []]
    async with container.store.reading() as reader:
        assert await reader.evaluation_jobs.counts() == (1, 0, 0)


async def test_metrics_show_the_reports_owed(container: Container) -> None:
    """The worker reports pending and failing requests to /metrics at every poll."""
    seen: list[tuple[int, int, int]] = []
    container.evaluations.observe = lambda *counts: seen.append(counts)
    await _ingest(container)
    await container.evaluations.tick()
    assert seen == [(1, 0, 0)]


async def test_the_operator_lists_the_reports_owed_and_requests_them_again(
    container: Container, database_url: str
) -> None:
    """`oncoresponse evaluations` lists a pending request; `reevaluate` with no patient owes a report for
    every stored patient again, due at once, and the worker makes it."""
    from service.cli_evaluations import list_evaluations, request_evaluations

    await _ingest(container)
    await container.report_writer([PATIENT])
    assert (await list_evaluations(database_url))[1:] == []
    assert await request_evaluations(database_url, []) == 1
    lines = await list_evaluations(database_url)
    assert len(lines) == 2 and lines[1].startswith(f"{PATIENT}\t")
    assert await container.evaluations.tick() == 1
    assert await _jobs(container) == []
    assert await request_evaluations(database_url, ["Patient/other"]) == 1
