"""Issue 15: every reference in every output resource resolves. Each shared example is posted as an EHR
would; the ``$evaluate`` answer for its patient is walked (a reference may resolve inside the returned Bundle,
as a ``#id`` of a contained resource, or by a GET that answers 200), and so is the stored copy of each of its
resources (DiagnosticReport, Observations, CarePlan, Provenance, the service Device), by GET alone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import SHARED

EXAMPLES = sorted((SHARED / "examples").glob("*.json"))
FHIR_JSON = {"content-type": "application/fhir+json"}
Client = httpx.AsyncClient


def references(node: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """(path, reference) of every ``reference`` string in a resource."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield where, value
            else:
                yield from references(value, f"{where}.{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from references(item, f"{where}[{index}]")


def contained_ids(resource: dict[str, Any]) -> set[str]:
    return {f"#{c['id']}" for c in resource.get("contained", [])}


async def unresolved(
    client: httpx.AsyncClient,
    resource: dict[str, Any],
    in_bundle: set[str] = frozenset(),  # type: ignore[assignment]
) -> list[str]:
    """The references of ``resource`` that resolve nowhere: not contained, not in the Bundle, not a 200."""
    missing = []
    for where, reference in references(resource):
        if reference in contained_ids(resource) or reference in in_bundle:
            continue
        local = reference.removeprefix("http://localhost:8080/fhir/")
        if (await client.get(f"/fhir/{local}")).status_code != 200:
            missing.append(f"{resource['resourceType']}{where}: {reference}")
    return missing


async def post_example(client: httpx.AsyncClient, name: str) -> str:
    """The example stored as a collection (its ids kept); the Patient reference it is about."""
    bundle = json.loads((SHARED / "examples" / name).read_text(encoding="utf-8"))
    response = await client.post("/fhir/Bundle", content=json.dumps(bundle), headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    (patient,) = [e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"]
    return f"Patient/{patient}"


async def evaluate(client: httpx.AsyncClient, patient: str) -> dict[str, Any]:
    """``$evaluate`` of a stored patient, not persisted: the ids are the stored report's (deterministic)."""
    parameters = {
        "resourceType": "Parameters",
        "parameter": [{"name": "patient", "valueReference": {"reference": patient}}],
    }
    response = await client.post("/fhir/$evaluate", content=json.dumps(parameters), headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    bundle: dict[str, Any] = response.json()
    return bundle


@pytest.mark.slow
@pytest.mark.parametrize("example", [p.name for p in EXAMPLES])
async def test_every_reference_of_the_evaluate_answer_resolves(
    client: httpx.AsyncClient, example: str
) -> None:
    """In the ``$evaluate`` answer each reference is contained, in the Bundle, or a GET that answers 200."""
    bundle = await evaluate(client, await post_example(client, example))
    in_bundle = {e["fullUrl"] for e in bundle["entry"]}
    in_bundle |= {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle["entry"]}
    problems = [p for e in bundle["entry"] for p in await unresolved(client, e["resource"], in_bundle)]
    assert problems == []


@pytest.mark.slow
@pytest.mark.parametrize("example", [p.name for p in EXAMPLES])
async def test_every_reference_of_the_stored_results_resolves(
    client: httpx.AsyncClient, example: str
) -> None:
    """Every output is stored when the example is posted (the Device once, for every patient), and every
    reference of every stored output, therapy-line Observations included, is a GET that answers 200."""
    bundle = await evaluate(client, await post_example(client, example))
    stored = []
    for entry in bundle["entry"]:
        resource = entry["resource"]
        response = await client.get(f"/fhir/{resource['resourceType']}/{resource['id']}")
        assert response.status_code == 200, f"{resource['resourceType']} not stored"
        stored.append(response.json())
    types = [r["resourceType"] for r in stored]
    assert {"DiagnosticReport", "Observation", "CarePlan", "Provenance", "Device"} <= set(types)
    problems = [problem for resource in stored for problem in await unresolved(client, resource)]
    assert problems == []


async def test_a_dangling_reference_is_reported(client: httpx.AsyncClient) -> None:
    """The walk can fail: a reference to nothing stored, and a ``#`` to nothing contained, are reported."""
    resource = {
        "resourceType": "Observation",
        "subject": {"reference": "Patient/nobody"},
        "performer": [{"reference": "#missing"}],
    }
    assert await unresolved(client, resource) == [
        "Observation.subject: Patient/nobody",
        "Observation.performer[0]: #missing",
    ]
