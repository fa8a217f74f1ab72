"""The result Bundle is valid FHIR (fhir.resources R4B / R5 and HL7's JSON schema), deterministic, and uses
only codes the service publishes (FHIR-CONTRACT.md sections 4 and 5)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import msgspec
import pytest
from fhir.resources import get_fhir_model_class as r5_model
from fhir.resources.R4B import get_fhir_model_class as r4b_model
from jsonschema import Draft6Validator

from service.adapters.fhir_out.code_systems import code_system_searchset
from service.domain.assessment import Assessment, Criteria
from tests.adapters.fhir_out.assessment_factory import (
    CANON,
    bare,
    build,
    knowledge,
    progression,
    stable_without_sums,
)
from tests.conftest import SHARED

ASSESSMENTS: dict[str, Callable[[], Assessment]] = {
    "progression": progression,
    "stable": stable_without_sums,
    "bare": bare,
}
VERSIONS = {"4.0": ("r4", r4b_model), "5.0": ("r5", r5_model)}


@cache
def schema(folder: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SHARED / "fhir-schema" / folder / "fhir.schema.json").read_text())
    return loaded


def schema_errors(folder: str, resource: dict[str, Any]) -> list[str]:
    """Errors against ``#/definitions/<resourceType>`` of the official schema (SOURCES.md there)."""
    validator = Draft6Validator({**schema(folder), "$ref": f"#/definitions/{resource['resourceType']}"})
    return [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(resource)]


def entries(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"]]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("case", ASSESSMENTS)
def test_every_resource_parses_with_fhir_resources(version: str, case: str) -> None:
    """Each entry validates with fhir.resources R4B (R4 output) or R5 (R5 output), and so does the Bundle."""
    _, model = VERSIONS[version]
    bundle = build(ASSESSMENTS[case](), version)
    model("Bundle").model_validate(bundle)
    for resource in entries(bundle):
        model(resource["resourceType"]).model_validate(resource)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("case", ASSESSMENTS)
def test_every_resource_matches_the_official_json_schema(version: str, case: str) -> None:
    """Each entry has no error against HL7's JSON schema of its version (R4 code enums included)."""
    folder, _ = VERSIONS[version]
    problems = {
        r["resourceType"]: schema_errors(folder, r) for r in entries(build(ASSESSMENTS[case](), version))
    }
    assert {t: p for t, p in problems.items() if p} == {}


def test_the_schema_check_catches_a_bad_resource() -> None:
    """The schema check can fail: a wrong status code and an unknown element are reported."""
    report = entries(build(progression()))[0] | {"status": "guessed", "madeUp": True}
    assert len(schema_errors("r4", report)) >= 2


def test_entries_come_in_contract_order() -> None:
    """DiagnosticReport first, then its result Observations in order, the CarePlan, the Provenance."""
    resources = entries(build(progression()))
    report = resources[0]
    types = [r["resourceType"] for r in resources]
    assert types == ["DiagnosticReport", *["Observation"] * 5, "CarePlan", "Provenance", "Device"]
    assert [ref["reference"] for ref in report["result"]] == [
        f"Observation/{r['id']}" for r in resources[1:6]
    ]


def test_references_between_results_resolve_to_entries() -> None:
    """Every reference to a resource made here (report, observations, care plan, device) names an entry."""
    bundle = build(progression())
    made = {e["fullUrl"].removeprefix(f"{CANON}/") for e in bundle["entry"]}
    ids = {r["id"] for r in entries(bundle)}
    internal = [ref for ref in _references(bundle) if ref.split("/")[-1] in ids]
    assert len(internal) > 10
    assert set(internal) <= made


def test_same_assessment_gives_same_ids_and_identifiers() -> None:
    """Building twice (even at another time) gives the same ids, full URLs and identifiers."""
    first = build(progression())
    again = build(progression(), issued=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert [e["fullUrl"] for e in first["entry"]] == [e["fullUrl"] for e in again["entry"]]
    assert entries(first)[0]["identifier"] == entries(again)[0]["identifier"]
    assert first["id"] == again["id"]


def test_report_identifier_is_patient_date_and_criteria() -> None:
    """``CANON/report-id`` carries the patient, the time point date and the criteria (section 4)."""
    identifier = entries(build(progression()))[0]["identifier"][0]
    assert identifier == {"system": f"{CANON}/report-id", "value": "Patient/p1:2025-03-01:recist-1.1"}


@pytest.mark.parametrize(
    "change",
    [{"patient": "Patient/p2"}, {"criteria": Criteria.IRECIST}],
)
def test_another_patient_or_criteria_gives_other_ids(change: dict[str, Any]) -> None:
    """A different patient or criteria never reuses an id of another report."""
    first = {e["fullUrl"] for e in build(progression())["entry"] if "Device" not in e["fullUrl"]}
    other = {e["fullUrl"] for e in build(dataclasses.replace(progression(), **change))["entry"]}
    assert not first & other


def test_another_time_point_gives_other_ids() -> None:
    """A different time point date gives a different report id."""
    later = progression()
    later = dataclasses.replace(
        later, time_point=msgspec.structs.replace(later.time_point, date=dt.date(2025, 6, 1))
    )
    assert entries(build(later))[0]["id"] != entries(build(progression()))[0]["id"]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("case", ASSESSMENTS)
def test_every_canon_code_is_defined_in_the_served_code_systems(version: str, case: str) -> None:
    """Every coding under CANON/CodeSystem/ is a concept of the CodeSystem the service serves."""
    served = code_system_searchset(knowledge().code_systems, canonical_base=CANON, version="v", self_url="x")
    defined = {(e["resource"]["url"], c["code"]) for e in served["entry"] for c in e["resource"]["concept"]}
    emitted = {
        (c["system"], c["code"])
        for c in _codings(build(ASSESSMENTS[case](), version))
        if c["system"].startswith(f"{CANON}/CodeSystem/")
    }
    assert emitted and emitted <= defined, emitted - defined


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _codings(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [n for n in _walk(bundle) if "system" in n and "code" in n and isinstance(n["code"], str)]


def _references(bundle: dict[str, Any]) -> list[str]:
    return [n["reference"] for n in _walk(bundle) if isinstance(n.get("reference"), str)]
