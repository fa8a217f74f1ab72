"""Issue 17, re-evaluation when the knowledge changes: every evaluation records the knowledge-base and rules
versions that made it; a replica's worker requests the patients evaluated with another version and evaluates
them in batches; only a report whose result changed is amended. On SQLite and the real PostgreSQL (the
concurrent claim on PostgreSQL only: SQLite's write lock serialises claims)."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from benchmarks.synthetic import collection
from service.adapters.fhir_in.versions import FhirVersion
from service.adapters.store import SearchQuery, SqlStore
from service.adapters.store.evaluation_jobs import REEVALUATION, EvaluatedWith
from service.api.metrics import HttpMetrics
from service.app.ingest import EVALUATION_GRACE, Endpoint
from service.app.reevaluation import BatchReports, request_patients
from service.app.report_versions import fingerprint, unchanged
from service.bootstrap import Container, build
from service.cli import app as cli
from service.config import Settings
from service.knowledge import Knowledge
from tests.conftest import POSTGRES_URL, require_postgres_or_skip, reset_postgres

PATIENTS = [f"Patient/bench-{n}" for n in range(3)]
NEW = "2099.01.0"


def _bumped(knowledge: Knowledge, version: str = NEW) -> Knowledge:
    return dataclasses.replace(knowledge, base=knowledge.base.model_copy(update={"version": version}))


@pytest.fixture
async def reported(container: Container) -> Container:
    """Three patients stored and reported with the mappings' own knowledge."""
    bundle = collection(len(PATIENTS), 4)
    await container.ingest(bundle, orjson.dumps(bundle), Endpoint.BUNDLE, FhirVersion.R4)
    assert len(await container.report_writer(PATIENTS)) == len(PATIENTS)
    return container


@pytest.fixture
async def bumped(reported: Container, database_url: str) -> AsyncIterator[Container]:
    """A replica started with the same knowledge under a newer version."""
    built = build(
        Settings(database_url=database_url, delivery_worker=False), knowledge=_bumped(reported.knowledge)
    )
    yield built
    await built.http.aclose()
    await built.store.close()


async def _evaluated_with(container: Container, patient: str) -> EvaluatedWith | None:
    async with container.store.reading() as reader:
        return await reader.evaluation_jobs.evaluated_with(patient)


async def _report_versions(container: Container, patient: str) -> list[dict[str, Any]]:
    """The versions of the service's report (the one with a report page), newest first."""
    async with container.store.reading() as reader:
        _, found = await reader.search(SearchQuery("DiagnosticReport", patient_ref=patient))
        (report,) = [r for r in found if "presentedForm" in r.content]
        return [v.content for v in await reader.versions("DiagnosticReport", report.resource_id)]


async def _knowledge_versions(container: Container) -> set[str | None]:
    found = [await _evaluated_with(container, p) for p in PATIENTS]
    return {f.knowledge_version if f else None for f in found}


async def _provenance_version(container: Container, patient: str) -> str:
    async with container.store.reading() as reader:
        _, (provenance,) = await reader.search(SearchQuery("Provenance", patient_ref=patient))
    (found,) = [
        e["valueString"]
        for e in provenance.content["extension"]
        if e["url"].endswith("knowledge-base-version")
    ]
    return str(found)


async def _submissions(container: Container) -> int:
    async with container.store.reading() as reader:
        return await reader.submission_count()


async def test_each_evaluation_records_the_knowledge_and_rules_versions_that_made_it(
    reported: Container,
) -> None:
    """A reported patient has a row naming the loaded knowledge-base and rule-specification versions."""
    k = reported.knowledge
    assert await _evaluated_with(reported, PATIENTS[0]) == EvaluatedWith(
        PATIENTS[0], k.version, k.rules_version, "report"
    )
    async with reported.store.reading() as reader:
        assert await reader.evaluation_jobs.stale_patients(k.version, k.rules_version) == []


async def test_a_patient_with_nothing_to_assess_records_its_versions_too(container: Container) -> None:
    """Not assessable is an outcome of these versions: the patient is not stale, so not evaluated at each
    start-up again."""
    patient = {"resourceType": "Patient", "id": "lonely"}
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": patient}]}
    await container.ingest(bundle, orjson.dumps(bundle), Endpoint.BUNDLE, FhirVersion.R4)
    assert await container.report_writer(["Patient/lonely"]) == []
    found = await _evaluated_with(container, "Patient/lonely")
    assert found is not None and found.outcome == "not-assessable"


