"""POST /fhir/$validate: full fhir.resources validation, answered as an OperationOutcome."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import SHARED

FHIR = {"content-type": "application/fhir+json"}


async def test_valid_example_bundle_has_an_information_issue_only(client: httpx.AsyncClient) -> None:
    """A contract example Bundle is valid R4: one information issue, no errors."""
    body = (SHARED / "examples" / "seed-slightly-larger.json").read_bytes()
    issues = (await client.post("/fhir/$validate", content=body, headers=FHIR)).json()["issue"]
    assert [i["severity"] for i in issues] == ["information"]


async def test_unknown_element_is_named_by_fhirpath(client: httpx.AsyncClient) -> None:
    """An element the model does not know is reported with its FHIRPath."""
    body = json.dumps({"resourceType": "Patient", "nickname": "x"})
    issues = (await client.post("/fhir/Patient/$validate", content=body, headers=FHIR)).json()["issue"]
    assert issues == [
        {
            "severity": "error",
            "code": "structure",
            "diagnostics": "Unknown element",
            "expression": ["Patient.nickname"],
        }
    ]


async def test_nested_error_path_inside_a_bundle(client: httpx.AsyncClient) -> None:
    """A bad value deep inside a Bundle entry names Bundle.entry[n].resource...."""
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": {"resourceType": "Patient"}},
            {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                          "valueQuantity": {"value": "twelve"}}},
        ],
    }  # fmt: skip
    issues = (await client.post("/fhir/$validate", content=json.dumps(bundle), headers=FHIR)).json()["issue"]
    assert any(
        i["severity"] == "error" and i["expression"][0].startswith("Bundle.entry[1].resource") for i in issues
    ), issues


@pytest.mark.parametrize(
    ("content_type", "severity"),
    [
        ("application/fhir+json; fhirVersion=4.0", "error"),
        ("application/fhir+json; fhirVersion=5.0", "information"),
        ("application/fhir+json", "information"),
    ],
)
async def test_version_parameter_picks_the_model_set(
    client: httpx.AsyncClient, content_type: str, severity: str
) -> None:
    """An R5-only shape (medication as a CodeableReference) fails as declared R4, passes as R5, and is
    detected as R5 when no version is declared."""
    request = {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p"},
        "medication": {"concept": {"text": "osimertinib"}},
    }
    response = await client.post(
        "/fhir/$validate", content=json.dumps(request), headers={"content-type": content_type}
    )
    assert response.json()["issue"][0]["severity"] == severity


async def test_type_in_url_must_match_body(client: httpx.AsyncClient) -> None:
    """POST /fhir/Observation/$validate with a Patient is a 400."""
    response = await client.post(
        "/fhir/Observation/$validate", content=b'{"resourceType":"Patient"}', headers=FHIR
    )
    assert response.status_code == 400


async def test_unknown_resource_type_is_an_error_issue(client: httpx.AsyncClient) -> None:
    """A resourceType FHIR does not define is reported, not a crash."""
    response = await client.post("/fhir/$validate", content=b'{"resourceType":"Tumour"}', headers=FHIR)
    assert response.json()["issue"][0]["expression"] == ["resourceType"]
