"""The contract examples (../shared/examples/README.md), ingested and evaluated: the expected response,
progression status, flags, mechanisms and suggestions for the latest time point (and as of day 112 for the
iRECIST story)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import httpx
import orjson
import pytest
from fastapi import FastAPI

from service.app.evaluate import EvaluationRequest
from tests.conftest import SHARED


@dataclass(frozen=True)
class Expected:
    example: str
    response: str
    progression: str
    flags: frozenset[str]
    suggestions: tuple[str, ...]
    mechanisms: tuple[str, ...] = ()
    drugs: tuple[str, ...] = ()
    as_of: dt.date | None = None


EXPECTED = [
    Expected(
        "seed-slightly-larger",
        "SD",
        "no-progression",
        frozenset({"WITHIN_MEASUREMENT_ERROR"}),
        ("continue-current-therapy",),
    ),
    Expected(
        "seed-t790m-progression",
        "PD",
        "progression-supported",
        frozenset({"CEA_RISE_SIGNIFICANT", "MARKER_CONCORDANT"}),
        ("switch-therapy",),
        ("EGFR-T790M",),
        ("osimertinib",),
    ),
    Expected(
        "irecist-iupd-icpd",
        "iUPD",
        "iupd",
        frozenset({"BORDERLINE_PD"}),
        ("continue-current-therapy", "confirm-progression-imaging"),
        as_of=dt.date(2026, 1, 5) + dt.timedelta(days=112),
    ),
    Expected("irecist-iupd-icpd", "iCPD", "icpd", frozenset(), ()),
    Expected(
        "oligoprogression",
        "PD",
        "progression-supported",
        frozenset({"OLIGOPROGRESSION"}),
        ("local-ablative-therapy", "continue-current-therapy", "liquid-biopsy-ctdna"),
    ),
    Expected(
        "r5-shapes",
        "SD",
        "no-progression",
        frozenset({"WITHIN_MEASUREMENT_ERROR"}),
        ("continue-current-therapy",),
    ),
]


@pytest.mark.parametrize("expected", EXPECTED, ids=lambda e: f"{e.example}-{e.response}")
async def test_example_evaluates_as_the_readme_says(
    client: httpx.AsyncClient, app: FastAPI, expected: Expected
) -> None:
    """Response category, progression status, flags (at least these), mechanisms and suggestions in order."""
    raw = (SHARED / "examples" / f"{expected.example}.json").read_bytes()
    assert (
        await client.post("/fhir/Bundle", content=raw, headers={"content-type": "application/fhir+json"})
    ).status_code == 200
    patient = next(
        f"Patient/{e['resource']['id']}"
        for e in orjson.loads(raw)["entry"]
        if e["resource"]["resourceType"] == "Patient"
    )
    assessment = await app.state.container.evaluate(EvaluationRequest(patient, as_of=expected.as_of))
    assert assessment.response_category == expected.response
    assert assessment.progression.value == expected.progression
    assert expected.flags <= {f.value for f in assessment.flags}
    assert tuple(f.mechanism for f in assessment.findings) == expected.mechanisms
    codes = tuple(s.code.value for s in assessment.suggestions)
    if expected.suggestions:
        assert codes[: len(expected.suggestions)] == expected.suggestions
    drugs = tuple(d for s in assessment.suggestions for d in s.drugs)
    assert drugs == expected.drugs