async def test_after_a_version_bump_the_stale_patients_are_reevaluated_and_no_unchanged_report_is_amended(
    reported: Container, bumped: Container
) -> None:
    """Every patient is requested once (reason ``reevaluation``), evaluated in a batch, and records the new
    version; nothing is written (no new report version, no submission, so nothing to notify), and the
    stored report still names the version that produced it."""
    before = await _submissions(bumped)
    assert await bumped.evaluations.request_stale() == len(PATIENTS)
    assert await bumped.evaluations.request_stale() == 0  # requested already
    async with bumped.store.reading() as reader:
        assert {j.reason for j in await reader.evaluation_jobs.all()} == {REEVALUATION}
    assert await bumped.evaluations.drain() == len(PATIENTS)
    assert await _submissions(bumped) == before
    for patient in PATIENTS:
        assert len(await _report_versions(bumped, patient)) == 1
        assert await _provenance_version(bumped, patient) == reported.knowledge.version
        found = await _evaluated_with(bumped, patient)
        assert found is not None and found.knowledge_version == NEW
    assert await bumped.evaluations.request_stale() == 0


async def test_a_result_that_changed_after_a_version_bump_is_amended_and_names_the_new_version(
    reported: Container, bumped: Container
) -> None:
    """When the new knowledge changes what a report says, it is amended (a new version, ``amended``) and
    its Provenance names the new version."""
    render = bumped.report_writer.render

    def changed(assessment: Any, issued: datetime) -> dict[str, Any]:
        bundle = render(assessment, issued)
        bundle["entry"][0]["resource"]["conclusion"] += " (revised)"
        return bundle

    bumped.evaluations.report_writer = dataclasses.replace(bumped.report_writer, render=changed)
    await request_patients(bumped.store, PATIENTS[:1], datetime.now(UTC))
    assert await bumped.evaluations.drain() == 1
    latest, first = await _report_versions(bumped, PATIENTS[0])
    assert (latest["status"], latest["meta"]["versionId"], first["meta"]["versionId"]) == (
        "amended",
        "2",
        "1",
    )
    assert await _provenance_version(bumped, PATIENTS[0]) == NEW


async def test_a_change_stored_while_a_batch_is_evaluated_is_left_to_its_own_request(
    reported: Container,
) -> None:
    """The batch claimed generation 1; new data makes generation 2 before it is stored: the batch writes
    nothing for that patient and its request stays for the evaluation that sees the new data."""
    await request_patients(reported.store, PATIENTS[:1], datetime.now(UTC))
    async with reported.store.writing(set()) as writer:
        jobs = await writer.evaluation_jobs.claim_due(datetime.now(UTC), timedelta(minutes=2), 10)
    async with reported.store.writing({PATIENTS[0]}) as writer:
        await writer.evaluation_jobs.request({PATIENTS[0]}, datetime.now(UTC), EVALUATION_GRACE)
    assert await BatchReports(reported.report_writer)(jobs) == []
    async with reported.store.reading() as reader:
        (job,) = await reader.evaluation_jobs.all()
    assert job.generation == jobs[0].generation + 1


