"""The writes of a transaction (issue 17): a resource's identifiers and current facts always belong to its
current version, whether it is new, updated, written twice in one batch or retired (``write_versions`` relies
on it to skip the unindexing and fact retiring of resources that had no current version); the subscriptions a
transaction matches include those it wrote itself. On SQLite and the real PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest

from service.adapters.store import SqlStore
from service.adapters.store.writer import NewVersion
from service.app.store_records import SubscriptionRow
from service.domain.facts import PerformanceScale, PerformanceStatus

PATIENT = "Patient/w1"
SYSTEM = "urn:test:ids"


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlStore]:
    built = SqlStore(database_url)
    await built.migrate()
    yield built
    await built.close()


def _version(identifier: str, score: int) -> NewVersion:
    content = {
        "resourceType": "Observation",
        "id": "ecog",
        "identifier": [{"system": SYSTEM, "value": identifier}],
        "subject": {"reference": PATIENT},
    }
    fact = PerformanceStatus(
        patient=PATIENT,
        source="Observation/ecog",
        scale=PerformanceScale.ECOG,
        score=score,
        observed_on=date(2026, 1, score),
        observed_at=None,
    )
    return NewVersion(content, f"hash-{identifier}-{score}", PATIENT, [fact])


async def _write(store: SqlStore, *versions: NewVersion) -> None:
    submission, now = str(uuid.uuid4()), datetime.now(UTC)
    async with store.writing({PATIENT}) as writer:
        await writer.add_submission(submission, now, "bundle", "collection", "4.0", b"{}")
        await writer.write_versions(list(versions), submission, now)


async def _state(store: SqlStore) -> tuple[list[int], list[str], list[int]]:
    """The versions (newest first), the identifiers that find the resource, the current facts' scores."""
    async with store.reading() as reader:
        versions = [v.version_id for v in await reader.versions("Observation", "ecog")]
        found = [v for v in "ab" if await reader.by_identifier("Observation", SYSTEM, v) is not None]
        scores = [f.payload["score"] for f in await reader.patient_facts(PATIENT)]
    return versions, found, scores


async def test_a_new_version_moves_the_identifiers_and_the_current_facts(store: SqlStore) -> None:
    await _write(store, _version("a", 1))
    assert await _state(store) == ([1], ["a"], [1])
    await _write(store, _version("b", 2))
    assert await _state(store) == ([2, 1], ["b"], [2])


async def test_a_resource_twice_in_one_batch_keeps_the_later_versions_identifiers_and_facts(
    store: SqlStore,
) -> None:
    await _write(store, _version("a", 1), _version("b", 2))
    assert await _state(store) == ([2, 1], ["b"], [2])


async def test_a_retired_resource_keeps_no_identifier_and_no_current_fact(store: SqlStore) -> None:
    """Its versions stay as history; nothing current is left to find it or to evaluate."""
    await _write(store, _version("a", 1))
    async with store.writing(set()) as writer:
        await writer.retire("Observation", "ecog")
    assert await _state(store) == ([1], [], [])
    async with store.reading() as reader:
        assert await reader.current("Observation", "ecog") is None


def _subscription(sub_id: str, patient: str | None) -> SubscriptionRow:
    return SubscriptionRow(
        sub_id, "response-assessment", patient, "http://a.test/hook", "id-only", "application/fhir+json",
        (), None, None, None, "4.0", "active", 0, None, datetime.now(UTC),
    )  # fmt: skip


async def test_a_transaction_matches_the_subscriptions_it_has_written_itself(store: SqlStore) -> None:
    """The report writer's transaction reads which topics have a live subscription once, until it writes
    a subscription: one created, filtered to another patient or turned off in the same transaction counts."""
    async with store.writing({PATIENT}) as writer:
        enqueue = writer.enqueue
        assert await enqueue.matching("response-assessment", PATIENT) == []
        await enqueue.put_subscription(_subscription("s1", None))
        await enqueue.put_subscription(_subscription("s2", "Patient/other"))
        await enqueue.put_subscription(_subscription("s3", PATIENT))
        assert [s.id for s in await enqueue.matching("response-assessment", PATIENT)] == ["s1", "s3"]
        assert await writer.enqueue.add_event("s1", "DiagnosticReport/r", [PATIENT], datetime.now(UTC)) == 1
        (s1, _) = await enqueue.matching("response-assessment", PATIENT)
        assert s1.events_since_start == 1
        await enqueue.set_status("s3", "off")
        assert [s.id for s in await enqueue.matching("response-assessment", PATIENT)] == ["s1"]
        assert await enqueue.matching("care-plan-suggestion", PATIENT) == []
