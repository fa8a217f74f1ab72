"""The contract examples through the real wiring: posted as sent, their facts are stored per patient."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.conftest import SHARED

EXAMPLES = sorted((SHARED / "examples").glob("*.json"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
async def test_example_is_stored_with_its_facts(client: httpx.AsyncClient, app: FastAPI, path) -> None:  # type: ignore[no-untyped-def]
    """Every entry is stored (201), no entry fails, and the patient's facts include lesions and therapy."""
    response = await client.post(
        "/fhir/Bundle", content=path.read_bytes(), headers={"content-type": "application/fhir+json"}
    )
    body = response.json()
    assert response.status_code == 200, body
    assert {e["response"]["status"] for e in body["entry"]} == {"201 Created"}
    patient = next(
        e["response"]["location"] for e in body["entry"] if e["response"]["location"].startswith("Patient/")
    )
    async with app.state.container.store.reading() as reader:
        kinds = Counter(f.kind for f in await reader.patient_facts(patient.split("/_history")[0]))
    assert kinds["LesionObservation"] >= 2 and kinds["TherapyFact"] == 1


async def test_r5_example_without_a_version_parameter_is_read_as_r5(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """r5-shapes.json sent without fhirVersion: the R5 medication shape is read (erlotinib), not dropped."""
    raw = (SHARED / "examples" / "r5-shapes.json").read_bytes()
    await client.post("/fhir/Bundle", content=raw, headers={"content-type": "application/fhir+json"})
    async with app.state.container.store.reading() as reader:
        submissions_version = await reader.conn.execute(
            text("SELECT fhir_version FROM submissions WHERE endpoint = 'bundle'")
        )
        versions = [row[0] for row in submissions_version]
        therapy = [f for f in await reader.patient_facts(_patient_of(raw)) if f.kind == "TherapyFact"]
    assert versions == ["5.0"]
    assert therapy[0].payload["drug"] == "erlotinib"


def _patient_of(raw: bytes) -> str:
    import orjson

    bundle = orjson.loads(raw)
    return next(
        f"Patient/{e['resource']['id']}"
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Patient"
    )
