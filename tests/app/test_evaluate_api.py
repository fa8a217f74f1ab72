"""$evaluate over HTTP, and the reports ingestion writes: same answer both ways, amended on correction."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
from fhir.resources import get_fhir_model_class as r5_model
from fhir.resources.R4B import get_fhir_model_class as r4b_model

import service.app.evaluate
from service.adapters.fhir_in.bundles import plan_bundle
from tests.conftest import SHARED, corrected

FHIR = {"content-type": "application/fhir+json"}
T790M = SHARED / "examples" / "seed-t790m-progression.json"


def codes(bundle: dict[str, Any]) -> list[str]:
    report = bundle["entry"][0]["resource"]
    return [c["coding"][0]["code"] for c in report["conclusionCode"]]


def activities(bundle: dict[str, Any]) -> list[str]:
    plan = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "CarePlan")
    return [a["detail"]["code"]["coding"][0]["code"] for a in plan["activity"]]


def without_volatile(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource without what changes from run to run: meta and the issued / created timestamps."""
    volatile = {"meta", "issued", "created"}
    return {k: v for k, v in resource.items() if k not in volatile}


async def evaluate(client: httpx.AsyncClient, body: dict[str, Any], **headers: str) -> httpx.Response:
    return await client.post("/fhir/$evaluate", content=orjson.dumps(body), headers={**FHIR, **headers})


async def test_evaluate_a_bundle_answers_a_collection_report_first(client: httpx.AsyncClient) -> None:
    """A Bundle in, a collection out: DiagnosticReport first, preliminary, with the T790M answer coded."""
    response = await evaluate(client, orjson.loads(T790M.read_bytes()))
    bundle = response.json()
    assert response.status_code == 200 and bundle["type"] == "collection"
    report = bundle["entry"][0]["resource"]
    assert report["resourceType"] == "DiagnosticReport" and report["status"] == "preliminary"
    assert {"PD", "progression-supported", "EGFR-T790M", "CEA_RISE_SIGNIFICANT"} <= set(codes(bundle))
    assert activities(bundle)[0] == "switch-therapy"
    for entry in bundle["entry"]:
        r4b_model(entry["resource"]["resourceType"]).model_validate(entry["resource"])


async def test_parameters_with_as_of_language_and_r5_output(client: httpx.AsyncClient) -> None:
    """Parameters: bundle + asOf + language zh-CN; Accept fhirVersion=5.0 gives R5 that parses as R5."""
    parameters = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "bundle", "resource": orjson.loads(T790M.read_bytes())},
            {"name": "asOf", "valueDate": "2026-05-05"},
            {"name": "language", "valueCode": "zh-CN"},
        ],
    }
    response = await evaluate(client, parameters, accept="application/fhir+json; fhirVersion=5.0")
    bundle = response.json()
    report = bundle["entry"][0]["resource"]
    assert report["effectiveDateTime"].startswith("2026-05-05")
    assert "SD" in codes(bundle) and "PD" not in codes(bundle)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in report["conclusion"])  # written in Chinese
    for entry in bundle["entry"]:
        r5_model(entry["resource"]["resourceType"]).model_validate(entry["resource"])


@pytest.mark.parametrize(
    ("parameters", "status"),
    [
        ({"resourceType": "Parameters", "parameter": [{"name": "criteria", "valueCode": "who"}]}, 400),
        ({"resourceType": "Parameters", "parameter": [{"name": "asOf", "valueDate": "soon"}]}, 400),
        (
            {
                "resourceType": "Parameters",
                "parameter": [{"name": "patient", "valueReference": {"reference": "Patient/none"}}],
            },
            422,
        ),
        ({"resourceType": "Patient"}, 400),
    ],
)
async def test_bad_evaluate_requests(
    client: httpx.AsyncClient, parameters: dict[str, Any], status: int
) -> None:
    """A bad parameter is a 400 naming it; a patient with no follow-up imaging is a 422."""
    response = await evaluate(client, parameters)
    assert response.status_code == status
    assert response.json()["resourceType"] == "OperationOutcome"


async def test_ingest_stores_the_report_and_search_returns_it_like_evaluate(
    client: httpx.AsyncClient,
) -> None:
    """POST a Bundle: the stored report and CarePlan equal what $evaluate answers for the same data."""
    raw = T790M.read_bytes()
    assert (await client.post("/fhir/Bundle", content=raw, headers=FHIR)).status_code == 200
    found = (
        await client.get("/fhir/DiagnosticReport", params={"subject": "Patient/p-e2", "_sort": "-issued"})
    ).json()
    assert found["total"] == 1
    stored = found["entry"][0]["resource"]
    # The stored report carries its HTML; $evaluate builds it only when asked (issue 19).
    direct_bundle = (
        await client.post("/fhir/$evaluate?presentedForm=true", content=raw, headers=FHIR)
    ).json()
    direct = direct_bundle["entry"][0]["resource"]
    assert without_volatile(stored) == without_volatile(direct)
    plans = (await client.get("/fhir/CarePlan", params={"subject": "Patient/p-e2"})).json()
    direct_plan = next(
        e["resource"] for e in direct_bundle["entry"] if e["resource"]["resourceType"] == "CarePlan"
    )
    assert plans["total"] == 1
    assert without_volatile(plans["entry"][0]["resource"]) == without_volatile(direct_plan)


