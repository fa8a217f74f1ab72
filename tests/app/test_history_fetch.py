"""History the service lacks is fetched from the EHR's FHIR server once per patient, stored, and used in
the patient's first evaluation (issue 7). The EHR is mocked with respx."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import respx
from fastapi import FastAPI

from service.api.app import create_app
from service.config import Settings
from tests.conftest import SHARED

EHR = "https://ehr.example.org/fhir"
FHIR = {"content-type": "application/fhir+json"}
T790M = orjson.loads((SHARED / "examples" / "seed-t790m-progression.json").read_bytes())


def without_medication() -> tuple[dict[str, Any], dict[str, Any]]:
    """The example split: the post without its MedicationRequest, which only the EHR has."""
    bundle = copy.deepcopy(T790M)
    (medication,) = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "MedicationRequest"
    ]
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"] is not medication]
    return bundle, medication


def changed(bundle: dict[str, Any]) -> dict[str, Any]:
    """The same post with something new for the patient, so it is stored and evaluated again."""
    again = copy.deepcopy(bundle)
    patient = next(e["resource"] for e in again["entry"] if e["resource"]["resourceType"] == "Patient")
    patient["active"] = not patient.get("active", False)
    return again


def searchset(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


def care_plan_activities(stored: dict[str, Any]) -> list[str]:
    (plan,) = [e["resource"] for e in stored["entry"]]
    return [a["detail"]["code"]["coding"][0]["code"] for a in plan["activity"]]


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'h.db'}",
        delivery_worker=False,
        fhir_base_url=EHR,
        fetch_history=True,
    )
    app: FastAPI = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as c,
    ):
        yield c


async def post(client: httpx.AsyncClient, bundle: dict[str, Any]) -> httpx.Response:
    response = await client.post("/fhir/Bundle", content=orjson.dumps(bundle), headers=FHIR)
    assert response.status_code == 200, response.text
    return response


async def test_the_ehrs_medication_is_fetched_once_stored_and_used(
    client: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    bundle, medication = without_medication()
    respx_mock.get(path="/fhir/MedicationRequest").mock(
        return_value=httpx.Response(200, json=searchset(medication))
    )
    observations = respx_mock.get(path="/fhir/Observation").mock(
        return_value=httpx.Response(200, json=searchset())
    )
    for other in ("ImagingStudy", "MedicationStatement", "Condition"):
        respx_mock.get(path=f"/fhir/{other}").mock(return_value=httpx.Response(200, json=searchset()))
    await post(client, bundle)

    query = observations.calls.last.request.url.params
    assert query["patient"] == "Patient/p-e2"
    assert "http://loinc.org|21889-1" in query["code"].split(",")  # tumour size, from mappings/loinc.yaml
    stored = await client.get(f"/fhir/MedicationRequest/{medication['id']}")
    assert (
        stored.status_code == 200
        and stored.json()["medicationCodeableConcept"] == medication["medicationCodeableConcept"]
    )
    plans = (await client.get("/fhir/CarePlan", params={"subject": "Patient/p-e2"})).json()
    assert care_plan_activities(plans)[0] == "switch-therapy"  # the T790M answer needs the current TKI

    calls = respx_mock.calls.call_count
    await post(client, changed(bundle))
    assert respx_mock.calls.call_count == calls  # once per patient


async def test_an_unreachable_ehr_never_fails_the_post_and_is_tried_again(
    client: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    bundle, medication = without_medication()
    route = respx_mock.get(host="ehr.example.org").mock(return_value=httpx.Response(503))
    await post(client, bundle)
    assert (await client.get(f"/fhir/MedicationRequest/{medication['id']}")).status_code == 404
    route.mock(return_value=httpx.Response(200, json=searchset(medication)))
    await post(client, changed(bundle))
    assert (await client.get(f"/fhir/MedicationRequest/{medication['id']}")).status_code == 200
