"""The ingest use case on the in-memory fake store (``fake_store.py``): its Bundle semantics without a
database (all-or-nothing transactions, batch entries failing alone, idempotent re-posts, ifMatch)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from service.adapters.fhir_in.versions import FhirVersion
from service.app.ingest import Endpoint, Ingest, IngestResult
from service.errors import PreconditionFailed, Unprocessable
from tests.app.fake_normaliser import fake_normaliser
from tests.app.fake_store import FakeStore


def size(mm: float, unit: str = "mm", patient: str = "Patient/p1") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "size"},
        "subject": {"reference": patient},
        "valueQuantity": {"value": mm, "unit": unit},
    }


def bundle(*resources: dict[str, Any], kind: str = "transaction") -> dict[str, Any]:
    entries = [{"resource": r, "request": {"method": "POST", "url": r["resourceType"]}} for r in resources]
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


def put(
    resource_id: str, mm: float, if_match: str | None = None, kind: str = "transaction"
) -> dict[str, Any]:
    request = {"method": "PUT", "url": f"Observation/{resource_id}"}
    if if_match is not None:
        request["ifMatch"] = if_match
    entry = {"resource": {**size(mm), "id": resource_id}, "request": request}
    return {"resourceType": "Bundle", "type": kind, "entry": [entry]}


async def post(store: FakeStore, body: dict[str, Any]) -> IngestResult:
    ingest = Ingest(store, fake_normaliser)
    return await ingest(body, orjson.dumps(body), Endpoint.ROOT, FhirVersion.R4)


async def test_a_transaction_with_a_bad_entry_stores_nothing() -> None:
    """One entry the normaliser refuses fails the whole transaction: no resource, submission or request."""
    store = FakeStore()
    with pytest.raises(Unprocessable):
        await post(store, bundle(size(10), size(12, unit="cm")))
    assert store.stored("Observation") == []
    assert store.state.submissions == [] and store.state.jobs == {}


async def test_a_failure_inside_the_write_transaction_leaves_nothing() -> None:
    """An exception in the transaction (here the after-write hook) rolls the whole write back."""
    store = FakeStore()

    async def fail(*_: Any) -> None:
        raise RuntimeError("evaluation crashed")

    body = bundle(size(10))
    with pytest.raises(RuntimeError):
        await Ingest(store, fake_normaliser)(body, b"{}", Endpoint.ROOT, FhirVersion.R4, after_write=fail)
    assert store.stored("Observation") == [] and store.state.submissions == [] and store.commits == 0


async def test_a_batch_entry_fails_alone() -> None:
    """In a batch the refused entry answers 422 and the others are stored, with their patient's request."""
    store = FakeStore()
    result = await post(store, bundle(size(10), size(12, unit="cm"), size(14), kind="batch"))
    assert [e.status for e in result.entries] == [201, 422, 201]
    assert [s.content["valueQuantity"]["value"] for s in store.stored("Observation")] == [10, 14]
    assert result.patients == {"Patient/p1"} and list(store.state.jobs) == ["Patient/p1"]
    assert len(store.state.submissions) == 1


async def test_a_repost_writes_no_new_version() -> None:
    """Posting the same transaction again answers 200 with the stored versions and changes nothing."""
    store = FakeStore()
    body = bundle(size(10), size(14))
    first = await post(store, body)
    again = await post(store, body)
    assert [e.status for e in first.entries] == [201, 201]
    assert [(e.status, e.reference, e.version_id) for e in again.entries] == [
        (200, e.reference, 1) for e in first.entries
    ]
    assert [s.version_id for s in store.stored("Observation")] == [1, 1]
    assert again.patients == set() and store.state.jobs["Patient/p1"].generation == 1


async def test_a_put_reposted_writes_no_new_version() -> None:
    """A PUT of the content the resource already has answers 200 with version 1 and requests nothing."""
    store = FakeStore()
    await post(store, put("m1", 10))
    again = await post(store, put("m1", 10))
    assert [(e.status, e.version_id) for e in again.entries] == [(200, 1)]
    assert [s.version_id for s in store.stored("Observation")] == [1] and again.patients == set()


async def test_a_changed_put_makes_version_two() -> None:
    """A PUT with new content stores the next version; the earlier one stays as history."""
    store = FakeStore()
    await post(store, put("m1", 10))
    result = await post(store, put("m1", 11))
    assert [(e.status, e.version_id) for e in result.entries] == [(200, 2)]
    async with store.reading() as reader:
        history = await reader.versions("Observation", "m1")
    assert [h.content["valueQuantity"]["value"] for h in history] == [11, 10]


async def test_a_stale_if_match_is_412_and_writes_nothing() -> None:
    """ifMatch naming an older version: a transaction is refused whole (412), a batch entry answers 412."""
    store = FakeStore()
    await post(store, put("m1", 10))
    await post(store, put("m1", 11))  # now version 2
    with pytest.raises(PreconditionFailed):
        await post(store, put("m1", 12, if_match='W/"1"'))
    batch = await post(store, put("m1", 12, if_match='W/"1"', kind="batch"))
    assert [e.status for e in batch.entries] == [412]
    assert [s.version_id for s in store.stored("Observation")] == [2]
    fresh = await post(store, put("m1", 12, if_match='W/"2"'))
    assert [(e.status, e.version_id) for e in fresh.entries] == [(200, 3)]


class CountingStore(FakeStore):
    """A fake store that counts the reads opened."""

    reads = 0

    def reading(self) -> Any:
        self.reads += 1
        return super().reading()


async def test_a_bundle_without_creates_opens_no_read() -> None:
    """A transaction of PUTs has no create to match, so no read is opened for one; a POST still is."""
    store = CountingStore()
    await post(store, put("o1", 10))
    assert store.reads == 0
    await post(store, bundle(size(10)))
    assert store.reads == 1


def linked() -> dict[str, Any]:
    """A batch whose Observation references its Patient by full URL, with a date and a second patient."""
    patient = {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Patient", "birthDate": "1960-01-02"}}
    observation = {**size(10, patient="urn:uuid:1"), "effectiveDateTime": "2024-03-01"}
    entries = [patient, {"fullUrl": "urn:uuid:2", "resource": observation}, {"resource": size(12)}]
    for e in entries:
        e["request"] = {"method": "POST", "url": e["resource"]["resourceType"]}  # type: ignore[index]
    return {"resourceType": "Bundle", "type": "batch", "entry": entries}


async def test_planning_from_the_posted_text_stores_the_same() -> None:
    """Given the body's compact text (the JSON guard's), the ingest stores and answers as it does without."""
    results, stores = [], [FakeStore(), FakeStore()]
    for store, text in zip(stores, (None, orjson.dumps(linked())), strict=True):
        body = linked()
        result = await Ingest(store, fake_normaliser)(
            body, orjson.dumps(body), Endpoint.ROOT, FhirVersion.R4, posted_text=text
        )
        results.append([(e.status, e.reference is not None) for e in result.entries])
    assert results[0] == results[1] == [(201, True)] * 3
    observations = [[s.content for s in store.stored("Observation")] for store in stores]
    patients = [[s.content for s in store.stored("Patient")] for store in stores]
    ids = [p[0]["id"] for p in patients]
    assert [o[0]["subject"]["reference"] for o in observations] == [f"Patient/{i}" for i in ids]
    unnamed = [[{**o, "id": "", "subject": "", "meta": ""} for o in found] for found in observations]
    assert unnamed[0] == unnamed[1] and len(unnamed[0]) == 2