async def test_a_corrected_time_point_amends_its_report(client: httpx.AsyncClient) -> None:
    """A corrected measurement of the same time point: same report id, new version, status amended."""
    bundle = orjson.loads(T790M.read_bytes())
    await client.post("/fhir/Bundle", content=orjson.dumps(bundle), headers=FHIR)
    first = (await client.get("/fhir/DiagnosticReport", params={"subject": "Patient/p-e2"})).json()["entry"][
        0
    ]
    await client.post("/fhir/Bundle", content=orjson.dumps(corrected(bundle)), headers=FHIR)
    again = (await client.get("/fhir/DiagnosticReport", params={"subject": "Patient/p-e2"})).json()
    assert again["total"] == 1
    report = again["entry"][0]["resource"]
    assert report["id"] == first["resource"]["id"]
    assert report["status"] == "amended" and report["meta"]["versionId"] == "2"


async def test_reposting_the_same_data_writes_no_new_report_version(client: httpx.AsyncClient) -> None:
    """The same Bundle twice: the report stays at version 1 (nothing clinical changed)."""
    raw = T790M.read_bytes()
    for _ in range(2):
        await client.post("/fhir/Bundle", content=raw, headers=FHIR)
    report = (await client.get("/fhir/DiagnosticReport", params={"subject": "Patient/p-e2"})).json()["entry"][
        0
    ]
    assert report["resource"]["meta"]["versionId"] == "1" and report["resource"]["status"] == "preliminary"


async def test_a_failing_evaluation_does_not_fail_the_post(client: httpx.AsyncClient, app: Any) -> None:
    """If evaluating a patient fails unexpectedly, the posted data is still stored and answered 200."""

    async def broken(*_args: object) -> None:
        raise RuntimeError("evaluation bug")

    writer = app.state.container.report_writer
    object.__setattr__(writer, "evaluate", broken)
    response = await client.post("/fhir/Bundle", content=T790M.read_bytes(), headers=FHIR)
    assert response.status_code == 200
    subject = {"subject": "Patient/p-e2"}
    assert (await client.get("/fhir/Observation", params=subject)).json()["total"] > 0
    assert (await client.get("/fhir/DiagnosticReport", params=subject)).json()["total"] == 0


async def test_persist_stores_the_data_and_the_report(client: httpx.AsyncClient) -> None:
    """persist=true: the posted Bundle is stored and so is its report; without it nothing is stored."""
    bundle = orjson.loads(T790M.read_bytes())
    subject = {"subject": "Patient/p-e2"}
    await evaluate(
        client, {"resourceType": "Parameters", "parameter": [{"name": "bundle", "resource": bundle}]}
    )
    assert (await client.get("/fhir/Observation", params=subject)).json()["total"] == 0
    parameters = {
        "resourceType": "Parameters",
        "parameter": [{"name": "bundle", "resource": bundle}, {"name": "persist", "valueBoolean": True}],
    }
    assert (await evaluate(client, parameters)).status_code == 200
    assert (await client.get("/fhir/Observation", params=subject)).json()["total"] > 0
    assert (await client.get("/fhir/DiagnosticReport", params=subject)).json()["total"] == 1


@pytest.mark.parametrize("persist", [None, False, True])
async def test_the_guards_serialisation_of_the_body_is_what_the_entries_are_planned_from(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, persist: bool | None
) -> None:
    """The route hands the JSON guard's compact serialisation of the posted body (sent indented here) to the
    planner of the evaluation, which so need not serialise the entries again (issue 19)."""
    texts: list[bytes | None] = []

    def recorded(*args: Any, posted_text: bytes | None = None, **kwargs: Any) -> Any:
        texts.append(posted_text)
        return plan_bundle(*args, posted_text=posted_text, **kwargs)

    monkeypatch.setattr(service.app.evaluate, "plan_bundle", recorded)
    body: dict[str, Any] = orjson.loads(T790M.read_bytes())
    if persist is not None:
        parameter = [{"name": "bundle", "resource": body}, {"name": "persist", "valueBoolean": persist}]
        body = {"resourceType": "Parameters", "parameter": parameter}
    raw = orjson.dumps(body, option=orjson.OPT_INDENT_2)
    response = await client.post("/fhir/$evaluate", content=raw, headers=FHIR)
    assert response.status_code == 200
    assert texts == [orjson.dumps(body)]
