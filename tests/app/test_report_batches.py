"""Issue 17: the reports of one Bundle's patients are stored as one batch (one write of versions), and the
rendered Bundle is no longer kept again as a submission: its resources are the versions. Every resource
stays readable with its history, and each patient's notifications and write-back are queued in the
patients' order with event numbers that leave no gap. On SQLite and the real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from benchmarks.synthetic import patient_resources
from service.adapters.fhir_in.versions import FhirVersion
from service.adapters.store.outbox_rows import NOTIFICATION, WRITE_BACK
from service.app.ingest import Endpoint
from service.app.report_versions import fingerprint
from service.app.store_records import SubscriptionRow
from service.bootstrap import Container, build
from service.config import Settings
from tests.conftest import corrected

PATIENTS = [f"Patient/bench-{n}" for n in range(3)]
SUBSCRIPTION = "everyone"


@pytest.fixture
async def writing_back(database_url: str) -> AsyncIterator[Container]:
    """The service with write-back on and one active subscription to every patient's reports."""
    settings = Settings(
        database_url=database_url, delivery_worker=False, fhir_base_url="http://ehr.test/fhir"
    )
    built = build(settings)
    await built.store.migrate()
    row = SubscriptionRow(
        SUBSCRIPTION, "response-assessment", None, "http://a.test/hook", "id-only", "application/fhir+json",
        (), None, None, None, "4.0", "active", 0, None, datetime.now(UTC),
    )  # fmt: skip
    async with built.store.writing(set()) as writer:
        await writer.enqueue.put_subscription(row)
    yield built
    await built.http.aclose()
    await built.store.close()


def _bundle(correct: bool = False) -> dict[str, Any]:
    """The patients' data in one collection; ``correct``: each patient's latest size corrected."""
    parts = [
        {"resourceType": "Bundle", "entry": [{"resource": r} for r in patient_resources(p[8:], 3)]}
        for p in PATIENTS
    ]
    entries = [e for part in parts for e in (corrected(part) if correct else part)["entry"]]
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


async def _post(container: Container, bundle: dict[str, Any]) -> list[str]:
    result = await container.pipeline.accept(bundle, orjson.dumps(bundle), Endpoint.BUNDLE, FhirVersion.R4)
    return result.reports


async def _evaluation_submissions(container: Container) -> list[tuple[str, bytes]]:
    async with container.store.reading() as reader:
        rows = await reader.conn.execute(  # type: ignore[attr-defined]  # the SQL store's reader
            text("SELECT id, content FROM submissions WHERE endpoint = 'evaluation' ORDER BY received_at")
        )
        return [(row.id, bytes(row.content)) for row in rows]


async def _versions_of(container: Container, submission_id: str) -> list[tuple[str, str, int]]:
    async with container.store.reading() as reader:
        rows = await reader.conn.execute(  # type: ignore[attr-defined]
            text("SELECT resource_type, resource_id, version_id FROM resources WHERE submission_id = :s"),
            {"s": submission_id},
        )
        return [tuple(row) for row in rows]


async def test_a_bundles_reports_are_one_batch_under_one_small_submission(writing_back: Container) -> None:
    """Three patients' reports: one evaluation submission for their versions (the Device has its own), holding
    the versions that produced them, not the rendered Bundle; every resource readable; the reports in the
    patients' order, each with its notification then its write-back, events numbered 1 to 3."""
    reports = await _post(writing_back, _bundle())
    assert len(reports) == len(PATIENTS)
    submissions = await _evaluation_submissions(writing_back)
    assert len(submissions) == 2  # the batch's, and the shared Device's after the commit
    knowledge = writing_back.knowledge
    for _, content in submissions:
        assert orjson.loads(content) == {
            "knowledgeVersion": knowledge.version,
            "rulesVersion": knowledge.rules_version,
        }
    batch, device = [await _versions_of(writing_back, s) for s, _ in submissions]
    assert {t for t, _, _ in batch} == {"DiagnosticReport", "Observation", "CarePlan", "Provenance"}
    assert [t for t, _, _ in device] == ["Device"]
    async with writing_back.store.reading() as reader:
        for resource_type, resource_id, version in batch:
            stored = await reader.current(resource_type, resource_id)
            assert stored is not None and stored.version_id == version == 1
        owners = [(await reader.current(*r.split("/"))).content["subject"]["reference"] for r in reports]  # type: ignore[union-attr]
    assert owners == PATIENTS
    events = await writing_back.store.outbox().events(SUBSCRIPTION, 1, 10)
    assert [(e.number, e.focus, e.context) for e in events] == [
        (n + 1, report, (patient,)) for n, (report, patient) in enumerate(zip(reports, PATIENTS, strict=True))
    ]
    queued = await writing_back.store.outbox().entries()
    assert [(q.kind, q.event_number) for q in queued] == [
        (kind, number) for n in range(1, 4) for kind, number in ((NOTIFICATION, n), (WRITE_BACK, None))
    ]


async def test_a_corrected_bundle_amends_every_report_in_one_batch_and_keeps_their_history(
    writing_back: Container,
) -> None:
    """The same patients with their latest size corrected: each report amended (version 2, the first still
    readable), notified as events 4 to 6 in the patients' order, each written back again."""
    first = await _post(writing_back, _bundle())
    amended = await _post(writing_back, _bundle(correct=True))
    assert amended == first
    async with writing_back.store.reading() as reader:
        for reference in amended:
            resource_type, resource_id = reference.split("/")
            versions = await reader.versions(resource_type, resource_id)
            assert [v.version_id for v in versions] == [2, 1]
            assert versions[0].content["status"] == "amended" != versions[1].content["status"]
    events = await writing_back.store.outbox().events(SUBSCRIPTION, 4, 10)
    assert [(e.number, e.focus, e.focus_version) for e in events] == [
        (n + 4, report, 2) for n, report in enumerate(amended)
    ]
    queued = await writing_back.store.outbox().entries()
    assert [q.kind for q in queued].count(WRITE_BACK) == 2 * len(PATIENTS)
    assert len(await _evaluation_submissions(writing_back)) == 3


async def test_every_stored_report_version_carries_its_own_fingerprint(writing_back: Container) -> None:
    """Each resource's fingerprint is made once, when its change is decided, and then stored with it: every
    version an evaluation wrote (first, then amended by a correction) holds the fingerprint of what it
    holds, not of another resource of the batch."""
    await _post(writing_back, _bundle())
    await _post(writing_back, _bundle(correct=True))
    knowledge = writing_back.knowledge.version
    async with writing_back.store.reading() as reader:
        rows = await reader.conn.execute(  # type: ignore[attr-defined]  # the SQL store's reader
            text(
                "SELECT r.content_sha256, r.content FROM resources r JOIN submissions s"
                " ON s.id = r.submission_id WHERE s.endpoint = 'evaluation'"
            )
        )
        found = [(row.content_sha256, orjson.loads(row.content)) for row in rows]
    amended = [c for _, c in found if c.get("status") == "amended"]
    assert len(found) > 8 * len(PATIENTS) and len(amended) == len(PATIENTS)
    for stored_hash, content in found:
        assert stored_hash == fingerprint(content, knowledge), content["resourceType"]
