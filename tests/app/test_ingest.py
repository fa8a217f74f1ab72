"""Ingestion through the HTTP API: transaction and batch semantics, idempotent re-posting, versions,
read and search, on SQLite and the real PostgreSQL (the same test functions, parametrised)."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from fhir.resources.R4B import get_fhir_model_class

from service.adapters.store import SqlStore
from service.api.app import create_app
from service.bootstrap import build
from service.config import Settings
from tests.app.fake_normaliser import fake_normaliser

FHIR = {"content-type": "application/fhir+json"}

R4B_BUNDLE = get_fhir_model_class("Bundle")


def size(mm: float, unit: str = "mm", patient: str = "urn:uuid:p1", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": extra.pop("code_text", "size")},
        "subject": {"reference": patient},
        "valueQuantity": {"value": mm, "unit": unit},
        **extra,
    }


def transaction(*resources: dict[str, Any], kind: str = "transaction") -> dict[str, Any]:
    entries = [
        {
            "fullUrl": "urn:uuid:p1",
            "resource": {"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": "1"}]},
            "request": {"method": "POST", "url": "Patient", "ifNoneExist": "identifier=urn:mrn|1"},
        }
    ]
    entries += [
        {"fullUrl": f"urn:uuid:o{i}", "resource": r, "request": {"method": "POST", "url": r["resourceType"]}}
        for i, r in enumerate(resources)
    ]
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


@pytest.fixture
async def api(database_url: str, tmp_path: Any) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=database_url)
    app = create_app(settings, build(settings, normaliser=fake_normaliser))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client
        await app.state.container.store.close()


async def post(api: httpx.AsyncClient, bundle: dict[str, Any], path: str = "/fhir") -> httpx.Response:
    return await api.post(path, content=orjson.dumps(bundle), headers=FHIR)


async def count(api: httpx.AsyncClient, resource_type: str) -> int:
    return int((await api.get(f"/fhir/{resource_type}", params={"_count": 0})).json()["total"])


async def test_transaction_stores_all_and_resolves_urn_uuids(api: httpx.AsyncClient) -> None:
    """Every entry is created; urn:uuid references become Patient/<id> in what is stored."""
    response = await post(api, transaction(size(12), size(15)))
    body = response.json()
    assert response.status_code == 200 and body["type"] == "transaction-response"
    assert [e["response"]["status"] for e in body["entry"]] == ["201 Created"] * 3
    patient_location = body["entry"][0]["response"]["location"]
    obs = (await api.get("/fhir/" + body["entry"][1]["response"]["location"].split("/_history")[0])).json()
    assert obs["subject"]["reference"] == patient_location.split("/_history")[0]
    assert obs["meta"]["versionId"] == "1"


async def test_reposting_the_same_transaction_stores_nothing_new(api: httpx.AsyncClient) -> None:
    """A retried transaction matches the stored resources: 200 OK, same locations, no new versions."""
    first = (await post(api, transaction(size(12)))).json()
    second = (await post(api, transaction(size(12)))).json()
    assert [e["response"]["status"] for e in second["entry"]] == ["200 OK", "200 OK"]
    assert [e["response"]["location"] for e in second["entry"]] == [
        e["response"]["location"] for e in first["entry"]
    ]
    assert await count(api, "Observation") == 1 and await count(api, "Patient") == 1


async def test_if_none_exist_matches_by_identifier(api: httpx.AsyncClient) -> None:
    """A conditional create whose identifier is already stored answers 200 with the stored resource."""
    first = (await post(api, transaction(size(12)))).json()
    second = (await post(api, transaction(size(99)))).json()
    assert second["entry"][0]["response"]["status"] == "200 OK"
    assert second["entry"][0]["response"]["location"] == first["entry"][0]["response"]["location"]
    assert second["entry"][1]["response"]["status"] == "201 Created"


async def test_transaction_with_a_bad_entry_stores_nothing(api: httpx.AsyncClient) -> None:
    """One unusable entry rejects the whole transaction with 422 naming it, and nothing is stored."""
    response = await post(api, transaction(size(12), size(3, unit="furlong")))
    assert response.status_code == 422
    assert response.json()["issue"][0]["expression"] == ["Bundle.entry[2].resource.valueQuantity.unit"]
    assert await count(api, "Patient") == 0 and await count(api, "Observation") == 0


async def test_batch_fails_the_bad_entry_alone(api: httpx.AsyncClient) -> None:
    """In a batch, only the bad entry fails; the others are stored and the answer says which is which."""
    body = (await post(api, transaction(size(12), size(3, unit="furlong"), kind="batch"))).json()
    assert body["type"] == "batch-response"
    statuses = [e["response"]["status"] for e in body["entry"]]
    assert statuses == ["201 Created", "201 Created", "422 Unprocessable Entity"]
    assert body["entry"][2]["response"]["outcome"]["issue"][0]["code"] == "value"
    assert await count(api, "Observation") == 1


async def test_warnings_are_returned_and_the_entry_is_kept(api: httpx.AsyncClient) -> None:
    """An unrecognised code is a warning: the entry is stored and the warning is in its outcome."""
    body = (await post(api, transaction(size(12, code_text="unknown")))).json()
    entry = body["entry"][1]["response"]
    assert entry["status"] == "201 Created"
    assert entry["outcome"]["issue"][0]["severity"] == "warning"


async def test_unsupported_entry_method_fails_the_transaction(api: httpx.AsyncClient) -> None:
    """DELETE inside a transaction is refused with a 400 naming the entry; nothing is stored."""
    bundle = transaction(size(12))
    bundle["entry"].append({"request": {"method": "DELETE", "url": "Patient/x"}})
    response = await post(api, bundle)
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["Bundle.entry[2].request.method"]
    assert await count(api, "Observation") == 0


async def test_put_makes_a_new_version_and_keeps_history(api: httpx.AsyncClient) -> None:
    """PUT with changed content makes version 2; the same content again stores nothing."""
    put = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {**size(10, patient="Patient/p9"), "id": "m1"},
                "request": {"method": "PUT", "url": "Observation/m1"},
            }
        ],
    }
    assert (await post(api, put)).json()["entry"][0]["response"]["status"] == "201 Created"
    changed = copy.deepcopy(put)
    changed["entry"][0]["resource"]["valueQuantity"]["value"] = 11
    assert (await post(api, changed)).json()["entry"][0]["response"][
        "location"
    ] == "Observation/m1/_history/2"
    assert (await post(api, changed)).json()["entry"][0]["response"]["status"] == "200 OK"
    current = await api.get("/fhir/Observation/m1")
    assert current.json()["valueQuantity"]["value"] == 11 and current.headers["etag"] == 'W/"2"'
    async with api.app.state.container.store.reading() as reader:  # type: ignore[attr-defined]
        facts = await reader.patient_facts("Patient/p9")
    assert [f.payload["value"] for f in facts] == ["11"]


async def test_every_location_answered_resolves_to_its_version(api: httpx.AsyncClient) -> None:
    """vread: the location of each version (Type/id/_history/n) answers that version, earlier ones too; the
    instance history lists both, newest first, as a valid history Bundle; an unknown or malformed version is a
    404 OperationOutcome."""
    entry = {
        "resource": {**size(10, patient="Patient/p8"), "id": "m2"},
        "request": {"method": "PUT", "url": "Observation/m2"},
    }
    first = (await post(api, {"resourceType": "Bundle", "type": "transaction", "entry": [entry]})).json()
    entry["resource"]["valueQuantity"]["value"] = 14  # type: ignore[index]
    second = (await post(api, {"resourceType": "Bundle", "type": "transaction", "entry": [entry]})).json()
    for answer, value, version in ((first, 10, "1"), (second, 14, "2")):
        location = answer["entry"][0]["response"]["location"]
        read = await api.get(f"/fhir/{location}")
        assert read.status_code == 200 and read.headers["etag"] == f'W/"{version}"'
        assert read.json()["valueQuantity"]["value"] == value and read.json()["meta"]["versionId"] == version
    history = (await api.get("/fhir/Observation/m2/_history")).json()
    R4B_BUNDLE.model_validate(history)
    assert history["type"] == "history" and history["total"] == 2
    assert [e["resource"]["meta"]["versionId"] for e in history["entry"]] == ["2", "1"]  # newest first
    assert [e["request"]["method"] for e in history["entry"]] == ["PUT", "POST"]
    assert [e["response"]["status"] for e in history["entry"]] == ["200 OK", "201 Created"]
    assert (await api.get("/fhir/Observation/zz/_history")).status_code == 404
    for missing in ("Observation/m2/_history/3", "Observation/m2/_history/x", "Observation/zz/_history/1"):
        response = await api.get(f"/fhir/{missing}")
        assert response.status_code == 404 and response.json()["resourceType"] == "OperationOutcome"


async def test_same_sender_version_id_stores_nothing(api: httpx.AsyncClient) -> None:
    """A collection entry with the same id and meta.versionId as before is not stored again."""
    obs = {**size(10, patient="Patient/p9"), "id": "m2", "meta": {"versionId": "7"}}
    collection = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": obs}]}
    await post(api, collection, "/fhir/Bundle")
    obs["status"] = "amended"  # different content, but the sender says it is the same version
    again = (await post(api, collection, "/fhir/Bundle")).json()
    assert again["entry"][0]["response"]["status"] == "200 OK"


@pytest.mark.parametrize(
    ("path", "kind"),
    [("/fhir", "collection"), ("/fhir/Bundle", "transaction"), ("/fhir/$process-message", "batch")],
)
async def test_wrong_bundle_type_for_the_endpoint_is_400(
    api: httpx.AsyncClient, path: str, kind: str
) -> None:
    """Each endpoint takes its own Bundle types only."""
    response = await post(api, {"resourceType": "Bundle", "type": kind, "entry": []}, path)
    assert response.status_code == 400 and response.json()["issue"][0]["expression"] == ["Bundle.type"]


async def test_not_a_bundle_is_400(api: httpx.AsyncClient) -> None:
    """A Patient posted to /fhir is refused."""
    response = await post(api, {"resourceType": "Patient"})
    assert response.status_code == 400


async def test_message_needs_a_message_header_first(api: httpx.AsyncClient) -> None:
    """A message Bundle without a MessageHeader first is refused; with one it is stored."""
    message = {
        "resourceType": "Bundle",
        "type": "message",
        "entry": [{"resource": size(4, patient="Patient/p")}],
    }
    assert (await post(api, message, "/fhir/$process-message")).status_code == 400
    message["entry"].insert(
        0,
        {
            "resource": {
                "resourceType": "MessageHeader",
                "eventCoding": {"code": "x"},
                "source": {"endpoint": "urn:lab"},
            }
        },
    )
    assert (await post(api, message, "/fhir/$process-message")).status_code == 200


async def test_too_many_entries_is_413(database_url: str) -> None:
    """More entries than ONCO_MAX_ENTRIES answers 413 before anything is read further."""
    settings = Settings(database_url=database_url, max_entries=2)
    app = create_app(settings, build(settings, normaliser=fake_normaliser))
    transport = httpx.ASGITransport(app=app)
    client = httpx.AsyncClient(transport=transport, base_url="http://t")
    async with app.router.lifespan_context(app), client as c:
        response = await post(c, transaction(size(1), size(2)))
    assert response.status_code == 413


async def test_search_by_patient_sort_and_count(api: httpx.AsyncClient) -> None:
    """Search filters by patient (or subject), sorts by _lastUpdated and honours _count."""
    for mm in (10, 11, 12):
        await post(api, transaction(size(mm)))
    patient = (await api.get("/fhir/Patient")).json()["entry"][0]["resource"]["id"]
    newest = (await api.get("/fhir/Observation", params={"patient": patient, "_count": 1})).json()
    assert newest["total"] == 3 and len(newest["entry"]) == 1
    assert newest["entry"][0]["resource"]["valueQuantity"]["value"] == 12
    oldest = (
        await api.get("/fhir/Observation", params={"subject": f"Patient/{patient}", "_sort": "_lastUpdated"})
    ).json()
    assert [e["resource"]["valueQuantity"]["value"] for e in oldest["entry"]] == [10, 11, 12]
    none = (await api.get("/fhir/Observation", params={"patient": "nobody"})).json()
    assert none["total"] == 0


async def test_search_by_last_updated(api: httpx.AsyncClient) -> None:
    """_lastUpdated=ge… and lt… bound the results; a bad value is a 400."""
    await post(api, transaction(size(10)))
    assert (await api.get("/fhir/Observation", params={"_lastUpdated": "ge2000-01-01"})).json()["total"] == 1
    assert (await api.get("/fhir/Observation", params={"_lastUpdated": "lt2000-01-01"})).json()["total"] == 0
    assert (await api.get("/fhir/Observation", params={"_lastUpdated": "sa2000-01-01"})).status_code == 400
    assert (await api.get("/fhir/Observation", params={"_lastUpdated": "genot-a-date"})).status_code == 400
    assert (await api.get("/fhir/Observation", params={"_sort": "code"})).status_code == 400


async def test_read_unknown_is_404(api: httpx.AsyncClient) -> None:
    """An unknown id, or a type the service does not serve, is a 404 OperationOutcome."""
    assert (await api.get("/fhir/Observation/nope")).status_code == 404
    assert (await api.get("/fhir/Account/nope")).status_code == 404


async def test_a_repost_answers_200_with_a_valid_last_modified_instant(api: httpx.AsyncClient) -> None:
    """The same resource again is 200 OK, and its lastModified (read back from the store, which on SQLite
    returns times without their zone) is still a FHIR instant with a zone: the response parses as R4B."""
    resource = {**size(10, patient="Patient/p7"), "id": "m3"}
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"resource": resource, "request": {"method": "PUT", "url": "Observation/m3"}}],
    }
    await post(api, bundle)
    again = (await post(api, bundle)).json()
    assert again["entry"][0]["response"]["status"] == "200 OK"
    R4B_BUNDLE.model_validate(again)


async def test_every_accepted_body_is_kept_verbatim(api: httpx.AsyncClient) -> None:
    """The exact bytes of each accepted request are kept, re-posts included."""
    raw = orjson.dumps(transaction(size(12)))
    for _ in range(2):
        await api.post("/fhir", content=raw, headers=FHIR)
    async with api.app.state.container.store.reading() as reader:  # type: ignore[attr-defined]
        assert await reader.submission_count() == 2


async def test_two_concurrent_writers_for_one_patient(database_url: str) -> None:
    """Two service instances writing one patient's resource at once take turns: versions 1..n, no clash."""
    stores = [SqlStore(database_url), SqlStore(database_url)]
    await stores[0].migrate()
    settings = Settings(database_url=database_url)
    ingests = [build(settings, store=s, normaliser=fake_normaliser).ingest for s in stores]

    def put(mm: int) -> dict[str, Any]:
        resource = {**size(mm, patient="Patient/shared"), "id": "same"}
        return {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [{"resource": resource, "request": {"method": "PUT", "url": "Observation/same"}}],
        }

    from service.adapters.fhir_in.versions import FhirVersion
    from service.app.ingest import Endpoint

    jobs = [
        ingests[i % 2](put(mm), b"{}", Endpoint.ROOT, FhirVersion.R4) for i, mm in enumerate(range(10, 16))
    ]
    results = await asyncio.gather(*jobs)
    versions = sorted(r.entries[0].version_id for r in results if r.entries[0].version_id)
    assert versions == [1, 2, 3, 4, 5, 6]
    async with stores[0].reading() as reader:
        facts = await reader.patient_facts("Patient/shared")
        current = await reader.current("Observation", "same")
    assert len(facts) == 1 and current is not None and current.version_id == 6
    for store in stores:
        await store.close()