async def test_one_patient_failing_to_store_does_not_hold_back_the_rest_of_its_batch(
    reported: Container, bumped: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch's transaction fails; each patient is then stored alone: the others are met, the failing
    one is recorded with its error's class and retried later."""
    changes = type(bumped.report_writer).changes

    def broken(self: Any, patient: str, bundle: dict[str, Any], known: Any, made: Any = None) -> Any:
        if patient == PATIENTS[1]:
            raise RuntimeError("Patient/bench-1 detail")
        return changes(self, patient, bundle, known, made)

    monkeypatch.setattr(type(bumped.report_writer), "changes", broken)
    await bumped.evaluations.request_stale()
    assert await bumped.evaluations.drain() == len(PATIENTS)
    async with bumped.store.reading() as reader:
        (job,) = await reader.evaluation_jobs.all()
    assert (job.patient_ref, job.attempts, job.last_error) == (PATIENTS[1], 1, "RuntimeError")
    assert (await _evaluated_with(bumped, PATIENTS[0])).knowledge_version == NEW  # type: ignore[union-attr]


async def test_the_worker_requests_the_stale_patients_when_it_starts(bumped: Container) -> None:
    """A replica started on newer knowledge re-evaluates the stale patients without being asked."""
    bumped.evaluations.poll_seconds = 0.01
    task = asyncio.create_task(bumped.evaluations.run())
    try:
        for _ in range(500):
            if await _knowledge_versions(bumped) == {NEW}:
                break
            await asyncio.sleep(0.02)
    finally:
        bumped.evaluations.request_stop()
        await task
    assert await _knowledge_versions(bumped) == {NEW}


async def test_metrics_show_the_reevaluations_in_progress(bumped: Container) -> None:
    """``oncoresponse_evaluation_requests{state="reevaluation"}`` counts the re-evaluations owed."""
    metrics = HttpMetrics()
    bumped.evaluations.observe = metrics.evaluation_requests
    await bumped.evaluations.request_stale()
    await bumped.evaluations.tick()
    assert b'oncoresponse_evaluation_requests{state="reevaluation"} 3.0' in metrics.render()
    await bumped.evaluations.tick()
    assert b'oncoresponse_evaluation_requests{state="reevaluation"} 0.0' in metrics.render()


def _with_version(resource: dict[str, Any], version: str, size: float = 31.0) -> dict[str, Any]:
    html = f"<p>Sum {size} mm</p><p>Knowledge base {version}</p>".encode()
    return {
        **resource,
        "conclusion": f"Sum {size} mm",
        "extension": [{"url": "knowledge-base-version", "valueString": version}],
        "presentedForm": [{"contentType": "text/html", "data": base64.b64encode(html).decode()}],
    }


def test_the_fingerprint_leaves_out_the_knowledge_version_but_not_a_changed_result() -> None:
    """The version, wherever it is printed (an element, the report page inside presentedForm), does not
    count; a changed value, in an element or only in the page, does; so do volatile elements not."""
    base = {"resourceType": "DiagnosticReport", "id": "r", "status": "preliminary", "issued": "2026-01-01"}
    old = _with_version(base, "2026.12.0")
    assert fingerprint(old, "2026.12.0") == fingerprint(_with_version(base, NEW), NEW)
    assert fingerprint(old, "2026.12.0") != fingerprint(_with_version(base, NEW, 32.0), NEW)
    page_only = {**_with_version(base, NEW, 32.0), "conclusion": "Sum 31.0 mm"}
    assert fingerprint(old, "2026.12.0") != fingerprint(page_only, NEW)
    amended = {**_with_version(base, NEW), "status": "amended", "issued": "2026-02-02"}
    assert unchanged(fingerprint(old, "2026.12.0"), amended, NEW)


def test_a_report_stored_before_fingerprints_matches_when_only_volatile_elements_differ() -> None:
    """Its stored hash still holds the version text: same version and result, no amendment; a result
    change or a version change is one."""
    from service.adapters.fhir_in.bundles import content_hash

    resource = _with_version({"resourceType": "DiagnosticReport", "id": "r"}, "2026.12.0")
    legacy = content_hash(resource)
    assert unchanged(legacy, {**resource, "issued": "2027-01-01"}, "2026.12.0")
    assert not unchanged(legacy, _with_version(resource, "2026.12.0", 40.0), "2026.12.0")
    assert not unchanged(None, resource, "2026.12.0")


async def test_reevaluate_stale_here_evaluates_them_in_this_process_with_progress(
    reported: Container, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`oncoresponse reevaluate --stale --here` finds the patients an older version evaluated, makes their
    reports here and ends with a summary; a second run finds none."""
    async with reported.store.writing(set()) as writer:
        old = [EvaluatedWith(p, "2000.01.0", "0.1", "report") for p in PATIENTS[:2]]
        await writer.evaluation_jobs.record_versions(old, datetime.now(UTC))
    monkeypatch.setenv("ONCO_DATABASE_URL", database_url)
    runner = CliRunner()
    result = await asyncio.to_thread(runner.invoke, cli, ["reevaluate", "--stale", "--here"])
    assert result.exit_code == 0, result.output
    assert "2 patients queued" in result.output and "2 evaluated" in result.output
    assert await _knowledge_versions(reported) == {reported.knowledge.version}
    again = await asyncio.to_thread(runner.invoke, cli, ["reevaluate", "--stale"])
    assert "0 patients queued" in again.output
    both = await asyncio.to_thread(runner.invoke, cli, ["reevaluate", "--stale", "--all"])
    assert both.exit_code == 2


@pytest.mark.postgres
async def test_two_replicas_claiming_at_once_take_disjoint_batches_skipping_locked_rows() -> None:
    """Replica A holds its claimed rows in an open transaction; replica B's claim skips them instead of
    waiting for A (FOR UPDATE SKIP LOCKED) and takes the others; no patient is claimed twice."""
    await reset_postgres(POSTGRES_URL)
    a, b = SqlStore(POSTGRES_URL), SqlStore(POSTGRES_URL)
    try:
        await a.migrate()
    except OSError as exc:
        require_postgres_or_skip(str(exc))
    try:
        patients = [f"Patient/p{n}" for n in range(6)]
        now = datetime.now(UTC)
        await request_patients(a, patients, now - timedelta(seconds=1))
        async with a.writing(set()) as holder:
            first = await holder.evaluation_jobs.claim_due(now, timedelta(minutes=2), 3)

            async def other() -> list[str]:
                async with b.writing(set()) as writer:
                    return [
                        j.patient_ref
                        for j in await writer.evaluation_jobs.claim_due(now, timedelta(minutes=2), 10)
                    ]

            second = await asyncio.wait_for(other(), timeout=30)  # a blocking claim would wait for A
        taken = [j.patient_ref for j in first]
        assert len(taken) == 3 and not set(taken) & set(second)
        assert sorted(taken + second) == sorted(patients)
    finally:
        await a.close()
        await b.close()
